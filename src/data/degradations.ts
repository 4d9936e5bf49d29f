// How a high-res image becomes the low-res input (the super-resolution "degradation"). The reference trains and
// evaluates on one: bilinear without antialias (aliased). Real low-res photos are closer to an antialiased
// resize, so training can draw from several (data.degradations) and `fmboost eval --degradation` picks the one
// scored. One definition here serves training (flow task, precompute), validation and eval.
import { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { adaptiveAvgPool2d, interpolate } from '../tensor/functional.js';
import { DEGRADATIONS, type Degradation } from './degradation_names.js';

export { DEGRADATIONS, DEGRADATION_DOCS, type Degradation } from './degradation_names.js';

export class DegradationError extends RangeError {
  override name = 'DegradationError';
}

export function checkDegradation(name: string): Degradation {
  if (!(DEGRADATIONS as readonly string[]).includes(name)) throw new DegradationError(`unknown degradation '${name}' (known: ${DEGRADATIONS.join(', ')})`);
  return name as Degradation;
}

/** [N, C, H, W] → [N, C, h, w] (or [C, H, W] → [C, h, w]) by the named degradation (not clamped, not quantised). */
export function degrade(x: Tensor, size: [number, number], kind: Degradation): Tensor {
  if (x.ndim === 3) return tidy(() => degrade(x.unsqueeze(0), size, kind).squeeze(0));
  if (x.ndim !== 4) throw new RangeError(`degrade: expected [C, H, W] or [N, C, H, W], got [${x.shape.join(', ')}]`);
  const [H, W] = [x.shape[2], x.shape[3]];
  const [h, w] = size;
  if (!(h >= 1 && w >= 1 && h <= H && w <= W)) throw new RangeError(`degrade: low-res size ${h}×${w} does not fit the ${H}×${W} image`);
  switch (kind) {
    case 'bilinear': return interpolate(x, { size: [h, w], mode: 'bilinear', antialias: false, alignCorners: false });
    case 'bilinear_aa': return interpolate(x, { size: [h, w], mode: 'bilinear', antialias: true, alignCorners: false });
    case 'bicubic_aa': return interpolate(x, { size: [h, w], mode: 'bicubic', antialias: true, alignCorners: false });
    case 'area': return adaptiveAvgPool2d(x, [h, w]); // PyTorch's interpolate(mode='area')
    default: checkDegradation(String(kind)); throw new DegradationError(`unhandled degradation '${String(kind)}'`);
  }
}
