"""Shared helpers for the tensor_*.py golden scripts: encode tensors as {shape, dtype, data} JSON."""
import json
import os

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def enc(t):
    """A tensor as {shape, dtype, data}; floats keep their exact float32/float64 values (Python repr round-trips)."""
    t = t.detach().cpu()
    dtype = str(t.dtype).replace('torch.', '')
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return {'shape': list(t.shape), 'dtype': dtype, 'data': t.flatten().tolist()}


def dump(name, obj):
    path = os.path.join(ROOT, 'tests', 'goldens', name)
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
    print(f'wrote {path} ({os.path.getsize(path)} bytes)')
