// Colour shift per image: the largest per-channel |mean(a) − mean(b)|, in 8-bit levels (x/255 of the range), for
// images in [−1, 1]. A decoder that turns green brown moves a channel mean; blur and noise do not.
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { pairAs4d, reduce, type MetricOptions } from './common.js';

export function colourShift(a: Tensor, b: Tensor, o: Pick<MetricOptions, 'reduction'> & { reduction: 'none' }): number[];
export function colourShift(a: Tensor, b: Tensor, o?: Pick<MetricOptions, 'reduction'>): number;
export function colourShift(a: Tensor, b: Tensor, o: Pick<MetricOptions, 'reduction'> = {}): number | number[] {
  const [x, y] = pairAs4d('colourShift', a, b);
  try {
    const d = tidy(() => Array.from(x.mean([2, 3]).sub(y.mean([2, 3])).abs().amax([1]).mul(127.5).data() as Float64Array));
    return reduce(d, o);
  } finally {
    x.dispose();
    y.dispose();
  }
}
