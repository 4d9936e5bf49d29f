"""Goldens for src/eval/metrics: MSE, PSNR and SSIM computed by a direct float64 numpy implementation
of the standard formulas (Wang et al. 2004; skimage's structural_similarity with gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, K1=0.01, K2=0.03, averaged over the region the 11x11 window
fully covers and over channels). scikit-image is not installed here, so the window sums are explicit
loops, independent of any convolution routine. Writes tests/goldens/eval_metrics.json."""
import numpy as np
import torch

from tensor_common import dump, enc


def gauss(n=11, sigma=1.5):
    x = np.arange(n) - (n - 1) / 2
    g = np.exp(-x ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def filt(img, w2):
    """Valid-region weighted window sums: out[i, j] = sum_{u,v} w2[u, v] img[i+u, j+v]."""
    n = w2.shape[0]
    H, W = img.shape
    out = np.zeros((H - n + 1, W - n + 1))
    for u in range(n):
        for v in range(n):
            out += w2[u, v] * img[u:u + H - n + 1, v:v + W - n + 1]
    return out


def ssim_channel(x, y, R):
    g = gauss()
    w2 = np.outer(g, g)
    C1, C2 = (0.01 * R) ** 2, (0.03 * R) ** 2
    mx, my = filt(x, w2), filt(y, w2)
    sxx = filt(x * x, w2) - mx ** 2
    syy = filt(y * y, w2) - my ** 2
    sxy = filt(x * y, w2) - mx * my
    s = ((2 * mx * my + C1) * (2 * sxy + C2)) / ((mx ** 2 + my ** 2 + C1) * (sxx + syy + C2))
    return s.mean()


def ssim_image(a, b, R):  # a, b: [C, H, W]
    return float(np.mean([ssim_channel(a[c], b[c], R) for c in range(a.shape[0])]))


def mse_image(a, b):
    return float(np.mean((a - b) ** 2))


def psnr_image(a, b, R):
    return float(10 * np.log10(R * R / mse_image(a, b)))


rs = np.random.RandomState(11)
cases = []


def add(name, a, b, R):
    a, b = a.astype(np.float32), b.astype(np.float32)  # the stored inputs; metrics in float64 from them
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    cases.append({
        'name': name, 'data_range': R,
        'a': enc(torch.from_numpy(a.astype(np.float32))), 'b': enc(torch.from_numpy(b.astype(np.float32))),
        'mse': [mse_image(a64[i], b64[i]) for i in range(a.shape[0])],
        'psnr': [psnr_image(a64[i], b64[i], R) for i in range(a.shape[0])],
        'ssim': [ssim_image(a64[i], b64[i], R) for i in range(a.shape[0])],
    })


# 1) [-1, 1] noise image vs a noisier copy, batch of 2, RGB 24x24
a = rs.uniform(-1, 1, size=(2, 3, 24, 24))
b = np.clip(a + rs.normal(0, 0.2, size=a.shape), -1, 1)
add('noise_pm1', a, b, 2.0)

# 2) smooth gradient vs a shifted, noisy version, [-1, 1], 3x32x40
yy, xx = np.meshgrid(np.linspace(0, 1, 32), np.linspace(0, 1, 40), indexing='ij')
grad = np.stack([xx, yy, (xx + yy) / 2]) * 2 - 1
grad2 = np.clip(0.9 * grad + 0.05 + rs.normal(0, 0.05, size=grad.shape), -1, 1)
add('gradient_pm1', grad[None], grad2[None], 2.0)

# 3) grayscale in [0, 1], data range 1, 1x20x17
c = rs.uniform(0, 1, size=(1, 1, 20, 17))
d = np.clip(c * 0.7 + 0.1, 0, 1)
add('gray_01', c, d, 1.0)

dump('eval_metrics.json', {'cases': cases})
