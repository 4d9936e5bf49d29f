// Shared input handling for the image quality metrics.
import { Tensor } from '../tensor/tensor.js';

export interface MetricOptions {
  /** max − min of the value range: 2 for images in [-1, 1] (our default), 1 for [0, 1], 255 for uint8 levels. */
  dataRange?: number;
  /** 'mean' (default): the mean of per-image values; 'none': one value per image. */
  reduction?: 'mean' | 'none';
}

/** Both inputs as float64 [N, C, H, W] (a [C, H, W] pair counts as one image). Caller disposes. */
export function pairAs4d(op: string, a: Tensor, b: Tensor): [Tensor, Tensor] {
  if (a.ndim !== b.ndim || a.shape.join() !== b.shape.join()) throw new RangeError(`${op}: shapes differ: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  if (a.ndim !== 3 && a.ndim !== 4) throw new RangeError(`${op}: expected [C, H, W] or [N, C, H, W], got [${a.shape.join(', ')}]`);
  const prep = (t: Tensor) => {
    const d = t.to('float64');
    if (t.ndim === 4) return d;
    const u = d.unsqueeze(0);
    d.dispose();
    return u;
  };
  return [prep(a), prep(b)];
}

export function dataRangeOf(op: string, o: MetricOptions): number {
  const r = o.dataRange ?? 2;
  if (!(r > 0) || !Number.isFinite(r)) throw new RangeError(`${op}: dataRange must be a positive number, got ${r}`);
  return r;
}

export function reduce(values: number[], o: MetricOptions): number | number[] {
  if ((o.reduction ?? 'mean') === 'none') return values;
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** Per-image mean squared error of float64 [N, C, H, W] tensors. */
export function perImageMse(a: Tensor, b: Tensor): number[] {
  const d = a.sub(b);
  const sq = d.square(); d.dispose();
  const m = sq.mean([1, 2, 3]); sq.dispose();
  try { return Array.from(m.data() as Float64Array); } finally { m.dispose(); }
}
