// Image transforms on tensors [C, H, W] or [N, C, H, W]: seeded random crop / flip (torchvision's
// draws, from a Generator), center crop, resizes with F.interpolate semantics, and the PSU pair.
import { Tensor } from '../tensor/tensor.js';
import { rand, randint } from '../tensor/creation.js';
import type { Generator } from '../tensor/generator.js';
import { interpolate } from '../tensor/functional.js';
import { centerCropOffsets } from './pixels.js';
import { degrade, type Degradation } from './degradations.js';

export type Size2 = number | [number, number];
const hw = (s: Size2): [number, number] => (Array.isArray(s) ? s : [s, s]);

function dims(x: Tensor, op: string): [number, number] {
  if (x.ndim !== 3 && x.ndim !== 4) throw new RangeError(`${op}: expected [C, H, W] or [N, C, H, W], got [${x.shape.join(', ')}]`);
  return [x.shape[x.ndim - 2], x.shape[x.ndim - 1]];
}

export interface CropParams { top: number; left: number; height: number; width: number }

/** torchvision RandomCrop.get_params: top = randint(0, H − h + 1), then left = randint(0, W − w + 1). */
export function randomCropParams(height: number, width: number, size: Size2, generator?: Generator): CropParams {
  const [h, w] = hw(size);
  if (h > height || w > width) throw new RangeError(`randomCrop: crop ${h}x${w} is larger than the ${height}x${width} image`);
  const draw = (n: number) => {
    const t = randint(0, n + 1, [1], { generator });
    try { return t.item(); } finally { t.dispose(); }
  };
  const top = draw(height - h);
  const left = draw(width - w);
  return { top, left, height: h, width: w };
}

/** A crop (a view; clone it if you need to keep it past the source). */
export function crop(x: Tensor, p: CropParams): Tensor {
  const [H, W] = dims(x, 'crop');
  if (p.top < 0 || p.left < 0 || p.top + p.height > H || p.left + p.width > W) {
    throw new RangeError(`crop: [top ${p.top}, left ${p.left}, ${p.height}x${p.width}] does not fit in ${H}x${W}`);
  }
  const a = x.narrow(-2, p.top, p.height);
  try { return a.narrow(-1, p.left, p.width); } finally { a.dispose(); }
}

export function randomCrop(x: Tensor, size: Size2, generator?: Generator): Tensor {
  const [H, W] = dims(x, 'randomCrop');
  return crop(x, randomCropParams(H, W, size, generator));
}

/** torchvision CenterCrop (offsets rounded half-to-even, as Python's round). */
export function centerCrop(x: Tensor, size: Size2): Tensor {
  const [H, W] = dims(x, 'centerCrop');
  const [h, w] = hw(size);
  if (h > H || w > W) throw new RangeError(`centerCrop: crop ${h}x${w} is larger than the ${H}x${W} image`);
  const { top, left } = centerCropOffsets(H, W, h, w);
  return crop(x, { top, left, height: h, width: w });
}

/** torchvision RandomHorizontalFlip: flips when rand(1) < p. Returns [output, flipped]. */
export function randomHorizontalFlip(x: Tensor, p = 0.5, generator?: Generator): [Tensor, boolean] {
  dims(x, 'randomHorizontalFlip');
  const r = rand([1], { generator });
  let flip: boolean;
  try { flip = r.item() < p; } finally { r.dispose(); }
  return [flip ? x.flip(-1) : x.alias(), flip];
}

export function hflip(x: Tensor): Tensor {
  dims(x, 'hflip');
  return x.flip(-1);
}

export type ResizeMode = 'bilinear' | 'bicubic' | 'nearest' | 'nearest-exact';
export interface ResizeOptions { mode?: ResizeMode; antialias?: boolean; alignCorners?: boolean }

/** F.interpolate to `size` (H, W) for [C, H, W] or [N, C, H, W] (default bilinear, no antialias). */
export function resize(x: Tensor, size: Size2, o: ResizeOptions = {}): Tensor {
  dims(x, 'resize');
  const mode = o.mode ?? 'bilinear';
  const linear = mode === 'bilinear' || mode === 'bicubic';
  const opts = { size: hw(size), mode, antialias: linear ? (o.antialias ?? false) : undefined, alignCorners: linear ? (o.alignCorners ?? false) : undefined };
  if (x.ndim === 4) return interpolate(x, opts);
  const b = x.unsqueeze(0);
  try {
    const y = interpolate(b, opts);
    try { return y.squeeze(0); } finally { y.dispose(); }
  } finally { b.dispose(); }
}
