#!/usr/bin/python3
"""PyTorch training steps that the Go trainer must reproduce (train/parity_test.go).

Each case builds a model of ../../../shared/peers/dla_ref.py with 10 classes,
loads the synthetic weights of arch/synthetic.go (seed 0; the same hash as
../golden/gen.py) and runs one training step on a 64x64 batch of four noise
images (arch.SyntheticNoise; labels (3*seed + 7*i) % 10): cross-entropy with
optional label smoothing, then torch.optim.SGD (momentum, weight decay =
PaddleClas's L2 coefficient, optional Nesterov, whose first step already
scales the gradient by 1 + momentum). The reference is PyTorch in float64
from the float32 weights and inputs.

Each case also runs the step in float32, so that the test can hold the Go
trainer to PyTorch's own float32 accuracy on the same batch.

Storing every updated weight would take megabytes per model, so each case
writes <case>.safetensors with, per trainable tensor, the update (final minus
initial) at up to 97 evenly spaced elements (index floor(j*n/97)) in float64
and in float32, and its sum and Euclidean norm; the BatchNorm running
statistics after the step, whole; the loss and the noise seed. sgd.json holds
three optimizer steps on a small tensor, for the momentum path a single step
cannot show.

usage: /usr/bin/python3 testdata/train/gen.py
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', '..', 'shared', 'peers'))
sys.path.insert(0, os.path.join(HERE, '..', 'golden'))
import dla_ref  # noqa: E402
from gen import synthetic, uniform, write_safetensors  # noqa: E402

# name, model, lr, momentum, weight decay, nesterov, label smoothing
CASES = [
    ('dla46_c', 'dla46_c', 0.1, 0.9, 1e-4, False, 0.0),
    ('dla34', 'dla34', 0.05, 0.9, 1e-4, True, 0.1),
    ('dla60x_c', 'dla60x_c', 0.1, 0.9, 5e-4, False, 0.1),
]
SIZE, BATCH, CLASSES, SAMPLES = 64, 4, 10, 97
# Float32 training can legitimately differ from float64 where an activation
# sits within rounding of a decision: a ReLU input next to zero, a max-pool
# window whose two largest values nearly tie. The element flips and its
# gradient goes elsewhere. How often depends on the batch: PyTorch's own
# float32 gradients differ from float64 by 1e-5 on some noise batches and by
# 7% on others. Each case uses, among the first SEEDS batches, the one on
# which PyTorch's float32 gradients agree best with float64.
SEEDS = 12


def noise(batch, size, seed):
    """Same values as arch.SyntheticNoise."""
    n = batch * 3 * size * size
    return (2 * uniform('noise', n, seed) - 1).astype(np.float32).reshape(batch, 3, size, size)


def labels(seed):
    return torch.tensor([(3 * seed + 7 * i) % CLASSES for i in range(BATCH)])


def sample_indices(n):
    return sorted({j * n // SAMPLES for j in range(SAMPLES)}) if n > SAMPLES else list(range(n))


def model_at(name, dtype):
    model = dla_ref.create(name, num_classes=CLASSES)
    sd = {k: torch.from_numpy(synthetic(k, tuple(v.shape), 0))
          for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked')}
    model.load_state_dict(sd, strict=False)
    return model.to(dtype).train()


def gradients(name, dtype, seed, eps):
    model = model_at(name, dtype)
    x = torch.from_numpy(noise(BATCH, SIZE, seed)).to(dtype)
    torch.nn.CrossEntropyLoss(label_smoothing=eps)(model(x), labels(seed)).backward()
    return {k: v.grad.double() for k, v in model.named_parameters()}


def float32_error(name, seed, eps):
    """The largest relative error of PyTorch's float32 gradients on batch seed."""
    a, b = gradients(name, torch.float64, seed, eps), gradients(name, torch.float32, seed, eps)
    return max(((a[k] - b[k]).norm() / a[k].norm()).item() for k in a)


def best_conditioned_seed(name, eps):
    return min((float32_error(name, seed, eps), seed) for seed in range(1, SEEDS + 1))


def step(name, dtype, seed, lr, momentum, wd, nesterov, eps):
    """One training step; returns the loss, the updates and the model."""
    model = model_at(name, dtype)
    init = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=wd, nesterov=nesterov)
    x = torch.from_numpy(noise(BATCH, SIZE, seed)).to(dtype)
    opt.zero_grad()
    loss = torch.nn.CrossEntropyLoss(label_smoothing=eps)(model(x), labels(seed))
    loss.backward()
    opt.step()
    deltas = {k: (v.detach() - init[k]).double().flatten() for k, v in model.named_parameters()}
    return loss.item(), deltas, model


def run(case, name, lr, momentum, wd, nesterov, eps):
    f32err, seed = best_conditioned_seed(name, eps)
    loss, deltas, model = step(name, torch.float64, seed, lr, momentum, wd, nesterov, eps)
    _, deltas32, _ = step(name, torch.float32, seed, lr, momentum, wd, nesterov, eps)
    out = {'loss': np.array([loss], dtype=np.float32), 'seed': np.array([seed], dtype=np.float32)}
    for k, d in deltas.items():
        idx = sample_indices(d.numel())
        out[k + '.delta_samples'] = d[idx].float().numpy()
        out[k + '.delta_samples_f32'] = deltas32[k][idx].float().numpy()
        out[k + '.delta_sum_norm'] = np.array([d.sum().item(), d.norm().item()], dtype=np.float32)
    for k, v in model.state_dict().items():
        if k.endswith('running_mean') or k.endswith('running_var'):
            out[k] = v.float().numpy()
    write_safetensors(os.path.join(HERE, case + '.safetensors'), out)
    print('%-9s seed %d (PyTorch float32 gradient error %.2g)  loss %.6f' % (case, seed, f32err, loss))


def sgd_steps():
    """Three SGD steps on one small tensor from given gradients, with and
    without Nesterov: the optimizer alone, for train.SGD's momentum path."""
    gen = torch.Generator().manual_seed(5)
    w0 = torch.randn(7, generator=gen)
    grads = [torch.randn(7, generator=gen) for _ in range(3)]
    out = {'w0': w0.tolist(), 'grads': [g.tolist() for g in grads], 'lr': 0.1, 'momentum': 0.9, 'l2': 1e-2}
    for nesterov in (False, True):
        w = w0.clone().requires_grad_(True)
        opt = torch.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=nesterov)
        for g in grads:
            w.grad = g.clone()
            opt.step()
        out['nesterov' if nesterov else 'plain'] = w.detach().tolist()
    with open(os.path.join(HERE, 'sgd.json.tmp'), 'w') as f:
        json.dump(out, f)
    os.replace(os.path.join(HERE, 'sgd.json.tmp'), os.path.join(HERE, 'sgd.json'))


def main():
    torch.set_num_threads(2)
    sgd_steps()
    for c in CASES:
        run(*c)


if __name__ == '__main__':
    main()
