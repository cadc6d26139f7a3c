"""stem_error.py: how far the stem's Winograd algorithms move a model's logits.

Runs the import tests' randomly initialised models (testdata/weights/gen.py)
in float64 as the truth, then in float32 with the stem's first two layers
replaced by float32 simulations of Winograd algorithms, and prints max |diff|
/ max |logit| against the truth for each choice (docs/performance.md,
"Correctness"). These networks amplify rounding: plain float32 is already
about 2e-5 off, and the engine's limit against PyTorch is 1e-4.

usage: /usr/bin/python3 bench/stem_error.py      (Debian's python3-torch)
"""
import copy
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / 'testdata' / 'weights'))
import gen  # noqa: E402  (puts ../shared/peers on the path for dla_ref)


def toom_cook(m, r, points):
    """A^T (m x n), G (n x r), B^T (n x n) of F(m, r) for the finite points
    and infinity: G's row j is a_j^k / prod(a_j - a_l), A^T's column the
    powers of a_j, B^T's row the coefficients of prod over l != j of (x - a_l),
    and for infinity the last tap, the last output and prod over all l."""
    n = m + r - 1
    at, g, bt = np.zeros((m, n)), np.zeros((n, r)), np.zeros((n, n))
    for j, a in enumerate(points):
        others = [b for l, b in enumerate(points) if l != j]
        g[j] = [a ** k / np.prod([a - b for b in others]) for k in range(r)]
        at[:, j] = [a ** i for i in range(m)]
        bt[j, :n - 1] = np.poly(others)[::-1]
    g[n - 1, r - 1] = at[m - 1, n - 1] = 1
    bt[n - 1] = np.poly(points)[::-1]
    return [torch.tensor(x, dtype=torch.float32) for x in (at, g, bt)], torch.tensor(g)


class Rows(torch.nn.Module):
    """A 7x7, pad 3 convolution as F(m, 7) along the rows, in float32."""

    def __init__(self, conv, m, points):
        super().__init__()
        (self.at, _, self.bt), g64 = toom_cook(m, 7, points)
        self.m = m
        self.u = torch.einsum('ps,kcrs->kcrp', g64, conv.weight.double()).float()

    def forward(self, x):
        n, _, h, w = x.shape
        m, tiles = self.m, -(-w // self.m)
        xp = torch.nn.functional.pad(x, (3, 3 + tiles * m - w, 3, 3))
        v = xp.unfold(3, m + 6, m) @ self.bt.T
        prod = sum(torch.einsum('nchtp,kcp->nkhtp', v[:, :, r:r + h], self.u[:, :, r]) for r in range(7))
        return (prod @ self.at.T).reshape(n, -1, h, tiles * m)[..., :w]


class Tiles(torch.nn.Module):
    """A 3x3, pad 1 convolution as F(4x4, 3x3), in float32."""

    def __init__(self, conv):
        super().__init__()
        (self.at, _, self.bt), g64 = toom_cook(4, 3, [0, 1, -1, 2, -2])
        self.u = (g64 @ conv.weight.double() @ g64.T).float()

    def forward(self, x):
        n, _, h, w = x.shape
        th, tw = -(-h // 4), -(-w // 4)
        xp = torch.nn.functional.pad(x, (1, 1 + 4 * tw - w, 1, 1 + 4 * th - h))
        v = self.bt @ xp.unfold(2, 6, 4).unfold(3, 6, 4) @ self.bt.T
        y = self.at @ torch.einsum('nctsij,kcij->nktsij', v, self.u) @ self.at.T
        return y.permute(0, 1, 2, 4, 3, 5).reshape(n, -1, 4 * th, 4 * tw)[..., :h, :w]


F27 = [0, 1, -1, 2, -2, .5, -.5]
CHOICES = [
    ('direct', None, False),
    ('F(4x4,3x3)', None, True),
    ('F(2,7) + F(4x4,3x3)', (2, F27), True),
    ('F(2,7)', (2, F27), False),
    ('F(3,7)', (3, F27 + [1.5]), False),
    ('F(4,7)', (4, F27 + [1.5, -1.5]), False),
    ('F(4,7) + F(4x4,3x3)', (4, F27 + [1.5, -1.5]), True),
]


def main():
    torch.set_num_threads(2)
    print('| stem | DLA46_c | DLA46x_c |\n|---|---:|---:|')
    rows = {label: [] for label, _, _ in CHOICES}
    for name, seed, rounding in [('dla46_c', 4646, torch.float16), ('dla46x_c', 46, torch.bfloat16)]:
        model, x, _ = gen.seeded(name, seed, rounding)
        with torch.no_grad():
            truth = copy.deepcopy(model).double()(x.double())
            for label, rows7, tiles in CHOICES:
                m = copy.deepcopy(model)
                if rows7:
                    m.base_layer[0] = Rows(m.base_layer[0], *rows7)
                if tiles:
                    m.level0[0] = Tiles(m.level0[0])
                rows[label].append((m(x).double() - truth).abs().max().item() / truth.abs().max().item())
    for label, errs in rows.items():
        print(f'| {label} | ' + ' | '.join(f'{e:.2g}' for e in errs) + ' |')


if __name__ == '__main__':
    main()
