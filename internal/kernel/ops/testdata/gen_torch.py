"""Writes torch_ops.json: PyTorch results the ops tests compare against.

Run with Debian's python3 (python3-torch): /usr/bin/python3 gen_torch.py
Inputs are fixed-seed values rounded to float32; outputs are float32 lists.
"""
import json
import os

import torch

torch.manual_seed(7)


def f32(t):
    return [float(v) for v in t.detach().to(torch.float32).flatten().tolist()]


out = {}

# Training-mode BatchNorm2d: one step with PyTorch's default momentum 0.1,
# then the gradients of sum(y * g).
n, c, h, w = 2, 3, 4, 5
x = (torch.randn(n, c, h, w) * 2 + 1).requires_grad_(True)
bn = torch.nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)
with torch.no_grad():
    bn.weight.copy_(torch.randn(c))
    bn.bias.copy_(torch.randn(c))
    bn.running_mean.copy_(torch.randn(c))
    bn.running_var.copy_(torch.rand(c) + 0.5)
rm0, rv0 = bn.running_mean.clone(), bn.running_var.clone()
bn.eval()
with torch.no_grad():
    y_eval = bn(x)
bn.train()
y = bn(x)
g = torch.randn(n, c, h, w)
(y * g).sum().backward()
out["bn"] = {
    "shape": [n, c, h, w], "x": f32(x), "gamma": f32(bn.weight), "beta": f32(bn.bias),
    "running_mean0": f32(rm0), "running_var0": f32(rv0), "g": f32(g),
    "y_eval": f32(y_eval), "y": f32(y), "running_mean": f32(bn.running_mean), "running_var": f32(bn.running_var),
    "dx": f32(x.grad), "dgamma": f32(bn.weight.grad), "dbeta": f32(bn.bias.grad),
}

# Max pooling 2x2 stride 2 (floor mode) on an odd size, with its gradient.
x = torch.randn(1, 2, 5, 7).requires_grad_(True)
y = torch.nn.functional.max_pool2d(x, 2, 2)
g = torch.randn(y.shape)
(y * g).sum().backward()
out["maxpool"] = {"shape": [1, 2, 5, 7], "x": f32(x), "y": f32(y), "g": f32(g), "dx": f32(x.grad)}

# Mean softmax cross-entropy and its gradient.
logits = (torch.randn(4, 6) * 3).requires_grad_(True)
labels = torch.tensor([5, 0, 2, 2])
loss = torch.nn.functional.cross_entropy(logits, labels)
loss.backward()
out["xent"] = {"shape": [4, 6], "logits": f32(logits), "labels": labels.tolist(),
               "loss": float(loss), "dlogits": f32(logits.grad)}

# The same with label smoothing 0.1 (PaddleClas CELoss epsilon).
logits = (torch.randn(3, 7) * 2).requires_grad_(True)
labels = torch.tensor([6, 1, 1])
loss = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=0.1)
loss.backward()
out["xent_smooth"] = {"shape": [3, 7], "logits": f32(logits), "labels": labels.tolist(), "epsilon": 0.1,
                      "loss": float(loss), "dlogits": f32(logits.grad)}

with open("torch_ops.json.tmp", "w") as fh:
    json.dump(out, fh)
os.replace("torch_ops.json.tmp", "torch_ops.json")
