"""Goldens for torch.nn.functional ops: conv1d/conv2d/conv_transpose2d, avg_pool2d, group_norm,
layer_norm, linear, silu, gelu, softmax, and scaled-dot-product attention (reference computed in
float64 from its definition, since torch 1.13 has no fused op).

Run: /usr/bin/python3 scripts/goldens/tensor_functional.py
"""
import math

import torch
import torch.nn.functional as F

from tensor_common import dump, enc

torch.manual_seed(1)
out = {}


def r(*shape):
    return torch.randn(*shape)


x = r(2, 4, 9); w = r(6, 2, 3); b = r(6)
out['conv1d'] = {'x': enc(x), 'w': enc(w), 'b': enc(b), 'stride': 2, 'padding': 1, 'groups': 2,
                 'y': enc(F.conv1d(x, w, b, stride=2, padding=1, groups=2))}

conv2d = []
for (xs, ws, stride, padding, dilation, groups, bias) in [
        ((2, 3, 6, 7), (4, 3, 3, 3), 1, 1, 1, 1, True),
        ((1, 3, 7, 6), (5, 3, 3, 2), 2, [1, 0], 1, 1, False),
        ((1, 4, 7, 7), (6, 2, 3, 3), 1, 0, 2, 2, True),
        ((1, 4, 5, 5), (4, 1, 3, 3), [2, 1], 1, 1, 4, True)]:  # depthwise
    x = r(*xs); w = r(*ws); b = r(ws[0]) if bias else None
    y = F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    conv2d.append({'x': enc(x), 'w': enc(w), 'b': enc(b) if bias else None, 'stride': stride, 'padding': padding,
                   'dilation': dilation, 'groups': groups, 'y': enc(y)})
out['conv2d'] = conv2d

convt = []
for (xs, ws, stride, padding, outpad, groups) in [
        ((1, 4, 3, 3), (4, 2, 3, 3), 2, 1, 1, 2),
        ((2, 3, 4, 3), (3, 5, 4, 4), 2, 1, 0, 1),
        ((1, 2, 3, 4), (2, 3, 3, 3), 1, 0, 0, 1)]:
    x = r(*xs); w = r(*ws); b = r(ws[1] * groups)
    y = F.conv_transpose2d(x, w, b, stride=stride, padding=padding, output_padding=outpad, groups=groups)
    convt.append({'x': enc(x), 'w': enc(w), 'b': enc(b), 'stride': stride, 'padding': padding, 'outputPadding': outpad,
                  'groups': groups, 'y': enc(y)})
out['convTranspose2d'] = convt

x = r(1, 2, 7, 6)
pools = []
for (k, s, p, ceil, cip) in [(2, None, 0, False, True), (3, 2, 1, False, True), (3, 2, 1, False, False), (2, 2, 0, True, True)]:
    y = F.avg_pool2d(x, k, stride=s, padding=p, ceil_mode=ceil, count_include_pad=cip)
    pools.append({'kernel': k, 'stride': s, 'padding': p, 'ceilMode': ceil, 'countIncludePad': cip, 'y': enc(y)})
out['avgPool2d'] = {'x': enc(x), 'cases': pools}

x = r(2, 6, 3, 4); gw = r(6); gb = r(6)
out['groupNorm'] = {'x': enc(x), 'w': enc(gw), 'b': enc(gb), 'groups': 3,
                    'y': enc(F.group_norm(x, 3, gw, gb, eps=1e-5)), 'yPlain': enc(F.group_norm(x, 2, eps=1e-5))}

x = r(2, 3, 5); lw = r(5); lb = r(5)
out['layerNorm'] = {'x': enc(x), 'w': enc(lw), 'b': enc(lb), 'y': enc(F.layer_norm(x, [5], lw, lb, eps=1e-5)),
                    'y2': enc(F.layer_norm(x, [3, 5], eps=1e-5))}

x = r(3, 5); w = r(4, 5); b = r(4)
out['linear'] = {'x': enc(x), 'w': enc(w), 'b': enc(b), 'y': enc(F.linear(x, w, b)), 'yNoBias': enc(F.linear(x, w))}

x = r(3, 7) * 3
out['activations'] = {'x': enc(x), 'silu': enc(F.silu(x)), 'gelu': enc(F.gelu(x)), 'geluTanh': enc(F.gelu(x, approximate='tanh')),
                      'softmaxLast': enc(F.softmax(x, -1)), 'softmax0': enc(F.softmax(x, 0))}


def sdpa_ref(q, k, v, mask=None, causal=False):
    """softmax(q kᵀ / √d + mask) v in float64; bool masks mark the positions that may be attended."""
    q, k, v = q.double(), k.double(), v.double()
    logits = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        L, S = q.shape[-2], k.shape[-2]
        logits = logits.masked_fill(torch.ones(L, S, dtype=torch.bool).triu(1), float('-inf'))
    if mask is not None:
        logits = logits.masked_fill(~mask, float('-inf')) if mask.dtype == torch.bool else logits + mask.double()
    return torch.softmax(logits, -1) @ v


q = r(2, 3, 4, 8); k = r(2, 3, 5, 8); v = r(2, 3, 5, 6)
bmask = torch.rand(4, 5) > 0.3
bmask[:, 0] = True  # every query keeps at least one key
fmask = r(4, 5)
q2 = r(1, 2, 5, 8); k2 = r(1, 2, 5, 8); v2 = r(1, 2, 5, 4)
out['sdpa'] = {'q': enc(q), 'k': enc(k), 'v': enc(v), 'boolMask': enc(bmask), 'floatMask': enc(fmask),
               'plain': enc(sdpa_ref(q, k, v)), 'withBoolMask': enc(sdpa_ref(q, k, v, bmask)),
               'withFloatMask': enc(sdpa_ref(q, k, v, fmask)),
               'q2': enc(q2), 'k2': enc(k2), 'v2': enc(v2), 'causal': enc(sdpa_ref(q2, k2, v2, causal=True))}

dump('tensor_functional.json', out)
