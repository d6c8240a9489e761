#!/usr/bin/env bash
# Prints the peak memory of `transfer extract` over 2,000 and 20,000 images
# (generated JPEGs of 96 to 320 px, a generated full-size MobileNetV2): it
# should not grow with the number of images, only with --infer-batch and --workers.
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

# Decompression bombs: each file is small on disk and huge once decoded.
# Four of them with four workers must stay within the decode budget
# (1 GiB by default) plus the pipeline; the larger ones are refused.
bombs=$tmp/bombs
if [ ! -d "$bombs" ]; then
	bin/synth hostile -kind png16 -w 9000 -h 9000 -n 4 -o "$bombs/png16-9000"
	bin/synth hostile -kind tiff -w 6000 -h 6000 -n 4 -o "$bombs/tiff-6000"
	bin/synth hostile -kind png16 -w 10000 -h 10000 -n 4 -o "$bombs/png16-10000"
	bin/synth hostile -kind tiff -w 10000 -h 10000 -n 4 -o "$bombs/tiff-10000"
	bin/synth hostile -kind tall -w 1 -h 9999999 -n 4 -o "$bombs/tall"
fi
for d in png16-9000 tiff-6000 png16-10000 tiff-10000 tall; do
	rm -f "$tmp/cache-bombs.db"*
	echo "extract over 4 of $d, --workers 4:"
	bin/synth rss -- bin/transfer extract --model "$tmp/model.onnx" --data "$bombs/$d" --cache "$tmp/cache-bombs.db" --workers 4 --quiet || true
done
