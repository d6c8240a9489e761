#!/bin/sh
# The experiment benchmarks of BENCHMARKS.md, in one run: a 24-configuration
# Adam sweep by 5-fold cross-validation, L-BFGS with --l2 auto on three
# validation splits, raw and standardised, each head scored on the test
# images; then scikit-learn on the same embeddings (scripts/sklearn-probe.py).
#
# Usage: scripts/bench-experiments.sh MODEL.onnx DIR
# DIR holds train/ and test/ class folders (scripts/fashion-mnist.py DIR).
set -eu
scripts=$(cd "$(dirname "$0")" && pwd)
model=$1 dir=$2
transfer=${TRANSFER:-transfer}
cd "$dir"
$transfer extract --model "$model" --data train -q
$transfer extract --model "$model" --data test -q
$transfer cache export --model "$model" --data train -o npy/train -q
$transfer cache export --model "$model" --data test -o npy/test -q
start=$(date +%s.%N)
$transfer sweep --model "$model" --data train --lr 1e-3,3e-3 --l2 0,1e-4,1e-3,1e-2 --epochs 20,50,100 -o sweep.json -q
echo "sweep wall time: $(echo "$(date +%s.%N) - $start" | bc) s"
$transfer eval --model "$model" --head sweep.json --data test -q | grep '^accuracy'
for std in "" --standardize; do
	for seed in 1 2 3; do
		$transfer train --model "$model" --data train --solver lbfgs --l2 auto --val-split 0.2 --seed $seed $std -o probe.json -q 2>&1 | grep -E 'chose|L-BFGS|trained in'
		$transfer eval --model "$model" --head probe.json --data test -q | grep '^accuracy'
	done
done
python3 "$scripts/sklearn-probe.py" npy/train npy/test
