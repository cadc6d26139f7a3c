#!/usr/bin/python3
"""Writes imagenet1k_labels.txt, the ImageNet-1k class names in PaddleClas's
class_id_map format ("<id> <names>", ids 0..999 in the standard synset order,
e.g. "0 tench, Tinca tinca").

Source: classification_classes_ILSVRC2012.txt from Debian's opencv-doc package
(OpenCV's dnn samples; one line per class, the synset_words.txt names without
the WordNet ids). Run after `apt-get install opencv-doc`:

    /usr/bin/python3 gen_labels.py [path/to/classification_classes_ILSVRC2012.txt]
"""
import os
import sys

SRC = "/usr/share/doc/opencv-doc/examples/data/dnn/classification_classes_ILSVRC2012.txt"


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else SRC
    with open(src, encoding="utf-8") as f:
        names = [line.strip() for line in f if line.strip()]
    if len(names) != 1000:
        sys.exit("%s: %d classes, want 1000" % (src, len(names)))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "imagenet1k_labels.txt")
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for i, n in enumerate(names):
            f.write("%d %s\n" % (i, n))
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
