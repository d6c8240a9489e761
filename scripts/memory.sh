#!/usr/bin/env bash
# Prints the peak memory of `transfer extract` over 2,000 and 20,000 images
# (generated JPEGs of 96 to 320 px, a generated full-size MobileNetV2): it
# should not grow with the number of images, only with --batch and --workers.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=${TMPDIR:-/tmp}/transfer-memory
mkdir -p "$tmp" bin
go build -o bin/transfer ./cmd/transfer
go build -o bin/synth ./internal/cmd/synth
[ -f "$tmp/model.onnx" ] || bin/synth model -o "$tmp/model.onnx"
for n in 2000 20000; do
	[ -d "$tmp/images-$n" ] || bin/synth images -n "$n" -min 96 -max 320 -o "$tmp/images-$n"
	rm -f "$tmp/cache-$n.db"*
	echo "extract over $n images:"
	bin/synth rss -- bin/transfer extract --model "$tmp/model.onnx" --data "$tmp/images-$n" --cache "$tmp/cache-$n.db" --quiet
done
