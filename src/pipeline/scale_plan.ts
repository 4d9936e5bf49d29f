// Which passes give an overall scale. One model of factor f applied k times gives f^k; any other integer scale
// runs the covering power (the smallest f^k ≥ scale) and then shrinks the result with an antialiased bicubic
// resize to exactly input × scale, so a 4× model also serves 2× and 3× (and 8× = 16× then shrink). A cascade
// of stages gives the product of its factors, or less with the same shrink.
import { PipelineError } from './errors.js';

/** Largest overall scale accepted (8 MP in → 32 k px sides out already at 64×: the caps issue bounds the rest). */
export const MAX_SCALE = 64;

export interface ScalePlan<M> {
  passes: M[];
  /** What the passes produce (a power of the factor, or the cascade's product). */
  modelScale: number;
  /** The requested overall scale. */
  scale: number;
  /** modelScale ≠ scale: the output is resized down by scale / modelScale (antialiased bicubic). */
  resample: boolean;
}

/** The scales offered to users of a single model of factor f (the web page, `fmboost models`). */
export function offeredScales(factor: number): number[] {
  if (factor <= 1) return [];
  return [2, 3, 4, 8, 16].filter((s) => s <= factor ** 3);
}

export function checkScale(scale: number): number {
  if (!Number.isInteger(scale) || scale < 2 || scale > MAX_SCALE) {
    throw new PipelineError('upsample', `scale must be an integer from 2 to ${MAX_SCALE}, got ${scale}`);
  }
  return scale;
}

/** stages: one model (applied k times) or a cascade; factor(m) its upscaling factor. */
export function planScale<M>(stages: M[], factor: (m: M) => number, scale?: number): ScalePlan<M> {
  if (stages.length > 1) {
    const prod = stages.reduce((a, s) => a * factor(s), 1);
    const s = scale === undefined ? prod : checkScale(scale);
    if (s > prod) throw new PipelineError('upsample', `scale ${s} is above the cascade's ${prod}× (${stages.map((m) => `${factor(m)}×`).join(' then ')})`);
    return { passes: stages, modelScale: prod, scale: s, resample: s !== prod };
  }
  const m = stages[0], f = factor(m);
  if (scale === undefined) return { passes: [m], modelScale: f, scale: f, resample: false };
  const s = checkScale(scale);
  if (f <= 1) throw new PipelineError('upsample', `this model does not upscale (factor ${f})`);
  let k = 1, p = f;
  while (p < s) { p *= f; k++; }
  return { passes: Array(k).fill(m), modelScale: p, scale: s, resample: p !== s };
}
