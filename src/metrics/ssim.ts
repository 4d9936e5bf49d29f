// Structural similarity (Wang et al. 2004) with the usual constants: 11-tap Gaussian window,
// sigma 1.5, K1 0.01, K2 0.03, population (not sample) covariances, averaged over the "valid"
// region and channels — the values of skimage (gaussian_weights=True, use_sample_covariance=False),
// pytorch-msssim and torchmetrics. The Gaussian filter is a separable depthwise libtorch conv2d.
import { Tensor } from '../tensor/tensor.js';
import { tensor, cat } from '../tensor/creation.js';
import { conv2d } from '../tensor/functional.js';
import { tidy } from '../tensor/scope.js';
import { dataRangeOf, pairAs4d, reduce, type MetricOptions } from './common.js';

export interface SsimOptions extends MetricOptions {
  winSize?: number;
  sigma?: number;
  K1?: number;
  K2?: number;
  /** Precision of the Gaussian filtering (default 'float32': libtorch's float64 depthwise conv is
   *  ~1000× slower). Inputs are centred per image and channel first, so float32 loses little
   *  (|ΔSSIM| ~1e-7 in the tests); the final formula always runs in float64. */
  filterDtype?: 'float32' | 'float64';
}

/** Normalized 1-D Gaussian taps exp(−x² / 2σ²), x = −(n−1)/2 … (n−1)/2. */
export function gaussianWindow(size: number, sigma: number): Float64Array {
  const g = new Float64Array(size);
  const c = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) { g[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma)); s += g[i]; }
  for (let i = 0; i < size; i++) g[i] /= s;
  return g;
}

/** Per-image SSIM of float64 [N, C, H, W] tensors. */
function perImageSsim(x: Tensor, y: Tensor, o: SsimOptions): number[] {
  const win = o.winSize ?? 11, sigma = o.sigma ?? 1.5;
  const K1 = o.K1 ?? 0.01, K2 = o.K2 ?? 0.03;
  const R = dataRangeOf('ssim', o);
  if (!Number.isInteger(win) || win < 1 || win % 2 === 0) throw new RangeError(`ssim: winSize must be odd and positive, got ${win}`);
  const [, C, H, W] = x.shape;
  if (H < win || W < win) throw new RangeError(`ssim: images of ${H}x${W} are smaller than the ${win}x${win} window`);
  const C1 = (K1 * R) ** 2, C2 = (K2 * R) ** 2;
  const fd = o.filterDtype ?? 'float32';
  return tidy(() => {
    const g = gaussianWindow(win, sigma);
    const n = 5 * C;
    // one depthwise filter per channel of [x, y, x², y², xy]; contiguous weights (an expanded,
    // stride-0 weight sends libtorch down a much slower path)
    const gh = tensor(g, { shape: [1, 1, 1, win] }).to(fd).expand(n, 1, 1, win).contiguous();
    const gv = tensor(g, { shape: [1, 1, win, 1] }).to(fd).expand(n, 1, win, 1).contiguous();
    // (co)variances are shift-invariant: filter the centred images, add the means back to μ
    const mxc = x.mean([2, 3], true), myc = y.mean([2, 3], true);
    const xc = x.sub(mxc), yc = y.sub(myc);
    const stackIn = cat([xc, yc, xc.square(), yc.square(), xc.mul(yc)], 1).to(fd);
    const f = conv2d(conv2d(stackIn, gh, null, { groups: n }), gv, null, { groups: n }).to('float64');
    const [ux, uy, exx, eyy, exy] = f.chunk(5, 1);
    const sxx = exx.sub(ux.square()), syy = eyy.sub(uy.square()), sxy = exy.sub(ux.mul(uy));
    const mx = ux.add(mxc), my = uy.add(myc);
    const mx2 = mx.square(), my2 = my.square(), mxy = mx.mul(my);
    const num = mxy.mul(2).add(C1).mul(sxy.mul(2).add(C2));
    const den = mx2.add(my2).add(C1).mul(sxx.add(syy).add(C2));
    const map = num.div(den).mean([1, 2, 3]);
    return Array.from(map.data() as Float64Array);
  });
}

export function ssim(a: Tensor, b: Tensor, o: SsimOptions & { reduction: 'none' }): number[];
export function ssim(a: Tensor, b: Tensor, o?: SsimOptions): number;
export function ssim(a: Tensor, b: Tensor, o: SsimOptions = {}): number | number[] {
  const [x, y] = pairAs4d('ssim', a, b);
  try { return reduce(perImageSsim(x, y, o), o); } finally { x.dispose(); y.dispose(); }
}
