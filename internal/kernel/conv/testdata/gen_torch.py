"""Writes torch_conv.json: PyTorch conv2d outputs and gradients that the
conv reference functions are checked against.

Run with Debian's python3 (python3-torch): /usr/bin/python3 gen_torch.py
"""
import json
import os

import torch

torch.manual_seed(3)

# (N, C, H, W, K, R, S, strideH, strideW, padH, padW, groups)
CASES = [
    (2, 4, 7, 6, 6, 3, 3, 1, 1, 1, 1, 2),
    (1, 3, 9, 8, 4, 7, 7, 2, 2, 3, 3, 1),
    (2, 8, 5, 7, 8, 3, 1, 2, 1, 1, 0, 4),
    (1, 6, 6, 6, 3, 1, 1, 1, 1, 0, 0, 3),
]


def f32(t):
    return [float(v) for v in t.detach().flatten().tolist()]


cases = []
for n, c, h, w, k, r, s, sh, sw, ph, pw, g in CASES:
    x = torch.randn(n, c, h, w, requires_grad=True)
    wt = torch.randn(k, c // g, r, s, requires_grad=True)
    y = torch.nn.functional.conv2d(x, wt, stride=(sh, sw), padding=(ph, pw), groups=g)
    dy = torch.randn(y.shape)
    (y * dy).sum().backward()
    cases.append({"params": [n, c, h, w, k, r, s, sh, sw, ph, pw, g], "x": f32(x), "w": f32(wt),
                  "y": f32(y), "dy": f32(dy), "dx": f32(x.grad), "dw": f32(wt.grad)})

with open("torch_conv.json.tmp", "w") as fh:
    json.dump(cases, fh)
os.replace("torch_conv.json.tmp", "torch_conv.json")
