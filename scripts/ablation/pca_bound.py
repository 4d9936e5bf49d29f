# Linear bound for a first stage's round trip: PCA of f×f×3 pixel patches (the best linear encoder/decoder
# pair with c latent channels per f×f block), fitted on train tiles, scored on the reported test tiles.
# Run: /usr/bin/python3 scripts/ablation/pca_bound.py   (needs data/photos from scripts/data/assemble.sh)
import glob, sys
import numpy as np
from PIL import Image

def load(paths):
    return [np.asarray(Image.open(p).convert('RGB'), dtype=np.float64) / 127.5 - 1 for p in paths]

def patches(imgs, f):
    out = []
    for x in imgs:
        H, W, _ = x.shape
        p = x[:H // f * f, :W // f * f].reshape(H // f, f, W // f, f, 3).transpose(0, 2, 1, 3, 4).reshape(-1, f * f * 3)
        out.append(p)
    return np.concatenate(out)

def psnr(a, b):  # images in [-1, 1], quantised to 8 bits as saved
    a8 = np.clip(np.round((a + 1) * 127.5), 0, 255); b8 = np.clip(np.round((b + 1) * 127.5), 0, 255)
    return 10 * np.log10(255 ** 2 / np.mean((a8 - b8) ** 2))

train = load(sorted(glob.glob('data/photos/train/*.png'))[::3])
test_paths = sorted(glob.glob('data/photos/test/*_r0c0.png'))
test = load(test_paths)
print(f'train tiles {len(train)}, test tiles {len(test)}')
for f in (2, 4, 8):
    P = patches(train, f)
    mu = P.mean(0)
    _, S, Vt = np.linalg.svd(P - mu, full_matrices=False)
    for c in (4, 8, 12, 16, 24):
        if c >= f * f * 3: continue
        B = Vt[:c]
        vals = []
        for x in test:
            H, W, _ = x.shape
            p = patches([x], f)
            r = (p - mu) @ B.T @ B + mu
            y = r.reshape(H // f, W // f, f, f, 3).transpose(0, 2, 1, 3, 4).reshape(H, W, 3)
            vals.append(psnr(y, x))
        print(f'f{f} c{c}: compression {f*f*3/c:.1f}x  PCA round trip {np.mean(vals):.2f} dB (min {np.min(vals):.2f})')
