"""Writes small torch.save fixtures into tests/fixtures/io/ plus torch_expected.json with every tensor's
dtype, shape, stride, storage offset and values, so the TypeScript loader can be checked exactly.
Run with /usr/bin/python3 (torch 1.13). Values: floats as python floats (exact for f16/bf16/f32),
int64 as strings (beyond 2^53), bool as bool."""
import collections
import io
import json
import os
import pathlib
import struct
import zipfile

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'fixtures', 'io')
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)


class HParams:  # stands in for Lightning's AttributeDict / user config classes
    def __init__(self):
        self.lr = 1e-4
        self.name = 'fm'


def describe(t):
    v = t.detach()
    if v.dtype == torch.int64:
        vals = [str(x) for x in v.flatten().tolist()]
    elif v.dtype in (torch.float16, torch.bfloat16):
        vals = v.float().flatten().tolist()
    else:
        vals = v.flatten().tolist()
    return {'dtype': str(v.dtype).replace('torch.', ''), 'shape': list(v.shape), 'stride': list(v.stride()),
            'storage_offset': v.storage_offset(), 'values': vals}


expected = {}

# 1. a plain state_dict (OrderedDict with _metadata), from real modules
net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.SiLU(), torch.nn.Conv2d(4, 2, 3), torch.nn.GroupNorm(1, 2))
sd = net.state_dict()
torch.save(sd, os.path.join(OUT, 'plain_state_dict.pt'))
expected['plain_state_dict.pt'] = {k: describe(v) for k, v in sd.items()}

# 2. a Lightning-style checkpoint
lin = torch.nn.Linear(2, 2)
ckpt = {
    'epoch': 3,
    'global_step': 120,
    'pytorch-lightning_version': '1.9.0',
    'state_dict': collections.OrderedDict([('model.weight', lin.weight.detach().clone()), ('model.bias', lin.bias.detach().clone()),
                                           ('ema.num_updates', torch.tensor(7, dtype=torch.int32))]),
    'hyper_parameters': {'cfg': HParams(), 'path': pathlib.PosixPath('/tmp/run'), 'np_scalar': np.float64(0.5),
                         'np_array': np.arange(3), 'betas': (0.9, 0.999), 'big': 2 ** 70, 'neg': -5, 'blob': b'\x00\xff'},
    'optimizer_states': [{'state': {0: {'step': 10, 'exp_avg': torch.ones(2, 2)}}, 'param_groups': [{'lr': 1e-4, 'params': [0, 1]}]}],
    'lr_schedulers': [],
    'callbacks': {'EMA': {'decay': 0.999}},
}
torch.save(ckpt, os.path.join(OUT, 'lightning.ckpt'))
expected['lightning.ckpt'] = {k: describe(v) for k, v in ckpt['state_dict'].items()}

# 3. dtypes, including a 0-d and an empty tensor
dt = {
    'f16': torch.randn(3, 2).half(),
    'bf16': torch.randn(5).bfloat16(),
    'f64': torch.randn(2, 2, dtype=torch.float64),
    'i64': torch.tensor([0, -1, 2 ** 40 + 3, -(2 ** 62), 2 ** 63 - 1]),
    'i32': torch.tensor([1, -2, 2 ** 31 - 1], dtype=torch.int32),
    'i16': torch.tensor([-300, 300], dtype=torch.int16),
    'i8': torch.tensor([-128, 127, 0], dtype=torch.int8),
    'u8': torch.tensor([0, 255, 17], dtype=torch.uint8),
    'bool': torch.tensor([True, False, True]),
    'scalar': torch.tensor(2.5),
    'empty': torch.zeros(0, 3),
}
torch.save(dt, os.path.join(OUT, 'dtypes.pt'))
expected['dtypes.pt'] = {k: describe(v) for k, v in dt.items()}

# 4. non-contiguous views sharing one storage, and nested dicts (dotted keys)
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
views = {
    'base': base,
    'transposed': base.t(),
    'slice': base[1:3, 2:5],
    'row': base[2],
    'strided': base[:, ::2],
    'nested': {'inner': {'w': torch.linspace(-1, 1, 5)}, 'also_base': base[0:2]},
}
torch.save(views, os.path.join(OUT, 'views.pt'))
expected['views.pt'] = {
    'base': describe(base), 'transposed': describe(base.t()), 'slice': describe(base[1:3, 2:5]), 'row': describe(base[2]),
    'strided': describe(base[:, ::2]), 'nested.inner.w': describe(views['nested']['inner']['w']),
    'nested.also_base': describe(base[0:2]),
}

# 5. a whole module pickled (torch.save(model)): parameters and persistent buffers, by state_dict key
class WithBuffers(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 3)
        self.norm = torch.nn.BatchNorm1d(3)
        self.register_buffer('scale', torch.tensor([0.5, 2.0]))
        self.register_buffer('scratch', torch.zeros(4), persistent=False)


mod = WithBuffers()
mod.norm.running_mean.add_(1.0)
torch.save(mod, os.path.join(OUT, 'module.pt'))
expected['module.pt'] = {k: describe(v) for k, v in mod.state_dict().items()}


def to_zip64(src_path, dst_path):
    """Rewrites a stored zip so its central directory uses zip64 fields and records, as writers do
    for archives over 4 GiB (sizes and offsets moved into zip64 extra fields)."""
    data = open(src_path, 'rb').read()
    with zipfile.ZipFile(src_path) as z:
        infos = z.infolist()
    cd_off = data.find(b'PK\x01\x02')
    body = data[:cd_off]
    cd = b''
    for i in infos:
        name = i.filename.encode()
        extra = struct.pack('<HHQQQ', 1, 24, i.file_size, i.compress_size, i.header_offset)
        cd += struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 45, 45, 0, 0, 0, 0, i.CRC, 0xffffffff, 0xffffffff,
                          len(name), len(extra), 0, 0, 0, 0, 0xffffffff) + name + extra
    eocd64_off = len(body) + len(cd)
    eocd64 = struct.pack('<IQHHIIQQQQ', 0x06064b50, 44, 45, 45, 0, 0, len(infos), len(infos), len(cd), len(body))
    loc = struct.pack('<IIQI', 0x07064b50, 0, eocd64_off, 1)
    eocd = struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 0xffff, 0xffff, 0xffffffff, 0xffffffff, 0)
    with open(dst_path, 'wb') as f:
        f.write(body + cd + eocd64 + loc + eocd)


to_zip64(os.path.join(OUT, 'views.pt'), os.path.join(OUT, 'zip64.pt'))
with zipfile.ZipFile(os.path.join(OUT, 'zip64.pt')) as z:  # python's reader accepts it...
    assert z.testzip() is None
assert torch.equal(torch.load(os.path.join(OUT, 'zip64.pt'))['slice'], views['slice'])  # ...and so does torch
expected['zip64.pt'] = expected['views.pt']

# 6. error cases: a legacy (non-zip) file, and a torch zip re-packed with deflate compression
torch.save({'w': torch.ones(2)}, os.path.join(OUT, 'legacy.pt'), _use_new_zipfile_serialization=False)
buf = io.BytesIO()
torch.save({'w': torch.ones(64)}, buf)
with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(os.path.join(OUT, 'compressed.pt'), 'w', zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename, src.read(info.filename))

with open(os.path.join(OUT, 'torch_expected.json'), 'w') as f:
    json.dump(expected, f, indent=1)
print('wrote', sorted(os.listdir(OUT)))
