"""Goldens for F.interpolate: nearest / bilinear / bicubic, with and without antialias and
align_corners, by output size and by scale factor (up and down), plus input gradients.

Run: /usr/bin/python3 scripts/goldens/tensor_interpolate.py
"""
import torch
import torch.nn.functional as F

from tensor_common import dump, enc

torch.manual_seed(0)
x = torch.randn(1, 2, 4, 5)
targets = [('size', [7, 8]), ('size', [3, 3]), ('scale', 1.5), ('scale', 0.6)]

cases = []
for mode in ['nearest', 'bilinear', 'bicubic']:
    aas = [False] if mode == 'nearest' else [False, True]
    acs = [None] if mode == 'nearest' else [False, True]
    for aa in aas:
        for ac in acs:
            for kind, v in targets:
                kw = {'size': v} if kind == 'size' else {'scale_factor': v}
                y = F.interpolate(x, mode=mode, align_corners=ac, antialias=aa, **kw)
                cases.append({'mode': mode, 'antialias': aa, 'alignCorners': ac, kind: v, 'y': enc(y)})

# Gradients w.r.t. the input for an upstream gradient gy: d/dx sum(interpolate(x) * gy).
grads = []
for mode in ['bilinear', 'bicubic']:
    for aa, ac, size in [(False, False, [7, 8]), (False, True, [7, 8]), (True, False, [3, 3])]:
        xr = x.clone().requires_grad_(True)
        y = F.interpolate(xr, size=size, mode=mode, align_corners=ac, antialias=aa)
        gy = torch.randn_like(y)
        (y * gy).sum().backward()
        grads.append({'mode': mode, 'antialias': aa, 'alignCorners': ac, 'size': size, 'gy': enc(gy), 'gx': enc(xr.grad)})

dump('tensor_interpolate.json', {'x': enc(x), 'cases': cases, 'grads': grads})
