"""Goldens for src/flow, computed with python3-torch 1.13 from the formulas of the reference
(CompVis/fm-boosting: flow.py training_losses / compute_xt / compute_ut, diffusion.py ForwardDiffusion,
trainer.py upsample_latent), re-written here with explicit torch.Generators instead of the global RNG
so that the TypeScript side can draw the same streams. Writes tests/goldens/flow_reference.json."""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_grad_enabled(False)


def t2j(x):
    return {'shape': list(x.shape), 'data': x.flatten().tolist()}


out = {}

# torch.linspace as torchdiffeq's callers build their float32 time grids.
out['linspace_f32'] = {str(n): torch.linspace(0, 1, n, dtype=torch.float32).tolist() for n in (2, 3, 7, 40, 50, 101)}

# Inputs (B = 3, C = 2, 4×4) and a fixed toy network on cat([x_t, context], 1).
g = torch.Generator().manual_seed(0)
B, C = 3, 2
x0 = torch.randn(B, C, 4, 4, generator=g)
x1 = torch.randn(B, C, 4, 4, generator=g)
ctx = torch.randn(B, C, 4, 4, generator=g)
out['inputs'] = {'x0': t2j(x0), 'x1': t2j(x1), 'context': t2j(ctx)}


def net(inp, t):
    tt = t.view(-1, 1, 1, 1)
    return 0.5 * inp[:, :C] - 0.25 * inp[:, C:] * tt + 0.1


def loss_case(path, sigma_min, seed, start_from_noise):
    gen = torch.Generator().manual_seed(seed)
    src = torch.randn(x1.shape, generator=gen) if start_from_noise else x0
    t = torch.rand(B, generator=gen, dtype=torch.float32)
    tt = t.view(-1, 1, 1, 1)
    if path == 'linear':
        a, s, da, ds = tt, 1 - tt, 1.0, -1.0
    else:
        a, s = torch.sin(tt * math.pi / 2), torch.cos(tt * math.pi / 2)
        da, ds = 0.5 * math.pi * torch.cos(tt * math.pi / 2), -0.5 * math.pi * torch.sin(tt * math.pi / 2)
    xt = a * x1 + s * src
    if sigma_min > 0:
        xt = xt + sigma_min * torch.randn(xt.shape, generator=gen)
    ut = da * x1 + ds * src
    vt = net(torch.cat([xt, ctx], 1), t)
    return {'path': path, 'sigma_min': sigma_min, 'seed': seed, 'start_from_noise': start_from_noise,
            't': t.tolist(), 'xt': t2j(xt), 'ut': t2j(ut), 'loss': (vt - ut).square().mean().item()}


out['loss'] = [
    loss_case('linear', 0.0, 5, False),
    loss_case('gvp', 0.0, 6, False),
    loss_case('linear', 0.1, 7, False),
    loss_case('linear', 0.0, 8, True),
]

# Noise augmentation: the reference's schedule (float64 → float32 buffer) and two q_sample calls
# at step 400 drawing fresh noise from one stream.
ts = np.linspace(0, 1, 1000)
ab = (1 / (1 + np.exp(2 * np.log(np.tan(np.pi * ts / 2) + 1e-5)))).astype(np.float32)
ab = torch.from_numpy(ab)
gen = torch.Generator().manual_seed(3)
z = x1
q = []
for _ in range(2):
    noise = torch.randn(z.shape, generator=gen)
    q.append(t2j(torch.sqrt(ab[400]) * z + torch.sqrt(1 - ab[400]) * noise))
out['q_sample'] = {'step': 400, 'seed': 3, 'calls': q}

# noise_upsampling 3×3 → 6×6 (factor 2): nearest resize, keep every 2nd pixel, N(0, 1) elsewhere.
low = torch.randn(2, 3, 3, 3, generator=g)
gen = torch.Generator().manual_seed(4)
resized = F.interpolate(low, size=6, mode='nearest')
mask = torch.zeros_like(resized)
mask[..., ::2, ::2] = 1
nu = mask * resized + (1 - mask) * torch.randn(resized.shape, generator=gen)
out['noise_upsampling'] = {'seed': 4, 'low': t2j(low), 'out': t2j(nu)}

# PSU with a stand-in encoder (4×4 average pooling): bilinear resize 8 → 16 px, encode, × 0.18215.
img = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
for mode in ('bilinear', 'bicubic'):
    up = F.interpolate(img, size=16, mode=mode, align_corners=False)
    out['psu_' + mode] = t2j(F.avg_pool2d(up, 4) * 0.18215)
out['psu_image'] = t2j(img)

path = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'goldens', 'flow_reference.json')
with open(path, 'w') as f:
    json.dump(out, f)
print('wrote', path)
