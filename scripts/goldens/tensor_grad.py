"""Goldens for gradients: conv2d, group_norm, linear and scaled-dot-product attention.

For each op we store the inputs, an upstream gradient gy, and the gradients of sum(op(...) * gy)
with respect to every input and weight (float32, as the product computes them). Attention has no
fused op in torch 1.13, so its reference is the definition softmax(q kᵀ/√d + mask) v, run in float64.
Interpolate gradients are in tensor_interpolate.json.

Run: /usr/bin/python3 scripts/goldens/tensor_grad.py
"""
import math

import torch
import torch.nn.functional as F

from tensor_common import dump, enc

torch.manual_seed(2)
out = {}


def leaf(*shape, dtype=torch.float32):
    return torch.randn(*shape, dtype=dtype).requires_grad_(True)


def run(fn, inputs, gy=None):
    y = fn(*inputs)
    if gy is None:
        gy = torch.randn_like(y)
    (y * gy).sum().backward()
    return y, gy


# conv2d: stride 2, padding 1, groups 2, with bias.
x, w, b = leaf(2, 4, 6, 5), leaf(6, 2, 3, 3), leaf(6)
y, gy = run(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2), [x, w, b])
out['conv2d'] = {'x': enc(x), 'w': enc(w), 'b': enc(b), 'stride': 2, 'padding': 1, 'groups': 2, 'y': enc(y), 'gy': enc(gy),
                 'gx': enc(x.grad), 'gw': enc(w.grad), 'gb': enc(b.grad)}

# group_norm with affine parameters.
x, w, b = leaf(2, 6, 3, 3), leaf(6), leaf(6)
y, gy = run(lambda x, w, b: F.group_norm(x, 3, w, b, eps=1e-5), [x, w, b])
out['groupNorm'] = {'x': enc(x), 'w': enc(w), 'b': enc(b), 'groups': 3, 'y': enc(y), 'gy': enc(gy),
                    'gx': enc(x.grad), 'gw': enc(w.grad), 'gb': enc(b.grad)}

# linear on a 3-D input.
x, w, b = leaf(2, 3, 5), leaf(4, 5), leaf(4)
y, gy = run(lambda x, w, b: F.linear(x, w, b), [x, w, b])
out['linear'] = {'x': enc(x), 'w': enc(w), 'b': enc(b), 'y': enc(y), 'gy': enc(gy),
                 'gx': enc(x.grad), 'gw': enc(w.grad), 'gb': enc(b.grad)}


def sdpa_ref(q, k, v, mask=None, causal=False):
    q64, k64, v64 = q.double(), k.double(), v.double()
    logits = q64 @ k64.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        logits = logits.masked_fill(torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).triu(1), float('-inf'))
    if mask is not None:
        logits = logits + mask.double()
    return torch.softmax(logits, -1) @ v64


for name, causal in [('sdpaMask', False), ('sdpaCausal', True)]:
    q, k, v = leaf(2, 2, 4, 8), leaf(2, 2, 4, 8), leaf(2, 2, 4, 6)
    mask = None if causal else torch.randn(4, 4)
    y = sdpa_ref(q, k, v, mask, causal)
    gy = torch.randn(y.shape)  # float32, exactly what the test feeds back
    (y * gy.double()).sum().backward()
    out[name] = {'q': enc(q), 'k': enc(k), 'v': enc(v), 'mask': enc(mask) if mask is not None else None, 'causal': causal,
                 'y': enc(y.float()), 'gy': enc(gy), 'gq': enc(q.grad), 'gk': enc(k.grad), 'gv': enc(v.grad)}

dump('tensor_grad.json', out)
