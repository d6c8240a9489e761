#!/usr/bin/env python3
"""Write Fashion-MNIST as PNG class folders for the experiment benchmarks.

Usage: scripts/fashion-mnist.py OUT [TRAIN_PER_CLASS TEST_PER_CLASS]

Reads Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist) and
writes OUT/train/<class>/*.png (the first 200 training images of each class)
and OUT/test/<class>/*.png (the first 100 test images of each class).
Needs python3-numpy and python3-pil.
"""
import gzip, numpy as np, os, sys
from PIL import Image
src = "/usr/share/datasets/fashion-mnist"
names = ["tshirt","trouser","pullover","dress","coat","sandal","shirt","sneaker","bag","boot"]
def load(kind):
    with gzip.open(f"{src}/{kind}-images-idx3-ubyte.gz") as f: x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1,28,28)
    with gzip.open(f"{src}/{kind}-labels-idx1-ubyte.gz") as f: y = np.frombuffer(f.read(), np.uint8, offset=8)
    return x, y
out = sys.argv[1]
ntrain, ntest = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (200, 100)
for kind, split, per in [("train","train",ntrain),("t10k","test",ntest)]:
    x, y = load(kind)
    for c, name in enumerate(names):
        d = os.path.join(out, split, name); os.makedirs(d, exist_ok=True)
        for k, i in enumerate(np.where(y == c)[0][:per]):
            Image.fromarray(x[i]).save(os.path.join(d, f"{i:05d}.png"))
