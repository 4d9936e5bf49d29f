// Sinusoidal time embedding as the reference: t enters raw (no ×1000), [cos, sin], max period 10000.
import { Tensor, arange, cat, tidy, zeros } from '../../tensor/index.js';

/**
 * [N] timesteps (fractional allowed) → [N, dim]: cos(t·f_i) for i < dim/2, then sin(t·f_i), with
 * f_i = exp(−ln(maxPeriod)·i/half); odd dims get a zero column.
 */
export function timestepEmbedding(t: Tensor, dim: number, maxPeriod = 10000): Tensor {
  if (t.ndim !== 1) throw new RangeError(`timestepEmbedding: t must be 1-D [N], got [${t.shape.join(', ')}]`);
  return tidy(() => {
    const half = Math.floor(dim / 2);
    // Same float32 op order as the reference: arange · (−ln P) / half, then exp.
    const freqs = arange(0, half, 1, { dtype: 'float32', device: t.device }).mul(-Math.log(maxPeriod)).div(half).exp();
    const args = t.float().unsqueeze(1).mul(freqs.unsqueeze(0));
    const parts = [args.cos(), args.sin()];
    if (dim % 2) parts.push(zeros([t.shape[0], 1], { device: t.device }));
    return cat(parts, -1);
  });
}
