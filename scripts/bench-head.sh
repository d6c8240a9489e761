#!/bin/sh
# The head's figures of BENCHMARKS.md in one run: numpy/OpenBLAS anchors
# (float32 GEMMs and a memory copy), the head's benchmarks at an earlier
# commit and now, the kernels (each set this CPU runs), then the Fashion-MNIST
# sweep against scikit-learn's GridSearchCV and --l2 auto.
#
# Usage: scripts/bench-head.sh OLD_COMMIT MODEL.onnx DIR
# DIR holds train/ and test/ class folders (scripts/fashion-mnist.py DIR),
# already extracted and exported (scripts/bench-experiments.sh does both).
# Needs python3-numpy and python3-sklearn.
set -u
old=$1 model=$(realpath "$2") dir=$3
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/old" >/dev/null 2>&1; rm -rf "$work"' EXIT
git -C "$root" worktree add -q "$work/old" "$old"
(cd "$work/old" && go test -c -o "$work/old.test" ./head && go build -o "$work/transfer-old" ./cmd/transfer)
(cd "$root" && go test -c -o "$work/new.test" ./head && go test -c -o "$work/kernel.test" ./head/internal/kernel && go build -o "$work/transfer" ./cmd/transfer)
py=/usr/bin/python3
echo "== numpy/OpenBLAS (float32), best of several"
$py - <<'PY'
import numpy as np, time
def best(f, n=7):
    ts = []
    for _ in range(n):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)
rng = np.random.default_rng(1)
X = rng.standard_normal((2000, 1280), dtype=np.float32)
W = rng.standard_normal((1280, 1280), dtype=np.float32)
w = rng.standard_normal((1280, 10), dtype=np.float32)
print("sgemm 2000x1280x1280: %.1f GFLOP/s" % (2*2000*1280*1280/best(lambda: X@W)/1e9))
print("thin 2000x1280x10: %.1f GFLOP/s" % (2*2000*1280*10/best(lambda: X@w, 50)/1e9))
B = np.empty(256*2**20//4, np.float32); C = np.empty_like(B)
print("copy of 256 MB: %.1f GB/s read+write" % (2*B.nbytes/best(lambda: np.copyto(C, B))/1e9))
PY
bench() { "$1" -test.run '^$' -test.bench "$2" -test.benchtime 5x | grep ^Bench; }
echo "== head at $old"; bench "$work/old.test" 'Adam20Epochs|LBFGS'
echo "== head now"; bench "$work/new.test" 'Adam20Epochs|LBFGS|TrainEpoch'
echo "== kernels"; "$work/kernel.test" -test.run '^$' -test.bench . | grep ^Bench
KERNEL_SET=avx2 "$work/kernel.test" -test.run '^$' -test.bench . | grep avx2
t() { s=$(date +%s.%N); "$@" >"$work/out" 2>&1; r=$?; grep -E "chose|GridSearchCV|^     1 " "$work/out"; echo "  wall $(echo "$(date +%s.%N) - $s" | bc) s (exit $r)"; }
cd "$dir"
G="--lr 1e-3,3e-3 --l2 0,1e-4,1e-3,1e-2 --epochs 20,50,100"
echo "== sweep now"; t "$work/transfer" sweep --model "$model" --data train $G -o sweep.json -q
"$work/transfer" eval --model "$model" --head sweep.json --data test -q | grep '^accuracy'
echo "== GridSearchCV"
t $py -W ignore -c '
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
X, y = np.load("npy/train/embeddings.npy"), np.load("npy/train/labels.npy")
Xt, yt = np.load("npy/test/embeddings.npy"), np.load("npy/test/labels.npy")
g = GridSearchCV(LogisticRegression(max_iter=1000), {"C": [1e-3, 1e-2, 1e-1, 1, 10, 100]}, cv=StratifiedKFold(5, shuffle=True, random_state=0), n_jobs=-1).fit(X, y)
print("GridSearchCV chose C=%g, test accuracy %.3f" % (g.best_params_["C"], g.score(Xt, yt)))'
echo "== sweep at $old"; t "$work/transfer-old" sweep --model "$model" --data train $G -o sweep-old.json -q
echo "== sweep now, again"; t "$work/transfer" sweep --model "$model" --data train $G -o sweep.json -q
for seed in 1 2 3; do
	echo "== --l2 auto, seed $seed"; t "$work/transfer" train --model "$model" --data train --solver lbfgs --l2 auto --val-split 0.2 --seed $seed -o probe.json -q
	"$work/transfer" eval --model "$model" --head probe.json --data test -q | grep '^accuracy'
done
echo "== --l2 auto at $old, seed 1"; t "$work/transfer-old" train --model "$model" --data train --solver lbfgs --l2 auto --val-split 0.2 --seed 1 -o probe-old.json -q
