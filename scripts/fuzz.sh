#!/usr/bin/env bash
# Runs every fuzz target for the given number of inputs each (default
# 12000x: at least 10,000 executions, the bar CI holds them to) or for a
# time (30s), starting from the seed corpora in the tests and testdata/fuzz,
# and prints how many inputs each executed. Minimising a new interesting
# input is capped at 100 executions, so the budget goes to new inputs. A
# failure leaves the crashing input in the package's testdata/fuzz folder,
# where go test then replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-12000x}
min_execs=0
case $budget in *x) min_execs=10000 ;; esac
targets=(
	"./dataset FuzzReadManifest"
	"./dataset FuzzFromRegex"
	"./dataset FuzzDecode"
	"./dataset FuzzDecodeTurboJPEG"
	"./head FuzzDecode"
	"./head FuzzDecodeShapes"
)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
summary=()
for tg in "${targets[@]}"; do
	set -- $tg
	echo "fuzz $1 $2 for $budget"
	if ! go test -run='^$' -fuzz="^$2\$" -fuzztime="$budget" -fuzzminimizetime=100x "$1" >"$log" 2>&1; then
		cat "$log"
		exit 1
	fi
	if grep -q -- '--- SKIP' "$log"; then
		summary+=("$1 $2: skipped ($(grep -m1 -A1 -- '--- SKIP' "$log" | tail -1 | sed 's/^ *//'))")
		continue
	fi
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	summary+=("$1 $2: ${execs:-0} inputs executed")
	if [ "${execs:-0}" -lt "$min_execs" ]; then
		cat "$log"
		echo "fuzz: $2 executed ${execs:-0} inputs, fewer than $min_execs" >&2
		exit 1
	fi
done
printf '%s\n' "${summary[@]}"
