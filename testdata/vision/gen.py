#!/usr/bin/python3
"""Generates the vision package's fixtures with Debian's python3-opencv (4.6),
python3-pil (9.4), python3-torch and libjpeg-turbo-progs (cjpeg): run
/usr/bin/python3 gen.py in this folder.

Source images for the resize and pipeline cases are synthesised by synth(),
which vision/fixture_test.go reimplements bit for bit, so only the expected
outputs are stored. Decoder cases store small encoded files plus the pixels
OpenCV (cv2.imdecode, IMREAD_COLOR) or Pillow (convert("RGB")) decode them to.

Outputs: manifest.json, expected.bin.gz (all expected arrays, concatenated),
images/*.
"""
import gzip
import io
import json
import os
import struct
import subprocess

import cv2
import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
blob = bytearray()


def put(arr):
    """Appends an array to the blob and returns [offset, byte length]."""
    b = np.ascontiguousarray(arr).tobytes()
    off = len(blob)
    blob.extend(b)
    return [off, len(b)]


def synth(w, h, seed):
    """Gradients + hashed noise + a checker pattern, uint8 HxWx3 RGB."""
    y, x = np.mgrid[0:h, 0:w]
    xu, yu = x.astype(np.uint32), y.astype(np.uint32)
    n = (xu * np.uint32(73856093)) ^ (yu * np.uint32(19349663)) ^ np.uint32((seed * 83492791) & 0xFFFFFFFF)
    n = n * np.uint32(2654435761)
    xi, yi = x.astype(np.int64), y.astype(np.int64)
    chk = (((xi // 7) + (yi // 5)) % 2) * 48
    base = [xi * 255 // max(w - 1, 1), yi * 255 // max(h - 1, 1), (xi + yi) * 255 // max(w + h - 2, 1)]
    out = []
    for c in range(3):
        noise = ((n >> np.uint32(8 * c + 2)) & np.uint32(63)).astype(np.int64) - 32
        sign = -1 if c == 1 else 1
        out.append(np.clip(base[c] + noise + sign * chk, 0, 255))
    return np.stack(out, -1).astype(np.uint8)


MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def paddle(rgb, short, crop):
    """ppcls ResizeImage(resize_short) + CropImage + NormalizeImage + CHW."""
    h, w = rgb.shape[:2]
    percent = float(short) / min(w, h)
    nw, nh = int(round(w * percent)), int(round(h * percent))
    r = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
    x0, y0 = (nw - crop) // 2, (nh - crop) // 2
    c = r[y0:y0 + crop, x0:x0 + crop]
    scale = np.float32(1.0 / 255.0)
    mean = np.array(MEAN).reshape((1, 1, 3)).astype('float32')
    std = np.array(STD).reshape((1, 1, 3)).astype('float32')
    f = (c.astype('float32') * scale - mean) / std
    return c, f.transpose((2, 0, 1)).copy()


def timm(rgb, short, crop):
    """torchvision Resize(short) + CenterCrop + ToTensor + Normalize on PIL."""
    im = Image.fromarray(rgb)
    w, h = im.size
    s, l = (w, h) if w <= h else (h, w)
    if s != short:
        ns, nl = short, int(short * l / s)
        nw, nh = (ns, nl) if w <= h else (nl, ns)
        im = im.resize((nw, nh), Image.BILINEAR)
    w, h = im.size
    top, left = int(round((h - crop) / 2.0)), int(round((w - crop) / 2.0))
    c = np.array(im)[top:top + crop, left:left + crop]
    t = torch.from_numpy(c.copy()).permute(2, 0, 1).contiguous().float().div(255)
    t = (t - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
    return c, t.numpy()


def resize_cases():
    cases = []
    pairs = [
        ((333, 500), [(100, 150), (57, 31)]),
        ((200, 133), [(153, 102), (77, 51)]),
        ((129, 128), [(128, 128), (128, 127), (65, 64)]),
        ((58, 58), [(64, 64), (115, 116), (59, 57)]),
        ((64, 48), [(32, 24), (33, 24), (96, 72), (17, 100), (5, 3)]),
        ((256, 192), [(128, 96)]),  # exact 2x: OpenCV switches to INTER_AREA
        ((17, 9), [(64, 48), (1, 1), (3, 2)]),
        ((1, 5), [(4, 9), (3, 2)]),
        ((5, 1), [(9, 4)]),
        ((2, 2), [(7, 7), (1, 1)]),
        ((1000, 750), [(85, 64)]),
    ]
    seed = 1
    for (sw, sh), dsts in pairs:
        src = synth(sw, sh, seed)
        for dw, dh in dsts:
            cvo = cv2.resize(src, (dw, dh), interpolation=cv2.INTER_LINEAR)
            cases.append({"algo": "cv", "src": [sw, sh, seed], "dst": [dw, dh], "u8": put(cvo)})
            pil = np.array(Image.fromarray(src).resize((dw, dh), Image.BILINEAR))
            cases.append({"algo": "pil", "src": [sw, sh, seed], "dst": [dw, dh], "u8": put(pil)})
        seed += 1
    return cases


def pipeline_cases():
    cases = []
    full = [(333, 500)]
    small = [(500, 333), (257, 256), (75, 64), (64, 75), (58, 58), (250, 188), (128, 192), (97, 301)]
    seed = 100
    for mode, fn in (("paddle", paddle), ("timm", timm)):
        for (w, h) in full:
            c, _ = fn(synth(w, h, seed), 256, 224)
            cases.append({"mode": mode, "src": [w, h, seed], "short": 256, "crop": 224, "u8": put(c)})
            seed += 1
        for (w, h) in small:
            c, f = fn(synth(w, h, seed), 64, 56)
            case = {"mode": mode, "src": [w, h, seed], "short": 64, "crop": 56, "u8": put(c)}
            if w < 100:  # a few float tensors: they barely compress
                case["f32"] = put(f.astype('<f4'))
            cases.append(case)
            seed += 1
    return cases


def cv_decode(data):
    d = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if d is None else d[:, :, ::-1].copy()


def pil_decode(data):
    return np.array(Image.open(io.BytesIO(data)).convert('RGB'))


def patch_gif(data, sw, sh, left, top):
    """Enlarges a one-frame GIF's logical screen and moves its frame."""
    d = bytearray(data)
    flags = d[10]
    p = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    while d[p] == 0x21:
        p += 2
        while d[p]:
            p += d[p] + 1
        p += 1
    assert d[p] == 0x2C
    struct.pack_into("<HH", d, 6, sw, sh)
    struct.pack_into("<HH", d, p + 1, left, top)
    return bytes(d)


def decode_cases():
    os.makedirs(os.path.join(HERE, "images"), exist_ok=True)
    files = {}
    rgb = synth(61, 47, 7)
    files["rgb8.png"] = cv2.imencode(".png", rgb[:, :, ::-1])[1].tobytes()
    files["gray8.png"] = cv2.imencode(".png", rgb[:, :, 0])[1].tobytes()
    rgb16 = (rgb.astype(np.uint16) * 257 + np.arange(61, dtype=np.uint16)[None, :, None] * 3)
    files["rgb16.png"] = cv2.imencode(".png", rgb16[:, :, ::-1])[1].tobytes()
    files["gray16.png"] = cv2.imencode(".png", rgb16[:, :, 1])[1].tobytes()
    alpha = (np.arange(61 * 47) % 256).reshape(47, 61).astype(np.uint8)
    b = io.BytesIO()
    Image.fromarray(np.dstack([rgb, alpha])).save(b, "PNG")
    files["rgba.png"] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(np.dstack([rgb[:, :, 0], alpha]), "LA").save(b, "PNG")
    files["graya.png"] = b.getvalue()
    pal = Image.fromarray(rgb).quantize(colors=37)
    b = io.BytesIO()
    pal.save(b, "PNG", transparency=3)
    files["palette.png"] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(rgb[:, :, 0] > 128).save(b, "PNG")
    files["bilevel.png"] = b.getvalue()
    for name, kw in [("q90_420.jpg", {"quality": 90, "subsampling": 2}),
                     ("q90_422.jpg", {"quality": 90, "subsampling": 1}),
                     ("q95_444.jpg", {"quality": 95, "subsampling": 0}),
                     ("progressive.jpg", {"quality": 85, "progressive": True, "subsampling": 2})]:
        b = io.BytesIO()
        Image.fromarray(rgb).save(b, "JPEG", **kw)
        files[name] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(rgb[:, :, 1]).save(b, "JPEG", quality=90)
    files["gray.jpg"] = b.getvalue()
    b = io.BytesIO()
    k = synth(61, 47, 8)[:, :, 2:]  # a real black channel: the CMYK formulas differ there
    Image.fromarray(np.concatenate([rgb, k], 2), "CMYK").save(b, "JPEG", quality=95)
    files["cmyk.jpg"] = b.getvalue()
    # The same samples read as YCCK: flip the Adobe APP14 transform flag.
    i = files["cmyk.jpg"].index(b"Adobe")
    ycck = bytearray(files["cmyk.jpg"])
    assert ycck[i + 11] == 0
    ycck[i + 11] = 2
    files["ycck.jpg"] = bytes(ycck)
    # cjpeg (Debian's libjpeg-turbo-progs) writes the ratios Pillow cannot.
    ppm = os.path.join(HERE, "tmp.ppm")
    Image.fromarray(rgb).save(ppm)
    for name, args in (("q90_440.jpg", ["-sample", "1x2"]), ("q90_411.jpg", ["-sample", "4x1"]),
                       ("q90_410.jpg", ["-sample", "4x2"]), ("restart_rows.jpg", ["-restart", "1"]),
                       ("restart_blocks.jpg", ["-restart", "3B", "-progressive"]),
                       ("rgb_adobe.jpg", ["-rgb"]), ("optimized_prog.jpg", ["-optimize", "-progressive", "-sample", "2x1"])):
        files[name] = subprocess.run(["cjpeg", "-quality", "90"] + args + [ppm],
                                     check=True, capture_output=True).stdout
    os.remove(ppm)
    small = synth(37, 23, 9)
    for o in range(1, 9):
        im = Image.fromarray(small)
        ex = im.getexif()
        ex[0x0112] = o
        b = io.BytesIO()
        im.save(b, "JPEG", quality=95, subsampling=0, exif=ex)
        files["exif%d.jpg" % o] = b.getvalue()
    im = Image.fromarray(small)
    ex = im.getexif()
    ex[0x0112] = 6
    b = io.BytesIO()
    im.save(b, "PNG", exif=ex)
    files["exif6.png"] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(rgb).quantize(colors=64).save(b, "GIF")
    files["first.gif"] = b.getvalue()
    # First frames smaller than the screen, with and without a transparent
    # index: Pillow paints them on the full canvas.
    for name, kw in (("offset.gif", {}), ("offset_trans.gif", {"transparency": 2})):
        b = io.BytesIO()
        Image.fromarray(rgb[:20, :30]).quantize(colors=16).save(b, "GIF", **kw)
        files[name] = patch_gif(b.getvalue(), 47, 33, 9, 6)
    b = io.BytesIO()
    Image.fromarray(rgb).save(b, "BMP")
    files["rgb.bmp"] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(rgb).save(b, "WEBP", lossless=True)
    files["lossless.webp"] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(rgb).save(b, "WEBP", quality=90)
    files["lossy.webp"] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(rgb).save(b, "TIFF")
    files["rgb.tif"] = b.getvalue()
    big = synth(333, 250, 11)
    b = io.BytesIO()
    Image.fromarray(big).save(b, "JPEG", quality=90)
    files["big420.jpg"] = b.getvalue()
    # Cut inside the entropy-coded data: libjpeg warns and greys the rest.
    files["truncated.jpg"] = files["q90_420.jpg"][:len(files["q90_420.jpg"]) * 2 // 3]

    cases = []
    for name, data in sorted(files.items()):
        with open(os.path.join(HERE, "images", name), "wb") as f:
            f.write(data)
        if name == "big420.jpg":
            continue  # only used by the JPEG pipeline cases below
        for ref, fn in (("cv", cv_decode), ("pil", pil_decode)):
            if ref == "pil" and name.endswith("16.png"):
                continue  # Pillow clips 16-bit grey to 255 on convert("RGB"); not a reference
            try:
                d = fn(data)
            except OSError:
                continue  # Pillow refuses truncated files
            if d is None:
                continue  # OpenCV 4.6 has no GIF decoder
            cases.append({"file": "images/" + name, "ref": ref, "w": d.shape[1], "h": d.shape[0], "u8": put(d)})
    # Full eval pipelines on a JPEG, each from its own reference decoder.
    data = files["big420.jpg"]
    c, _ = paddle(cv_decode(data), 128, 112)
    jp = [{"file": "images/big420.jpg", "mode": "paddle", "short": 128, "crop": 112, "u8": put(c)}]
    c, _ = timm(pil_decode(data), 128, 112)
    jp.append({"file": "images/big420.jpg", "mode": "timm", "short": 128, "crop": 112, "u8": put(c)})
    return cases, jp


def main():
    resize = resize_cases()
    pipe = pipeline_cases()
    dec, jp = decode_cases()
    with gzip.GzipFile(os.path.join(HERE, "expected.bin.gz"), "wb", 9, mtime=0) as f:
        f.write(bytes(blob))
    manifest = {"opencv": cv2.__version__, "pillow": Image.__version__, "torch": torch.__version__,
                "resize": resize, "pipeline": pipe, "decode": dec, "jpeg_pipeline": jp}
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
