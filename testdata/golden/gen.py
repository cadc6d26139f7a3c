#!/usr/bin/python3
"""Golden logits for the Go models, made with PyTorch from ../../../shared/peers/dla_ref.py.

Weights and inputs are not stored: both languages derive them from the same
counter-based hash of (tensor name, element index, seed), see arch/synthetic.go.
Only BatchNorm running statistics are stored, because random statistics let
the signal die out (logits would not depend on the input): they are calibrated
on four synthetic 64x64 images (seed 1) and written to <model>_bnstats.safetensors.
Each case writes <model>_<size>_b<batch>.npy holding PyTorch's float32 logits
for the seed-0 synthetic input.

usage: /usr/bin/python3 testdata/golden/gen.py   (from the repository root or anywhere)
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', '..', 'shared', 'peers'))
import dla_ref  # noqa: E402

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def fnv1a64(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h ^= b
        h = (h * 0x100000001b3) & M64
    return h


def uniform(name, n, seed):
    """n values in [0,1): splitmix64 of (fnv1a64(name) ^ seed*GOLDEN) + (i+1)*GOLDEN, top 24 bits."""
    with np.errstate(over='ignore'):
        base = np.uint64((fnv1a64(name) ^ ((seed * GOLDEN) & M64)) & M64)
        z = base + (np.arange(1, n + 1, dtype=np.uint64) * np.uint64(GOLDEN))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float64) / float(1 << 24)


def synthetic(name, shape, seed):
    """Same formulas as arch.SyntheticTensor."""
    n = int(np.prod(shape))
    u = uniform(name, n, seed)
    if name.endswith('running_var'):
        v = 0.5 + u
    elif name.endswith('running_mean') or name.endswith('.bias'):
        v = (2 * u - 1) * 0.1
    elif len(shape) == 4:  # conv weight: variance 1/fan_in
        fan_in = shape[1] * shape[2] * shape[3]
        v = (2 * u - 1) * np.sqrt(3.0 / fan_in)
    else:  # BN gamma
        v = 0.75 + 0.5 * u
    return v.astype(np.float32).reshape(shape)


def synthetic_input(batch, size, seed):
    """Noise plus a per-image, per-channel offset and horizontal ramp, so that
    pooled features (and logits) depend visibly on which image it is."""
    noise = 2 * uniform('input', batch * 3 * size * size, seed) - 1
    off = 2 * uniform('input.offset', batch * 3, seed) - 1
    ramp = 2 * uniform('input.ramp', batch * 3, seed) - 1
    col = np.arange(size, dtype=np.float64) / size
    x = noise.reshape(batch, 3, size, size) + 1.5 * off.reshape(batch, 3, 1, 1) \
        + 2 * ramp.reshape(batch, 3, 1, 1) * col.reshape(1, 1, 1, size)
    return x.astype(np.float32)


CASES = [(m, 64, 2) for m in dla_ref.VARIANTS] + [('dla34', 224, 1), ('dla46x_c', 224, 1)]


def write_safetensors(path, tensors):
    """Minimal safetensors writer: JSON header (sorted keys), then raw float32 LE data."""
    import json
    import struct
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        b = tensors[k].astype('<f4').tobytes()
        header[k] = {'dtype': 'F32', 'shape': list(tensors[k].shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path + '.tmp', 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
    os.replace(path + '.tmp', path)


@torch.no_grad()
def calibrated(name):
    model = dla_ref.create(name)
    sd = {k: torch.from_numpy(synthetic(k, tuple(v.shape), 0))
          for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked')}
    model.load_state_dict(sd, strict=False)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average: after one batch, the batch statistics
    model.train()
    model(torch.from_numpy(synthetic_input(4, 64, 1)))
    model.eval()
    stats = {k: v.numpy() for k, v in model.state_dict().items()
             if k.endswith('running_mean') or k.endswith('running_var')}
    write_safetensors(os.path.join(HERE, name + '_bnstats.safetensors'), stats)
    return model


def main():
    torch.set_num_threads(2)
    models = {}
    for name, size, batch in CASES:
        if name not in models:
            models[name] = calibrated(name)
        model = models[name]
        x = torch.from_numpy(synthetic_input(batch, size, 0))
        with torch.no_grad():
            y = model(x).numpy().astype('<f4')
        path = os.path.join(HERE, '%s_%d_b%d.npy' % (name, size, batch))
        np.save(path + '.tmp.npy', y)
        os.replace(path + '.tmp.npy', path)
        print('%-9s %3d b%d  max|logit| %.4g  std %.4g' % (name, size, batch, np.abs(y).max(), y.std()))


if __name__ == '__main__':
    main()
