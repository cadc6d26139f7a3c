#!/usr/bin/python3
"""Camera-like JPEG photos made from the real photos Debian packages ship.

    /usr/bin/python3 gen.py                 # the committed fixtures, in this folder
    /usr/bin/python3 gen.py --bench DIR     # the benchmark folder (0.3-12 Mpx)

Sources: python3-skimage's data photos (chelsea, coffee, astronaut, rocket,
motorcycle) and, for the benchmark, plasma-workspace-wallpapers' photographs
(2560x1600 JPEGs). Each output is a crop of a source at a camera aspect
(4:3, 3:2 or portrait), resized with OpenCV (INTER_AREA down, INTER_CUBIC up),
given mild seeded sensor-like noise (upscaling alone leaves too little detail
for the entropy decoder to chew on), encoded by OpenCV (libjpeg-turbo) at
quality 85-95 with 4:2:0 chroma, and given an EXIF APP1 segment with an
orientation, as phones write them.

Fixtures (small, odd sizes): images/*.jpg plus expected.bin.gz and
manifest.json holding what cv2.imdecode makes of each file, at full size
(IMREAD_COLOR) and with libjpeg's scaled decoding (IMREAD_REDUCED_COLOR_2, _4,
_8), RGB order, EXIF orientation applied, and the PaddleClas eval pipeline on
the reduced decodes (the draft-mode reference).
"""
import argparse
import gzip
import json
import os
import struct
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
WALLPAPERS = "/usr/share/wallpapers"
# The wallpapers that are photographs (the others are drawings or renders).
PHOTO_WALLPAPERS = ["Autumn", "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour",
                    "EveningGlow", "FallenLeaf", "Grey", "OneStandsOut", "Path", "summer_1am"]


def exif_app1(orientation):
    """An APP1 Exif segment whose IFD0 holds only the orientation tag."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0)
    payload = b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def camera_jpeg(src_bgr, w, h, quality, orientation, seed, progressive=False):
    """Crops src to w:h, resizes to w x h, adds noise, encodes 4:2:0 with EXIF."""
    sh, sw = src_bgr.shape[:2]
    if sw * h > sh * w:  # source wider than the target aspect
        cw, ch = sh * w // h, sh
    else:
        cw, ch = sw, sw * h // w
    x0, y0 = (sw - cw) // 2, (sh - ch) // 2
    crop = src_bgr[y0:y0 + ch, x0:x0 + cw]
    interp = cv2.INTER_AREA if w < cw else cv2.INTER_CUBIC
    img = cv2.resize(crop, (w, h), interpolation=interp)
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 2.0, img.shape)
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive)]
    ok, enc = cv2.imencode(".jpg", img, params)
    assert ok
    data = enc.tobytes()
    assert data[:2] == b"\xff\xd8"
    return data[:2] + exif_app1(orientation) + data[2:]


def read(path):
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        sys.exit("cannot read %s (install python3-skimage and plasma-workspace-wallpapers)" % path)
    return img


def skimage_sources():
    return [(n, read(os.path.join(SKIMAGE, n))) for n in
            ("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png")]


def bench(out):
    """Nine sizes from 0.3 to 12 Mpx for each photograph; a third portrait
    (stored so, or landscape with EXIF orientation 6 as phones do)."""
    sizes = [(640, 480), (816, 612), (1024, 768), (1280, 960), (1632, 1224), (2048, 1536),
             (2592, 1944), (3264, 2448), (4000, 3000)]
    srcs = [(n, read(os.path.join(WALLPAPERS, n, "contents/images/2560x1600.jpg"))) for n in PHOTO_WALLPAPERS]
    srcs += skimage_sources()
    os.makedirs(out, exist_ok=True)
    k = 0
    for name, src in srcs:
        for (w, h) in sizes:
            q = (85, 88, 90, 92, 95)[k % 5]
            orient = 1
            if k % 3 == 1:
                w, h = h, w
            elif k % 3 == 2:
                orient = 6
            data = camera_jpeg(src, w, h, q, orient, seed=k)
            base = os.path.splitext(name)[0]
            with open(os.path.join(out, "%s_%dx%d_q%d.jpg" % (base, w, h, q)), "wb") as f:
                f.write(data)
            k += 1
    print("wrote %d photos to %s" % (k, out))


blob = bytearray()


def put(arr):
    b = np.ascontiguousarray(arr).tobytes()
    off = len(blob)
    blob.extend(b)
    return [off, len(b)]


def paddle_u8(rgb, short, crop):
    """ppcls ResizeImage(resize_short) + CropImage on uint8 RGB."""
    h, w = rgb.shape[:2]
    percent = float(short) / min(w, h)
    nw, nh = int(round(w * percent)), int(round(h * percent))
    r = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
    x0, y0 = (nw - crop) // 2, (nh - crop) // 2
    return r[y0:y0 + crop, x0:x0 + crop]


def fixtures():
    srcs = dict(skimage_sources())
    # name, source, size, quality, orientation, progressive
    spec = [("chelsea_q90_o6.jpg", "chelsea.png", (301, 227), 90, 6, False),
            ("coffee_q85.jpg", "coffee.png", (259, 173), 85, 1, False),
            ("astronaut_q95_prog.jpg", "astronaut.png", (197, 263), 95, 1, True),
            ("rocket_q92_o3.jpg", "rocket.jpg", (139, 211), 92, 3, False)]
    os.makedirs(os.path.join(HERE, "images"), exist_ok=True)
    cases = []
    for i, (name, src, (w, h), q, orient, prog) in enumerate(spec):
        data = camera_jpeg(srcs[src], w, h, q, orient, seed=1000 + i, progressive=prog)
        with open(os.path.join(HERE, "images", name), "wb") as f:
            f.write(data)
        buf = np.frombuffer(data, np.uint8)
        for denom, flag in ((1, cv2.IMREAD_COLOR), (2, cv2.IMREAD_REDUCED_COLOR_2),
                            (4, cv2.IMREAD_REDUCED_COLOR_4), (8, cv2.IMREAD_REDUCED_COLOR_8)):
            d = cv2.imdecode(buf, flag)[:, :, ::-1]
            case = {"file": "images/" + name, "scale": denom, "w": d.shape[1], "h": d.shape[0], "u8": put(d)}
            if denom > 1 and min(d.shape[:2]) >= 32:
                case["paddle"] = {"short": 16, "crop": 14, "u8": put(paddle_u8(d, 16, 14))}
            cases.append(case)
    with gzip.GzipFile(os.path.join(HERE, "expected.bin.gz"), "wb", 9, mtime=0) as f:
        f.write(bytes(blob))
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump({"opencv": cv2.__version__, "decode": cases}, f, indent=0)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", metavar="DIR", help="write the benchmark photos to DIR instead of the fixtures")
    a = ap.parse_args()
    if a.bench:
        bench(a.bench)
    else:
        fixtures()


if __name__ == "__main__":
    main()
