#!/usr/bin/env bash
# The load test of BENCHMARKS.md's serving section, on this machine only:
# trains a head on the photos, takes transfer extract's throughput on them
# as the reference (and its per-image time with batches of one), then runs
# transfer serve and internal/cmd/loadtest with 1, 8 and 32 clients, and
# 256 clients against --max-queue 64 (overload), 20 s each: over REST
# (/v1/classify), then over gRPC (ModelInfer, BYTES raw contents).
#
# Usage: scripts/serve-load.sh MODEL.onnx PHOTOS_DIR [SECONDS]
set -euo pipefail
model=$(realpath "$1") photos=$(realpath "$2") secs=${3:-20}
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/transfer" ./cmd/transfer
go build -o "$tmp/loadtest" ./internal/cmd/loadtest
cd "$tmp"
./transfer train --model "$model" --data "$photos" --label-regex '^(f|m)' --classes f=female,m=male -o head.json -q >/dev/null 2>&1
# The reference: 8 copies of each photo, made distinct by a byte after the
# JPEG's end (decoders stop at the end marker), so the cache has no hit.
mkdir ref
for i in $(seq 8); do
	for f in "$photos"/*; do { cat "$f"; printf '%d' "$i"; } >"ref/$i-$(basename "$f")"; done
done
for b in 8 1; do
	rm -rf c
	line=$(./transfer extract --model "$model" --data ref --cache c/c.db --infer-batch $b --workers $((b == 1 ? 1 : $(nproc))) 2>&1 | tail -1)
	echo "extract of $(ls ref | wc -l) photos, --infer-batch $b: $line"
done
./transfer serve --head head.json --addr 127.0.0.1:0 --grpc-addr 127.0.0.1:0 2>serve.log &
pid=$!
for _ in $(seq 100); do grep -q 'on http' serve.log && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' serve.log | head -1)
grpc=$(grep -o 'gRPC .* on [0-9.:]*' serve.log | grep -o '[0-9.]*:[0-9]*$')
echo "REST /v1/classify:"
./loadtest -url "$url" -images "$photos" -clients 1,8,32,256 -duration "${secs}s" -pid $pid
echo "gRPC ModelInfer:"
./loadtest -grpc "$grpc" -model head -images "$photos" -clients 1,8,32,256 -duration "${secs}s" -pid $pid
kill -TERM $pid
wait $pid && echo "serve exited 0 on SIGTERM"
