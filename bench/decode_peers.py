#!/usr/bin/python3
"""Times libjpeg-turbo on a folder of JPEGs, one thread, in CPU seconds:

    decode_peers.py opencv DIR   cv2.imdecode(IMREAD_COLOR), EXIF orientation applied
    decode_peers.py turbo DIR    libjpeg-turbo's own tjDecompress2 to RGB (islow
                                 IDCT, fancy upsampling: the same pixels), no EXIF
    decode_peers.py md5 DIR      each file's name and the MD5 of OpenCV's RGB pixels

Prints one line in bench/decodetime's format. Needs Debian's python3-opencv and
libturbojpeg0.
"""
import ctypes
import glob
import hashlib
import os
import sys
import time

import cv2
import numpy as np


def opencv(bufs):
    px = 0
    for b in bufs:
        m = cv2.imdecode(b, cv2.IMREAD_COLOR)
        px += m.shape[0] * m.shape[1]
    return px


def turbo_decoder():
    tj = ctypes.CDLL("libturbojpeg.so.0")
    tj.tjInitDecompress.restype = ctypes.c_void_p
    tj.tjDecompressHeader3.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong] + \
        [ctypes.POINTER(ctypes.c_int)] * 4
    tj.tjDecompress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p,
                                 ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int]
    h = tj.tjInitDecompress()

    def decode(files):
        px = 0
        for b in files:
            w, hh, ss, cs = (ctypes.c_int() for _ in range(4))
            tj.tjDecompressHeader3(h, b, len(b), ctypes.byref(w), ctypes.byref(hh), ctypes.byref(ss), ctypes.byref(cs))
            out = ctypes.create_string_buffer(w.value * hh.value * 3)
            if tj.tjDecompress2(h, b, len(b), out, w.value, 0, hh.value, 0, 0) != 0:  # TJPF_RGB, no flags
                sys.exit("tjDecompress2 failed")
            px += w.value * hh.value
        return px
    return decode


def main():
    mode, d = sys.argv[1], sys.argv[2]
    paths = sorted(glob.glob(os.path.join(d, "*.jpg")))
    if not paths:
        sys.exit("no .jpg files in %s" % d)
    cv2.setNumThreads(1)
    if mode == "md5":
        for p in paths:
            m = cv2.imdecode(np.fromfile(p, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
            print(os.path.basename(p), hashlib.md5(np.ascontiguousarray(m).tobytes()).hexdigest())
        return
    files = [open(p, "rb").read() for p in paths]
    if mode == "opencv":
        bufs = [np.frombuffer(b, np.uint8) for b in files]
        run = lambda: opencv(bufs)
    elif mode == "turbo":
        dec = turbo_decoder()
        run = lambda: dec(files)
    else:
        sys.exit("unknown mode %s" % mode)
    c, w = time.process_time(), time.perf_counter()
    px = run()
    c, w = time.process_time() - c, time.perf_counter() - w
    print("decoder=%s files=%d mpx=%.1f cpu=%.3f wall=%.3f" % (mode, len(files), px / 1e6, c, w))


if __name__ == "__main__":
    main()
