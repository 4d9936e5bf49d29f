"""Goldens for src/data: pixel value conversions, PSU pairs (F.interpolate), seeded crop/flip draws,
and small PNG fixtures written by PIL (an independent encoder) with their expected float pixels.
Run with /usr/bin/python3 (torch 1.13, numpy, PIL). Writes tests/goldens/data_transforms.json and
tests/fixtures/data/*.png."""
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from tensor_common import ROOT, dump, enc

out = {}

# uint8 -> float as ToTensor + Normalize(0.5, 0.5)
levels = torch.arange(256, dtype=torch.uint8)
out['u8_to_float'] = enc(levels.float().div(255).sub(0.5).div(0.5))

# float -> uint8 as torchvision.utils.save_image after mapping [-1, 1] -> [0, 1]
g = torch.Generator().manual_seed(7)
x = torch.rand(300, generator=g) * 2.6 - 1.3
x = torch.cat([x, torch.tensor([-1.0, 1.0, 0.0, -1.5, 1.5, 2 / 255 - 1, 1 - 1 / 255])])
out['float_in'] = enc(x)
out['float_to_u8'] = enc(x.add(1).div(2).mul(255).add(0.5).clamp(0, 255).to(torch.uint8))

# PSU pairs: lowres = bilinear (no antialias) 24x32 -> 6x8, up bilinear / bicubic back; antialiased lowres too
hr = torch.rand(1, 3, 24, 32, generator=g) * 2 - 1
out['hr'] = enc(hr)
lr = F.interpolate(hr, size=(6, 8), mode='bilinear', align_corners=False, antialias=False)
out['lowres'] = enc(lr)
out['psu_bilinear'] = enc(F.interpolate(lr, size=(24, 32), mode='bilinear', align_corners=False))
out['psu_bicubic'] = enc(F.interpolate(lr, size=(24, 32), mode='bicubic', align_corners=False))
out['lowres_aa'] = enc(F.interpolate(hr, size=(6, 8), mode='bilinear', align_corners=False, antialias=True))
out['lowres_bicubic_aa'] = enc(F.interpolate(hr, size=(6, 8), mode='bicubic', align_corners=False, antialias=True))

# torchvision RandomCrop.get_params / RandomHorizontalFlip draws, from a seeded generator
draws = []
for seed in (0, 1, 123):
    gg = torch.Generator().manual_seed(seed)
    top = torch.randint(0, 40 - 32 + 1, size=(1,), generator=gg).item()
    left = torch.randint(0, 50 - 24 + 1, size=(1,), generator=gg).item()
    flip = bool(torch.rand(1, generator=gg).item() < 0.5)
    draws.append({'seed': seed, 'top': top, 'left': left, 'flip': flip})
out['crop_draws'] = {'height': 40, 'width': 50, 'crop': [32, 24], 'draws': draws}

# center crop offsets as torchvision: int(round((H - h) / 2.0)) (Python round: half to even)
out['center_crop'] = [{'H': H, 'W': W, 'h': h, 'w': w, 'top': int(round((H - h) / 2.0)), 'left': int(round((W - w) / 2.0))}
                      for (H, W, h, w) in [(10, 10, 5, 5), (11, 13, 4, 4), (9, 7, 4, 6), (64, 48, 32, 32), (7, 7, 6, 2)]]

# PNG fixtures written by PIL: RGB, RGBA (alpha dropped), L (grayscale expanded); expected floats
fx = os.path.join(ROOT, 'tests', 'fixtures', 'data')
os.makedirs(fx, exist_ok=True)
rs = np.random.RandomState(3)
pngs = {}
for mode, ch in (('RGB', 3), ('RGBA', 4), ('L', 1)):
    arr = rs.randint(0, 256, size=(9, 13, ch) if ch > 1 else (9, 13), dtype=np.uint8)
    path = os.path.join(fx, f'pil_{mode.lower()}.png')
    Image.fromarray(arr, mode).save(path)
    rgb = arr[..., :3] if ch > 1 else np.repeat(arr[..., None], 3, axis=2)
    chw = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float().div(255).sub(0.5).div(0.5)
    pngs[mode] = {'file': f'pil_{mode.lower()}.png', 'expected': enc(chw)}
out['pil_pngs'] = pngs

dump('data_transforms.json', out)
