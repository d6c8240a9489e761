#!/bin/sh
# The int8 figures of BENCHMARKS.md, in one run: quantise a float backbone
# on the cats and on Fashion-MNIST training images, then, float against
# int8 on the same images: the ONNX Runtime ceiling (BenchmarkEmbed), the
# embedding cosine on held-out images (printed by models quantize), the
# tutorial's cats by 5-fold cross-validation and Fashion-MNIST test accuracy.
#
# Usage: scripts/bench-quantize.sh MODEL.onnx CATS_DIR FMNIST_DIR
# FMNIST_DIR holds train/ and test/ class folders (scripts/fashion-mnist.py).
set -eu
transfer=${TRANSFER:-transfer}
model=$(realpath "$1") cats=$(realpath "$2") fm=$(realpath "$3")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== quantise (cats: 30 of 40 for calibration, 10 held out; Fashion-MNIST: 200 of 2,000 training images, 50 held out)"
$transfer models quantize -m "$model" --calibrate "$cats" --calibrate-n 30 --check 10 -o "$work/cats-int8.onnx" -q
$transfer models quantize -m "$model" --calibrate "$fm/train" --calibrate-n 200 --check 50 -o "$work/fm-int8.onnx" -q
for variant in "minmax 2" "percentile 2" "minmax 0" "percentile 0"; do
	set -- $variant
	printf '%s, --float-convs %s, 500 held-out Fashion-MNIST training images: ' $1 $2
	$transfer models quantize -m "$model" --calibrate "$fm/train" --calibrate-n 200 --check 500 --method $1 --float-convs $2 -o "$work/fm-$1-$2.onnx" -q | grep cosine
done
echo "== cats, Keras protocol (Dense softmax, Adam, 20 epochs), 5-fold CV, seeds 1-3"
for m in "$model" "$work/cats-int8.onnx"; do
	for seed in 1 2 3; do
		printf '%s seed %s: ' "$(basename "$m")" $seed
		$transfer train -m "$m" --data "$cats" --label-regex '^(f|m)' --cv 5 --seed $seed --cache "$work/cache.db" -q | grep -i 'mean'
	done
done
echo "== Fashion-MNIST 200/100 per class: train on train/, accuracy on test/"
for m in "$model" "$work/fm-int8.onnx"; do
	$transfer train -m "$m" --data "$fm/train" --lr 3e-3 --epochs 50 --cache "$work/cache.db" -o "$work/head.json" -q >/dev/null
	printf '%s: ' "$(basename "$m")"
	$transfer eval -m "$m" --head "$work/head.json" --data "$fm/test" --cache "$work/cache.db" -q | grep '^accuracy'
done
echo "== end to end: extract the 2,000 Fashion-MNIST training PNGs, no cache"
for m in "$model" "$work/fm-int8.onnx"; do
	rm -f "$work/x.db"
	start=$(date +%s.%N)
	$transfer extract -m "$m" --data "$fm/train" --cache "$work/x.db" -q
	echo "$(basename "$m"): $(echo "2000 / ($(date +%s.%N) - $start)" | bc -l | cut -c1-6) images/s"
done
