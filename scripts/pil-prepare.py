#!/usr/bin/env python3
"""PIL's cost per JPEG for what BenchmarkPrepareFiles measures in Go.

Usage: scripts/pil-prepare.py DIR
Opens every DIR/*.jpg with PIL, decodes it in draft mode (libjpeg-turbo
scaling in the DCT domain towards 224x224) and resizes it to 224x224 with
BILINEAR, on one core; prints milliseconds per image, best of three passes.
Needs python3-pil.
"""
import glob, sys, time
from PIL import Image
files = sorted(glob.glob(sys.argv[1] + "/*.jpg"))
best = None
for _ in range(3):
    t = time.perf_counter()
    for f in files:
        im = Image.open(f)
        im.draft("RGB", (224, 224))
        im.convert("RGB").resize((224, 224), Image.BILINEAR)
    ms = (time.perf_counter() - t) / len(files) * 1000
    best = ms if best is None else min(best, ms)
print(f"PIL draft + resize: {best:.2f} ms per image ({len(files)} files)")
