// Peak signal-to-noise ratio per image: 10 · log10(dataRange² / MSE) (Infinity for identical images).
import type { Tensor } from '../tensor/tensor.js';
import { dataRangeOf, pairAs4d, perImageMse, reduce, type MetricOptions } from './common.js';

export function psnrFromMse(mse: number, dataRange: number): number {
  return mse === 0 ? Infinity : 10 * Math.log10((dataRange * dataRange) / mse);
}

export function psnr(a: Tensor, b: Tensor, o: MetricOptions & { reduction: 'none' }): number[];
export function psnr(a: Tensor, b: Tensor, o?: MetricOptions): number;
export function psnr(a: Tensor, b: Tensor, o: MetricOptions = {}): number | number[] {
  const r = dataRangeOf('psnr', o);
  const [x, y] = pairAs4d('psnr', a, b);
  try { return reduce(perImageMse(x, y).map((m) => psnrFromMse(m, r)), o); } finally { x.dispose(); y.dispose(); }
}
