#!/usr/bin/python3
"""Generates the data package's transform fixtures with Debian's python3-opencv
(4.6) and python3-numpy: run /usr/bin/python3 gen.py in this folder.

The formulas of PaddleClas's RandCropImage, RandFlipImage, ResizeImage,
CropImage and NormalizeImage (ppcls/data/preprocess/ops/operators.py) are
re-run here with fixed random draws in place of Python's random module: the
crop's two uniform draws and its offsets are inputs, so that the Go pipeline
can be given the same draws. Source images are random bytes from a fixed
seed and are stored with the expected outputs.

Output: ops.json (arrays as base64: uint8 HWC RGB images, float32 CHW
little-endian tensors).
"""
import base64
import json
import math
import os

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240601)


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


def image(w, h):
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def uniform(a, b, u):
    """random.uniform(a, b) when random() returned u."""
    return a + (b - a) * u


def crop_box(w, h, u_ratio, u_scale, scale=(0.08, 1.0), ratio=(3. / 4., 4. / 3.), log_aspect=False):
    """RandCropImage's crop size, or None where PaddleClas fails."""
    if log_aspect:
        aspect = math.exp(uniform(math.log(ratio[0]), math.log(ratio[1]), u_ratio))
    else:
        aspect = uniform(ratio[0], ratio[1], u_ratio)
    bound = min((float(w) / h) / aspect, (float(h) / w) * aspect)
    smax, smin = min(scale[1], bound), min(scale[0], bound)
    area = w * h * uniform(smin, smax, u_scale)
    cw, ch = int(math.sqrt(area * aspect)), int(math.sqrt(area / aspect))
    if cw < 1 or ch < 1 or cw > w or ch > h:
        return None
    return cw, ch


def resize_short(w, h, short):
    percent = float(short) / min(w, h)
    return int(round(w * percent)), int(round(h * percent))


def normalize(img, scale, mean, std):
    """NormalizeImage with order '' (HWC), then the dataset's CHW transpose."""
    scale = np.float32(scale)
    m = np.array(mean).reshape((1, 1, 3)).astype('float32')
    s = np.array(std).reshape((1, 1, 3)).astype('float32')
    return ((img.astype('float32') * scale - m) / s).transpose((2, 0, 1))


DRAWS = [0.0, 0.123456789, 0.5, 0.7071067811865476, 0.999999999999]
SIZES = [(37, 23), (23, 37), (5, 300), (300, 5), (64, 64), (28, 28), (1000, 3), (2, 2), (1, 1)]
CONFIGS = [
    {},
    {"scale": (0.5, 0.5)},
    {"ratio": (1.0, 1.0)},
    {"scale": (0.01, 0.02)},
    {"log_aspect": True},
    {"scale": (0.2, 0.9), "ratio": (0.5, 2.0), "log_aspect": True},
]


def boxes():
    """Crop sizes for every config, image size and pair of draws, as rows of
    [config index, w, h, u_ratio, u_scale, crop w, crop h] (0, 0 where
    PaddleClas fails)."""
    configs = [{"scale": list(c.get("scale", (0.08, 1.0))), "ratio": list(c.get("ratio", (0.75, 4. / 3.))),
                "log_aspect": c.get("log_aspect", False)} for c in CONFIGS]
    rows = []
    for i, cfg in enumerate(CONFIGS):
        for w, h in SIZES:
            for ur in DRAWS:
                for us in DRAWS:
                    cw, ch = crop_box(w, h, ur, us, **cfg) or (0, 0)
                    rows.append([i, w, h, ur, us, cw, ch])
    return {"configs": configs, "rows": rows}


def pipelines():
    """Whole train and eval pipelines on fixed draws."""
    out = []
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    for w, h, size, ur, us, fx, fy, flip, code in [
            (37, 23, (12, 10), 0.3, 0.8, 0.25, 0.9, 1, 1),
            (23, 37, (8, 8), 0.999, 0.0, 0.0, 1.0, 0, 1),
            (64, 48, (32, 24), 0.5, 0.5, 0.5, 0.5, 1, 0),
            (50, 50, (25, 25), 0.1, 0.95, 0.7, 0.2, 1, -1),  # 2x downscales take cv2's INTER_AREA path
            (9, 7, (40, 30), 0.6, 0.4, 0.3, 0.6, 1, 1)]:  # upscale
        src = image(w, h)
        cw, ch = crop_box(w, h, ur, us)
        x, y = int(fx * (w - cw)), int(fy * (h - ch))
        img = cv2.resize(src[y:y + ch, x:x + cw, :], size, interpolation=cv2.INTER_LINEAR)
        if flip:
            img = cv2.flip(img, code)
        out.append({"kind": "train", "w": w, "h": h, "src": b64(src), "size": list(size), "u_ratio": repr(ur), "u_scale": repr(us),
                    "x": x, "y": y, "flip": flip, "flip_code": code, "mean": mean, "std": std,
                    "out": b64(normalize(img, 1.0 / 255.0, mean, std))})
    mean, std = [0.2860, 0.2860, 0.2860], [0.3530, 0.3530, 0.3530]
    for w, h, short, crop in [(28, 28, 32, 32), (41, 29, 30, 24), (29, 41, 17, 16), (60, 45, 30, 30), (7, 3, 5, 4)]:
        src = image(w, h)
        nw, nh = resize_short(w, h, short)
        r = cv2.resize(src, (nw, nh), interpolation=cv2.INTER_LINEAR)
        x0, y0 = (nw - crop) // 2, (nh - crop) // 2
        c = r[y0:y0 + crop, x0:x0 + crop, :]
        out.append({"kind": "eval", "w": w, "h": h, "src": b64(src), "short": short, "crop": crop, "mean": mean, "std": std,
                    "scale": "0.00392157", "out": b64(normalize(c, 0.00392157, mean, std))})
    return out


def resize_sizes():
    """ResizeImage(resize_short) sizes, Python's round being half to even."""
    out = []
    for w, h, short in [(3, 2, 3), (5, 2, 3), (7, 4, 2), (2, 7, 5), (333, 500, 256), (500, 333, 256), (1, 1000, 256),
                        (28, 28, 32), (27, 13, 10), (640, 427, 224), (13, 9, 6), (21, 6, 4), (6, 21, 4)]:
        out.append({"w": w, "h": h, "short": short, "size": list(resize_short(w, h, short))})
    return out


if __name__ == "__main__":
    with open(os.path.join(HERE, "ops.json"), "w") as f:
        json.dump({"boxes": boxes(), "pipelines": pipelines(), "resize": resize_sizes()}, f)
