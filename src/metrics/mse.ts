// Mean squared error per image (values in whatever range the images use).
import type { Tensor } from '../tensor/tensor.js';
import { pairAs4d, perImageMse, reduce, type MetricOptions } from './common.js';

export function mse(a: Tensor, b: Tensor, o: { reduction: 'none' }): number[];
export function mse(a: Tensor, b: Tensor, o?: Pick<MetricOptions, 'reduction'>): number;
export function mse(a: Tensor, b: Tensor, o: Pick<MetricOptions, 'reduction'> = {}): number | number[] {
  const [x, y] = pairAs4d('mse', a, b);
  try { return reduce(perImageMse(x, y), o); } finally { x.dispose(); y.dispose(); }
}
