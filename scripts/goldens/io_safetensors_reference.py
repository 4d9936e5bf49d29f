"""Writes tests/fixtures/io/reference.safetensors by hand, following the safetensors format spec (the
python `safetensors` package is not installed here): u64-LE header length, JSON header, raw
little-endian bytes. Keys are deliberately not in the writer library's order, and the data is laid
out in yet another order, to check that the reader relies only on data_offsets. The expected values
go to reference_expected.json (floats exact; int64 as strings; f16/bf16 as float values)."""
import json
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'fixtures', 'io')
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1)

tensors = {
    'z.f32': torch.randn(2, 3),
    'a.f16': torch.randn(4).half(),
    'm.bf16': torch.randn(2, 2).bfloat16(),
    'f64': torch.randn(3, dtype=torch.float64),
    'i64': torch.tensor([1, -2, 2 ** 50 + 1, -(2 ** 63)]),
    'i32': torch.tensor([[7, -8], [2 ** 31 - 1, -(2 ** 31)]], dtype=torch.int32),
    'i16': torch.tensor([-32768, 32767, 5], dtype=torch.int16),
    'i8': torch.tensor([-1, 1], dtype=torch.int8),
    'u8': torch.tensor([0, 128, 255], dtype=torch.uint8),
    'bool': torch.tensor([[True, False], [False, True]]),
    'scalar': torch.tensor(3.25),
    'empty': torch.zeros(2, 0),
}
TAG = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.float64: 'F64', torch.int64: 'I64',
       torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL'}


def raw(t):
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.contiguous().numpy().tobytes()  # numpy on x86: little-endian


header, blobs, off = {}, [], 0
for k in sorted(tensors, reverse=True):  # data in reverse-name order
    b = raw(tensors[k])
    header[k] = {'dtype': TAG[tensors[k].dtype], 'shape': list(tensors[k].shape), 'data_offsets': [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
items = list(header.items())
items = items[1::2] + items[0::2]  # header entries in a third order
doc = {'__metadata__': {'format': 'pt', 'note': 'hand-written reference'}}
doc.update(items)
hj = json.dumps(doc).encode()
hj += b' ' * ((8 - len(hj) % 8) % 8)
with open(os.path.join(OUT, 'reference.safetensors'), 'wb') as f:
    f.write(struct.pack('<Q', len(hj)))
    f.write(hj)
    for b in blobs:
        f.write(b)


def describe(t):
    if t.dtype == torch.int64:
        vals = [str(x) for x in t.flatten().tolist()]
    elif t.dtype in (torch.float16, torch.bfloat16):
        vals = t.float().flatten().tolist()
    else:
        vals = t.flatten().tolist()
    return {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'values': vals}


with open(os.path.join(OUT, 'reference_expected.json'), 'w') as f:
    json.dump({'metadata': doc['__metadata__'], 'tensors': {k: describe(v) for k, v in tensors.items()}}, f, indent=1)
print('wrote reference.safetensors', 8 + len(hj) + off, 'bytes')
