#!/usr/bin/python3
"""The Python side of bench/predict.sh: PaddleClas's eval preprocessing of
every JPEG in a folder with OpenCV and numpy, one thread (cv2.imdecode with
EXIF orientation, ResizeImage resize_short=256 with INTER_LINEAR, CropImage
224, NormalizeImage in float32, ToCHWImage), timed per image:

    predict_peers.py DIR    prints "python_preprocess images=N wall_ms=... cpu_ms=..." (per image)
"""
import glob
import os
import sys
import time

import cv2
import numpy as np

MEAN = np.array([0.485, 0.456, 0.406], np.float32).reshape((1, 1, 3))
STD = np.array([0.229, 0.224, 0.225], np.float32).reshape((1, 1, 3))


def preprocess(data):
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    h, w = img.shape[:2]
    percent = 256.0 / min(w, h)
    nw, nh = int(round(w * percent)), int(round(h * percent))
    img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    x0, y0 = (nw - 224) // 2, (nh - 224) // 2
    img = img[y0:y0 + 224, x0:x0 + 224]
    x = (img.astype("float32") * np.float32(1.0 / 255.0) - MEAN) / STD
    return x.transpose((2, 0, 1)).copy()


def main():
    cv2.setNumThreads(1)
    paths = sorted(glob.glob(os.path.join(sys.argv[1], "*.jpg")))
    files = [open(p, "rb").read() for p in paths]
    c, w = time.process_time(), time.perf_counter()
    for data in files:
        preprocess(data)
    c, w = time.process_time() - c, time.perf_counter() - w
    n = len(files)
    print("python_preprocess images=%d wall_ms=%.2f cpu_ms=%.2f" % (n, 1000 * w / n, 1000 * c / n))


if __name__ == "__main__":
    main()
