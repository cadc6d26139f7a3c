"""save_file(tensors, path, metadata=None): writes the bytes that
safetensors.torch.save_file writes, for the fixtures in this directory.

The safetensors package cannot be installed here (it is not in Debian and PyPI
is unreachable), so this emulates its serializer, as read in the reference
implementation (huggingface/safetensors: safetensors/src/tensor.rs `prepare` and
`serialize_to_file`, bindings/python/src/lib.rs, py_src/safetensors/torch.py):

* save_file refuses non-contiguous tensors and tensors that share storage;
* tensors are laid out sorted by dtype, descending in the order of the Rust
  `Dtype` enum (so I64 counters come before F64, F32, BF16 and F16 weights),
  then by name, each one's raw little-endian bytes right after the previous;
* the header is compact JSON (serde_json: no spaces, non-ASCII unescaped):
  `__metadata__` first when given, then every tensor in data order as
  {"dtype", "shape", "data_offsets": [begin, end]}, padded with spaces to a
  multiple of 8 bytes and preceded by its length as a little-endian u64.

Only the layout is emulated: the reference keeps metadata in a hash map, so
with more than one metadata entry its key order is unspecified (here: the order
given).
"""
import json
import struct
import sys

import torch

# The Rust Dtype enum in declaration order; the layout sorts by it, descending.
DTYPE_ORDER = ['BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3',
               'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'I16', 'U16', 'F16', 'BF16',
               'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64']

# torch dtype -> safetensors name, as the Python binding maps them (the float8
# and unsigned types exist only in newer torch releases).
TORCH_NAMES = {
    torch.bool: 'BOOL', torch.uint8: 'U8', torch.int8: 'I8', torch.int16: 'I16',
    torch.int32: 'I32', torch.int64: 'I64', torch.float16: 'F16', torch.bfloat16: 'BF16',
    torch.float32: 'F32', torch.float64: 'F64', torch.complex64: 'C64',
}
for attr, name in (('uint16', 'U16'), ('uint32', 'U32'), ('uint64', 'U64'),
                   ('float8_e4m3fn', 'F8_E4M3'), ('float8_e4m3fnuz', 'F8_E4M3FNUZ'),
                   ('float8_e5m2', 'F8_E5M2'), ('float8_e5m2fnuz', 'F8_E5M2FNUZ'),
                   ('float8_e8m0fnu', 'F8_E8M0')):
    if hasattr(torch, attr):
        TORCH_NAMES[getattr(torch, attr)] = name

# Same-width integer types to reinterpret any tensor's elements as bytes.
_BITS_AS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def _raw(t):
    """The tensor's elements as little-endian bytes."""
    size = t.element_size()
    if t.dtype.is_complex:
        t = torch.view_as_real(t)
        size //= 2
    return t.view(_BITS_AS[size]).numpy().tobytes()


def serialize(tensors, metadata=None):
    if sys.byteorder != 'little':
        raise RuntimeError('this emulation writes native bytes and needs a little-endian host')
    seen = {}
    for name, t in tensors.items():
        if not isinstance(name, str) or not isinstance(t, torch.Tensor):
            raise ValueError('expected a dict of str to torch.Tensor')
        if not t.is_contiguous():
            raise ValueError('non contiguous tensor %r' % name)
        ptr = t.storage().data_ptr()
        if t.numel() > 0 and ptr in seen:
            raise RuntimeError('tensors %r and %r share memory' % (seen[ptr], name))
        seen[ptr] = name
    order = sorted(tensors, key=lambda n: (-DTYPE_ORDER.index(TORCH_NAMES[tensors[n].dtype]), n))
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    for name in order:
        t = tensors[name].detach().cpu()
        raw = _raw(t)
        header[name] = {'dtype': TORCH_NAMES[t.dtype], 'shape': list(t.shape),
                        'data_offsets': [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    js = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    js += b' ' * (-len(js) % 8)
    return struct.pack('<Q', len(js)) + js + b''.join(blobs)


def save_file(tensors, path, metadata=None):
    with open(path, 'wb') as f:
        f.write(serialize(tensors, metadata))
