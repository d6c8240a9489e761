#!/usr/bin/env python3
"""Writes dataset/testdata/pil: sample images and PIL's resizes of them.

The Go test TestResizeMatchesPIL compares transfer's resizer with these, so
that the README's Python recipe (PIL's Image.resize with BILINEAR) is known
to give the pixels transfer gives. Run it once, with Debian's python3-pil
and python3-numpy:

    /usr/bin/python3 scripts/pil-golden.py

It records the Pillow version in dataset/testdata/pil/VERSION.
"""
import os

import numpy as np
import PIL
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "dataset", "testdata", "pil")


def sample(w, h, seed):
    """A smooth gradient with noise and hard edges: every filter shows."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    r = 255 * x / max(w - 1, 1)
    g = 255 * y / max(h - 1, 1)
    b = 128 + 100 * np.sin(x / 3.0) * np.cos(y / 5.0)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 20, (h, w, 3))
    img[h // 3 : h // 2, w // 4 : w // 2] = [250, 10, 10]
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def crop(img, side, resample):
    """torchvision's Resize(256/224 of side) + CenterCrop(side), as transfer computes it."""
    w, h = img.size
    s = (side * 256 + 112) // 224
    dw, dh = (s, s * h // w) if w <= h else (s * w // h, s)
    dw, dh = max(dw, side), max(dh, side)
    big = img.resize((dw, dh), resample)
    x0, y0 = round((dw - side) / 2), round((dh - side) / 2)
    return big.crop((x0, y0, x0 + side, y0 + side))


def main():
    os.makedirs(OUT, exist_ok=True)
    sources = {"wide": sample(160, 120, 1), "small": sample(31, 23, 2), "tall": sample(50, 170, 3)}
    for name, img in sources.items():
        img.save(os.path.join(OUT, f"{name}.png"))
        for fname, f in (("bilinear", Image.BILINEAR), ("nearest", Image.NEAREST)):
            for w, h in ((48, 40), (64, 50)):
                img.resize((w, h), f).save(os.path.join(OUT, f"{name}-stretch-{fname}-{w}x{h}.png"))
            crop(img, 32, f).save(os.path.join(OUT, f"{name}-crop-{fname}-32x32.png"))
    with open(os.path.join(OUT, "VERSION"), "w") as v:
        v.write(f"Pillow {PIL.__version__}, numpy {np.__version__}\n")


if __name__ == "__main__":
    main()
