"""Goldens for src/eval/metrics/swd.ts: the sliced Wasserstein distance of Karras et al. 2018 (ProGAN's
metrics/sliced_wasserstein.py) written directly in float64 numpy. Not an import of that code (it needs scipy,
absent here): the 5x5 binomial filter of cv2.pyrDown / pyrUp is applied by explicit loops over a mirror
(reflect-101, numpy 'reflect') padded image, as scipy.ndimage.convolve(mode='mirror') does.

Cases:
  core:     fixed raw descriptors A, B and fixed unit directions -> normalised descriptors (first 8 rows) and
            SWD (not scaled)
  pyramid:  one image -> Laplacian pyramid levels, and the 7x7 patch descriptors at fixed positions
  seeded:   two small image sets (2 images each) end to end (SwdSet + swd): patch positions from torch.Generator(seed * 2**20 + i)
            randint (y then x, per level), directions from torch.Generator(seed) randn, level by level, repeat by
            repeat (our Generator is the same stream as torch.Generator)
Writes tests/goldens/eval_swd.json."""
import numpy as np
import torch

from tensor_common import dump, enc

G1 = np.array([1, 4, 6, 4, 1], dtype=np.float64)
K = np.outer(G1, G1) / 256.0


def blur(img, gain):
    """[C, H, W] -> same size, 5x5 binomial x gain with mirror borders (explicit window loops)."""
    C, H, W = img.shape
    p = np.pad(img, ((0, 0), (2, 2), (2, 2)), mode='reflect')
    out = np.zeros_like(img, dtype=np.float64)
    for u in range(5):
        for v in range(5):
            out += gain * K[u, v] * p[:, u:u + H, v:v + W]
    return out


def pyr_down(img):
    return blur(img, 1.0)[:, ::2, ::2]


def pyr_up(img):
    C, H, W = img.shape
    z = np.zeros((C, 2 * H, 2 * W))
    z[:, ::2, ::2] = img
    return blur(z, 4.0)


def laplacian(img, levels):
    pyr = [img.astype(np.float64)]
    for _ in range(1, levels):
        pyr.append(pyr_down(pyr[-1]))
        pyr[-2] = pyr[-2] - pyr_up(pyr[-1])
    return pyr


def patches(level, ys, xs, size=7):
    r = size // 2
    return np.stack([level[:, y - r:y + r + 1, x - r:x + r + 1].reshape(-1) for y, x in zip(ys, xs)])


def normalize(d, channels=3):
    v = d.reshape(d.shape[0], channels, -1)
    v = (v - v.mean(axis=(0, 2), keepdims=True)) / v.std(axis=(0, 2), keepdims=True)
    return v.reshape(d.shape[0], -1)


def sliced(a, b, dirs):
    res = []
    for d in dirs:
        pa, pb = np.sort(a @ d, axis=0), np.sort(b @ d, axis=0)
        res.append(np.mean(np.abs(pa - pb)))
    return float(np.mean(res))


def unit_dirs(dim, k, g):
    d = torch.randn((dim, k), generator=g).double().numpy()
    return d / np.sqrt(np.sum(d ** 2, axis=0, keepdims=True))


def enc8(x):
    """An expected float32 output with 8 significant digits (enough for float32, half the JSON)."""
    e = enc(torch.from_numpy(np.asarray(x, dtype=np.float32)))
    e['data'] = [float('%.8g' % v) for v in e['data']]
    return e


def q(x):
    """Inputs on a 1/64 grid: exact in float32 and short in JSON."""
    return (np.round(np.asarray(x) * 64) / 64).astype(np.float32)


rs = np.random.RandomState(23)
out = {}

# core: correlated descriptors with different per-channel scales; B is A blurred-ish plus noise
N, D = 32, 147
A = rs.normal(0, 1, size=(N, D)) * np.repeat([0.5, 1.0, 2.0], 49)[None] + np.repeat([0.1, -0.3, 0.7], 49)[None]
B = 0.8 * A + rs.normal(0, 0.4, size=(N, D))
A, B = q(A), q(B)
dirs = [rs.normal(size=(D, 12)) for _ in range(2)]
# unit columns, stored (and used) at 8 significant digits
dirs = [np.vectorize(lambda v: float('%.8g' % v))(d / np.sqrt(np.sum(d ** 2, axis=0, keepdims=True))).astype(np.float32) for d in dirs]
na, nb = normalize(A.astype(np.float64)), normalize(B.astype(np.float64))
out['core'] = {
    'a': enc(torch.from_numpy(A)), 'b': enc(torch.from_numpy(B)), 'dirs': [enc8(d) for d in dirs],
    'norm_a': enc8(na[:8]),
    'swd': sliced(na, nb, [d.astype(np.float64) for d in dirs]),
}

# pyramid: a smooth + noisy 3x32x48 image, 3 levels, patches at fixed positions on each level
yy, xx = np.meshgrid(np.linspace(0, 1, 32), np.linspace(0, 1, 48), indexing='ij')
img = np.stack([np.sin(6 * xx) * yy, np.cos(5 * yy), xx * yy]) + rs.normal(0, 0.1, size=(3, 32, 48))
img = q(img)
pyr = laplacian(img, 3)
pos = []
for lv in pyr:
    h, w = lv.shape[1:]
    pos.append({'ys': rs.randint(3, h - 3, size=5).tolist(), 'xs': rs.randint(3, w - 3, size=5).tolist()})
out['pyramid'] = {
    'image': enc(torch.from_numpy(img)),
    'levels': [enc8(lv) for lv in pyr],
    'positions': pos,
    'patches': [enc8(patches(lv, p['ys'], p['xs'])) for lv, p in zip(pyr, pos)],
}

# seeded: end to end, options {seed 3, patchesPerImage 16, directions 32, repeats 2}, 32x32 images -> levels 32, 16
seed, P, DIRS, REPS = 3, 16, 32, 2
setA = q(rs.uniform(-1, 1, size=(2, 3, 32, 32)))
setB = q(np.clip(setA + rs.normal(0, 0.3, size=setA.shape), -1, 1))


def descriptors(images):
    per_level = [[], []]
    for i, im in enumerate(images):
        g = torch.Generator().manual_seed(seed * 2 ** 20 + i)
        for l, lv in enumerate(laplacian(im, 2)):
            h, w = lv.shape[1:]
            ys = torch.randint(3, h - 3, (P,), generator=g).tolist()
            xs = torch.randint(3, w - 3, (P,), generator=g).tolist()
            per_level[l].append(patches(lv, ys, xs))
    return [np.concatenate(x) for x in per_level]


dA, dB = descriptors(setA), descriptors(setB)
g = torch.Generator().manual_seed(seed)
levels = []
for l in range(2):
    ds = [unit_dirs(D, DIRS, g) for _ in range(REPS)]
    levels.append(sliced(normalize(dA[l]), normalize(dB[l]), ds) * 1e3)
out['seeded'] = {
    'options': {'seed': seed, 'patchesPerImage': P, 'directions': DIRS, 'repeats': REPS},
    'a': enc(torch.from_numpy(setA)), 'b': enc(torch.from_numpy(setB)),
    'levels': levels, 'res': [32, 16], 'swd': float(np.mean(levels)),
}

dump('eval_swd.json', out)
