// Gradient norms and clipping, as torch.nn.utils.clip_grad_norm_ computes them (same float32 ops).
import { Tensor, noGrad, tidy, stack } from '../../tensor/index.js';
import { A } from '../../tensor/ops/aten.js';

function grads(params: Iterable<Tensor>): Tensor[] {
  const out: Tensor[] = [];
  for (const p of params) {
    const g = p.grad;
    if (g) out.push(g);
  }
  return out;
}

/** Total norm over all gradients as a 0-dim tensor: the norm of the per-gradient norms. */
function totalNorm(gs: Tensor[], normType: number): Tensor {
  if (normType === Infinity) {
    const norms = gs.map((g) => g.abs().max());
    return norms.length === 1 ? norms[0] : stack(norms).max();
  }
  // torch.norm(g, p) over every dim (aten::norm), then the norm of the stacked norms
  const all = (t: Tensor) => [...Array(t.ndim).keys()];
  const norms = gs.map((g) => A.normDim(g, normType, all(g), false) as Tensor);
  const s = stack(norms);
  return A.normDim(s, normType, [0], false) as Tensor;
}

function checkNormType(fn: string, normType: number): void {
  if (typeof normType !== 'number' || Number.isNaN(normType) || normType < 0) throw new RangeError(`${fn}: invalid normType ${normType}`);
}

/** The total `normType`-norm of the parameters' gradients (0 when none has a gradient). Grads are not changed. */
export function gradNorm(params: Iterable<Tensor>, normType = 2): number {
  checkNormType('gradNorm', normType);
  return noGrad(() => tidy(() => {
    const gs = grads(params);
    return gs.length ? totalNorm(gs, normType).item() : 0;
  }));
}

/**
 * torch.nn.utils.clip_grad_norm_: scales every gradient in place by min(1, maxNorm / (total + 1e-6))
 * and returns the total norm before clipping.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, normType = 2, opts: { errorIfNonfinite?: boolean } = {}): number {
  checkNormType('clipGradNorm', normType);
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm)) throw new RangeError(`clipGradNorm: invalid maxNorm ${maxNorm}`);
  return noGrad(() => tidy(() => {
    const gs = grads(params);
    if (!gs.length) return 0;
    const total = totalNorm(gs, normType);
    const value = total.item();
    if (opts.errorIfNonfinite && !Number.isFinite(value)) {
      throw new RangeError(`clipGradNorm: the total norm of order ${normType} of the gradients is non-finite (${value}), so it cannot be clipped`);
    }
    // same ops as torch (maxNorm / (total + 1e-6) is reciprocal() * maxNorm), so the scale is bit-identical
    const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1);
    for (const g of gs) g.mul_(coef);
    return value;
  }));
}
