// Lanczos-3 upscaling as two separable resampling matrices (PIL's convention: pixel centres at i + 0.5,
// taps normalised to sum 1, edges truncated). sharp cannot provide it: libvips enlarges every kernel
// other than nearest / linear with its bicubic interpolator (cubic, mitchell and lanczos3 upscale identically).
import { tensor, tidy, type Tensor } from '../tensor/index.js';

function lanczos(x: number, a = 3): number {
  if (x === 0) return 1;
  if (x <= -a || x >= a) return 0;
  const p = Math.PI * x;
  return (a * Math.sin(p) * Math.sin(p / a)) / (p * p);
}

/** [out, in] resampling matrix for one axis (upscaling or downscaling; downscaling widens the kernel). */
export function lanczosMatrix(inSize: number, outSize: number, a = 3): Float64Array {
  const scale = inSize / outSize;
  const fs = Math.max(scale, 1);
  const support = a * fs;
  const m = new Float64Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(Math.floor(center - support + 0.5), 0);
    const hi = Math.min(Math.floor(center + support + 0.5), inSize);
    let s = 0;
    for (let k = lo; k < hi; k++) s += lanczos((k - center + 0.5) / fs, a);
    for (let k = lo; k < hi; k++) m[i * inSize + k] = lanczos((k - center + 0.5) / fs, a) / s;
  }
  return m;
}

/** img [3, h, w] → [3, H, W] (float, not clamped): rows then columns, in float64. */
export function lanczosResize(img: Tensor, H: number, W: number, a = 3): Tensor {
  const [, h, w] = img.shape;
  return tidy(() => {
    const mh = tensor(lanczosMatrix(h, H, a), { shape: [H, h] });
    const mw = tensor(lanczosMatrix(w, W, a), { shape: [W, w] });
    return mh.matmul(img.to('float64')).matmul(mw.transpose(0, 1)).to('float32');
  });
}
