"""Regenerates the weight-file fixtures in this directory.

Run from anywhere with Debian's Python (python3-torch, numpy):

    /usr/bin/python3 testdata/weights/gen.py

The DLA reference model comes from ../shared/peers/dla_ref.py beside the repository
root. Two small models with 10 classes are written in every supported format:

* dla46x_c: PyTorch zip (float32, {'state_dict': ...} with 'module.' prefixes),
  an official-style zip (bfloat16, plain state dict with the unused inner-node
  project tensors), and a PaddleClas-style .pdparams (pickle protocol 2 of numpy
  float32 arrays, BN statistics named _mean/_variance).
* dla46_c: PyTorch legacy (non-zip, float16, {'model': ...}), and the file
  safetensors.torch.save_file(model.half().state_dict(), ...) writes: float16
  weights with every BatchNorm's int64 num_batches_tracked counter, laid out
  as save_file lays them out (emulated by st_save_file.py, since the
  safetensors package cannot be installed here).

Weights are rounded to the 16-bit type of their narrowest file before anything is
written, so every file of a model holds exactly the same values and the Go tests
compare them bit for bit (and against the checksum in manifest.json). The logits
are computed by PyTorch from those rounded weights on a fixed 1x3x64x64 input.
Also written: tiny.safetensors, a few tensors in F32/F16/BF16 with known values
(the Go tests round-trip the big models through their own safetensors writer);
tiny_state_dict_{f64,bf16}.safetensors, save_file of a conv/BN/linear
state dict (int64 counter included) in float64 and bfloat16, and the float64
one from torch.save (.pth) and as numpy arrays (.pdparams);
tiny_* checkpoints of a handful of tensors (a transposed and an offset view
among them) in every format, small enough to truncate at every byte; and
evil.pdparams, a pickle that would run os.system if unpickled by Python.

A run is not always bit-reproducible: the BatchNorm calibration on PyTorch's CPU
kernels has given other last bits on other runs of the same machine, and then
every dla46*_c file, the logits and manifest.json change together (commit them
together or restore them all). The legacy-format files (dla46_c_legacy_f16.pth,
tiny_legacy.pth) get other bytes on every run: their storage keys are memory
addresses.
"""
import collections
import copy
import hashlib
import json
import pickle
import struct
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO.parent / 'shared' / 'peers'))
import dla_ref  # noqa: E402
from st_save_file import save_file  # noqa: E402


def seeded(name, seed, rounding):
    """dla_ref.seeded_model's recipe with 10 classes and a 64x64 calibration batch,
    then every tensor rounded to `rounding` (torch.float16 / torch.bfloat16)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = dla_ref.create(name, num_classes=10)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(0.75 + 0.5 * torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
        model.fc.bias.copy_(0.01 * torch.randn(model.fc.bias.shape, generator=g))
        dla_ref.calibrate_bn(model, torch.randn((2, 3, 64, 64), generator=g))
        for v in model.state_dict().values():
            if v.is_floating_point():
                v.copy_(v.to(rounding).float())
    model.eval()
    x = torch.randn((1, 3, 64, 64), generator=g)
    with torch.no_grad():
        logits = model(x)
    return model, x, logits


def float_state(model):
    """timm-layout state dict without num_batches_tracked, float32."""
    return collections.OrderedDict(
        (k, v.detach().clone()) for k, v in model.state_dict().items()
        if not k.endswith('num_batches_tracked'))


def checksum(sd):
    """Same definition as weights.Checksum in Go: for each name in byte order,
    name, NUL, uint32 rank, uint64 dims, float32 little-endian data."""
    h = hashlib.sha256()
    for k in sorted(sd, key=lambda s: s.encode()):
        t = sd[k].float().contiguous().numpy().astype('<f4')
        h.update(k.encode() + b'\0')
        h.update(struct.pack('<I', t.ndim))
        for d in t.shape:
            h.update(struct.pack('<Q', d))
        h.update(t.tobytes())
    return h.hexdigest()


def write_safetensors(path, tensors, metadata):
    """The format by hand: u64 header size, JSON header, raw little-endian data."""
    header, blobs, off = {'__metadata__': metadata}, [], 0
    for name, (dtype, arr) in tensors.items():
        raw = arr.tobytes()
        header[name] = {'dtype': dtype, 'shape': list(arr.shape),
                        'data_offsets': [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    js = json.dumps(header, separators=(',', ':')).encode()
    js += b' ' * (-len(js) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(js)) + js + b''.join(blobs))


def bf16_bits(a):
    """float32 values already representable in bfloat16 -> their top 16 bits."""
    return (np.asarray(a, '<f4').view('<u4') >> 16).astype('<u2')


def main():
    manifest = {}

    # --- dla46x_c: zip f32, official bf16, paddle f32 -------------------------
    model, x, logits = seeded('dla46x_c', 46, torch.bfloat16)
    sd = float_state(model)
    np.save(HERE / 'dla46x_c_input.npy', x.numpy().astype('<f4'))
    np.save(HERE / 'dla46x_c_logits.npy', logits.numpy().astype('<f4'))
    manifest['dla46x_c'] = {'checksum': checksum(sd), 'tensors': len(sd), 'num_classes': 10}

    wrapped = {'state_dict': collections.OrderedDict(('module.' + k, v) for k, v in sd.items()),
               'epoch': 90, 'arch': 'dla46x_c'}
    torch.save(wrapped, HERE / 'dla46x_c_zip_f32.pth')

    official = model.state_dict()  # keeps num_batches_tracked and the _metadata attribute
    for k, v in official.items():
        if v.is_floating_point():
            official[k] = v.to(torch.bfloat16)
    g = torch.Generator().manual_seed(7)
    # ucbdrive/dla also builds project at inner nodes with in != out (level4: 64 -> 128).
    official['level4.project.0.weight'] = torch.randn((128, 64, 1, 1), generator=g).to(torch.bfloat16)
    for suffix, val in (('weight', torch.ones(128)), ('bias', torch.zeros(128)),
                        ('running_mean', torch.zeros(128)), ('running_var', torch.ones(128))):
        official['level4.project.1.' + suffix] = val.to(torch.bfloat16)
    official['level4.project.1.num_batches_tracked'] = torch.tensor(0)
    torch.save(official, HERE / 'dla46x_c_official_bf16.pth')

    paddle = {}
    names = {}
    for i, (k, v) in enumerate(sd.items()):
        pk = k.replace('running_mean', '_mean').replace('running_var', '_variance')
        paddle[pk] = v.numpy().astype(np.float32)
        names[pk] = 'param_%d' % i
    paddle['StructuredToParameterName@@'] = names
    with open(HERE / 'dla46x_c_paddle.pdparams', 'wb') as f:
        pickle.dump(paddle, f, protocol=2)

    # --- dla46_c: legacy f16, safetensors f16 ---------------------------------
    model, x, logits = seeded('dla46_c', 4646, torch.float16)
    sd = float_state(model)
    np.save(HERE / 'dla46_c_input.npy', x.numpy().astype('<f4'))
    np.save(HERE / 'dla46_c_logits.npy', logits.numpy().astype('<f4'))
    manifest['dla46_c'] = {'checksum': checksum(sd), 'tensors': len(sd), 'num_classes': 10}

    half = collections.OrderedDict((k, v.half()) for k, v in model.state_dict().items()
                                   if v.is_floating_point())
    torch.save({'model': half}, HERE / 'dla46_c_legacy_f16.pth',
               _use_new_zipfile_serialization=False)
    # What a PyTorch user writes: safetensors.torch.save_file(model.state_dict(), path),
    # in float16 to keep the fixture small (half() leaves the int64 counters alone).
    save_file(copy.deepcopy(model).half().state_dict(), HERE / 'dla46_c_state_dict_f16.safetensors')

    # --- tiny.safetensors: one tensor per float dtype with exact values -------
    vals = np.array([1.0, -2.5, 0.15625, 65504.0, 3.0e-5, 0.0], '<f4').reshape(2, 3)
    write_safetensors(HERE / 'tiny.safetensors', {
        'a.f32': ('F32', vals.astype('<f4')),
        'b.f16': ('F16', vals.astype('<f2')),
        'c.bf16': ('BF16', bf16_bits(torch.from_numpy(vals).to(torch.bfloat16).float().numpy())),
    }, {'note': 'tiny'})
    manifest['tiny'] = {
        'a.f32': vals.ravel().tolist(),
        'b.f16': vals.astype('<f2').astype('<f4').ravel().tolist(),
        'c.bf16': torch.from_numpy(vals).to(torch.bfloat16).float().numpy().ravel().tolist(),
    }

    # --- tiny state dicts as save_file writes them: F64 (values that float32
    # cannot hold, so that the reader's rounding shows) and BF16, I64 counters --
    g = torch.Generator().manual_seed(13)
    net = torch.nn.Sequential(collections.OrderedDict([
        ('conv', torch.nn.Conv2d(3, 4, 1, bias=False)), ('bn', torch.nn.BatchNorm2d(4)),
        ('fc', torch.nn.Linear(4, 3))]))
    net.train()
    for _ in range(3):
        net.bn(torch.randn((2, 4, 3, 3), generator=g))  # counters become 3
    net.double()
    with torch.no_grad():
        for v in net.state_dict().values():
            if v.is_floating_point():
                v.add_(1e-3 * torch.randn(v.shape, dtype=torch.float64, generator=g)).abs_()
    manifest['tiny_state_dict'] = {}
    for tag, dtype in (('f64', torch.float64), ('bf16', torch.bfloat16)):
        sd = copy.deepcopy(net).to(dtype).state_dict()
        save_file(sd, HERE / ('tiny_state_dict_%s.safetensors' % tag))
        floats = {k: v for k, v in sd.items() if v.is_floating_point()}
        if dtype == torch.float64:
            # Most values must round on the way to float32.
            assert sum(int((v != v.float().double()).sum()) for v in floats.values()) > 40
            # The same state dict from torch.save and as PaddlePaddle's numpy arrays.
            torch.save(sd, HERE / 'tiny_state_dict_f64.pth')
            with open(HERE / 'tiny_state_dict_f64.pdparams', 'wb') as f:
                pickle.dump({k: v.numpy() for k, v in sd.items()}, f, protocol=2)
        # The values a loader must return: PyTorch's conversion to float32.
        manifest['tiny_state_dict'][tag] = {
            k: {'shape': list(v.shape), 'values': v.float().double().flatten().tolist()}
            for k, v in floats.items()}

    # --- tiny checkpoints for exhaustive truncation / corruption tests --------
    g = torch.Generator().manual_seed(11)
    base = torch.randn((3, 4), generator=g)
    tiny = collections.OrderedDict([
        ('module.conv.weight', torch.randn((4, 3, 1, 1), generator=g)),
        ('module.bn.running_mean', torch.randn((4,), generator=g)),
        ('module.bn.num_batches_tracked', torch.tensor(5)),
        ('module.t.weight', base.t()),  # non-contiguous: strides (1, 4)
        ('module.h.bias', torch.randn((5,), generator=g).half()),
        ('module.s.weight', base[1:, 2:]),  # view at a storage offset
    ])
    torch.save({'state_dict': tiny, 'epoch': 3}, HERE / 'tiny_zip.pth')
    torch.save({'state_dict': tiny}, HERE / 'tiny_legacy.pth', _use_new_zipfile_serialization=False)
    pd = {'conv.weight': tiny['module.conv.weight'].numpy(), 'bn._mean': tiny['module.bn.running_mean'].numpy(),
          'h.bias': tiny['module.h.bias'].float().numpy(), 'StructuredToParameterName@@': {'conv.weight': 'conv2d_0.w_0'}}
    for proto in (2, 4):
        with open(HERE / ('tiny_paddle%d.pdparams' % proto), 'wb') as f:
            pickle.dump(pd, f, protocol=proto)
    manifest['tiny_torch'] = {
        k.replace('module.', ''): {'shape': list(v.shape), 'values': v.float().contiguous().flatten().tolist()}
        for k, v in tiny.items() if v.is_floating_point()}

    class Evil:
        def __reduce__(self):
            import os
            return (os.system, ('echo this must never run',))
    with open(HERE / 'evil.pdparams', 'wb') as f:
        pickle.dump({'w': Evil()}, f, protocol=2)

    with open(HERE / 'manifest.json', 'w') as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
