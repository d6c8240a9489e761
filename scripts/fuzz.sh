#!/usr/bin/env bash
# Runs every fuzz target for the given time each (default 10s), starting from
# the seed corpora in the tests and testdata/fuzz. A failure leaves the
# crashing input in the package's testdata/fuzz folder, where go test then
# replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-10s}
targets=(
	"./dataset FuzzReadManifest"
	"./dataset FuzzFromRegex"
	"./dataset FuzzDecode"
	"./head FuzzDecode"
)
for tg in "${targets[@]}"; do
	set -- $tg
	echo "fuzz $1 $2 for $t"
	go test -run='^$' -fuzz="^$2\$" -fuzztime="$t" "$1"
done
