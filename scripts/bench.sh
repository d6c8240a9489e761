#!/usr/bin/env bash
# Runs the benchmarks that BENCHMARKS.md reports, in one go. Each group
# measures its ratios within one run. Uses ../shared's real model and cat
# photos when present, generated ones otherwise. Takes about 10 minutes on
# 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-onnxruntime.sh
run() { echo "== $*"; "$@" 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || true; }
run go test -run '^$' -bench '^BenchmarkEmbed$' -benchtime 2s ./backbone/
run go test -run '^$' -bench '^BenchmarkEmbedStreams$' -benchtime 20x ./backbone/
run go test -run '^$' -bench '^BenchmarkPrepare$' -benchtime 2s -cpu 1 ./dataset/
run go test -run '^$' -bench '^BenchmarkExtract$' -benchtime 1x -timeout 60m ./dataset/
run go test -run '^$' -bench '^(BenchmarkCache|BenchmarkLoadForTraining)$' -benchtime 1x -timeout 30m ./dataset/
run go test -run '^$' -bench '^BenchmarkTrainEpoch$' -benchtime 3x ./head/
echo "== scripts/memory.sh"
scripts/memory.sh
