#!/usr/bin/python3
"""Writes the sample images: the first image of each class in the
Fashion-MNIST test set (Debian's dataset-fashion-mnist,
/usr/share/datasets/fashion-mnist/t10k-*), as 28x28 greyscale PNGs named
<index>_<class>.png, index being the image's position in the test set.
Fashion-MNIST is (c) Zalando SE, MIT licence.

usage: /usr/bin/python3 samples/gen.py
"""
import gzip
import os

import cv2
import numpy as np

SRC = '/usr/share/datasets/fashion-mnist'
HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = ['tshirt_top', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle_boot']


def idx(path):
    with gzip.open(path) as f:
        b = f.read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


def main():
    images = idx(os.path.join(SRC, 't10k-images-idx3-ubyte.gz'))
    labels = idx(os.path.join(SRC, 't10k-labels-idx1-ubyte.gz'))
    for k, name in enumerate(NAMES):
        i = int(np.argmax(labels == k))
        cv2.imwrite(os.path.join(HERE, '%04d_%s.png' % (i, name)), images[i])


if __name__ == '__main__':
    main()
