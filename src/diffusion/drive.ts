// What every sampler shares: option checks, the model call with its time tensor, noise draws, and the
// step loop that owns the state, frees each step's temporaries (tidy) and reports progress.
import { Tensor, full, randn, tidy } from '../tensor/index.js';
import { DiffusionAbortError, DiffusionError } from './errors.js';
import { sdSchedule, type DdpmSchedule } from './schedule.js';
import type { DiffusionStepInfo, EpsModel, SamplerOptions } from './types.js';

export function checkInt(fn: string, option: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new DiffusionError(fn, option, `must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}

export function checkNumber(fn: string, option: string, v: unknown, min: number, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    const range = max === Infinity ? `≥ ${min}` : `in [${min}, ${max}]`;
    throw new DiffusionError(fn, option, `must be a finite number ${range}, got ${String(v)}`);
  }
  return v;
}

export function checkCommon(fn: string, model: unknown, xT: unknown, opts: SamplerOptions | undefined): DdpmSchedule {
  if (typeof model !== 'function') throw new DiffusionError(fn, undefined, 'model must be a function (x, t) => eps');
  if (!(xT instanceof Tensor)) throw new DiffusionError(fn, undefined, 'xT must be a Tensor');
  if (xT.isDisposed) throw new DiffusionError(fn, undefined, 'xT was disposed');
  if (!['float32', 'float64', 'float16', 'bfloat16'].includes(xT.dtype)) throw new DiffusionError(fn, undefined, `xT must be a floating tensor, got ${xT.dtype}`);
  if (xT.shape.length < 1) throw new DiffusionError(fn, undefined, 'xT must have a batch dimension');
  if (opts === null || typeof opts !== 'object') throw new DiffusionError(fn, undefined, 'options { steps, ... } are required');
  if (opts.noise !== undefined && typeof opts.noise !== 'function') throw new DiffusionError(fn, 'noise', 'must be a function (draw, like) => Tensor');
  if (opts.onStep !== undefined && typeof opts.onStep !== 'function') throw new DiffusionError(fn, 'onStep', 'must be a function');
  const s = opts.schedule ?? sdSchedule();
  if (!s || !(s.alphasCumprod instanceof Float64Array)) throw new DiffusionError(fn, 'schedule', 'must come from ddpmSchedule()');
  return s;
}

/** Calls the model at time t for every batch row and checks what it returns. */
export function modelCaller(fn: string, model: EpsModel): { call: (x: Tensor, t: number) => Tensor; nfe: () => number } {
  let nfe = 0;
  const call = (x: Tensor, t: number): Tensor => {
    nfe++;
    const tt = full([x.shape[0]], t, { dtype: 'float32', device: x.device });
    const out = model(x, tt);
    if (!(out instanceof Tensor)) throw new DiffusionError(fn, undefined, `model returned ${typeof out}, not a Tensor (t = ${t})`);
    const a = out.shape, b = x.shape;
    if (a.length !== b.length || a.some((v, i) => v !== b[i])) {
      throw new DiffusionError(fn, undefined, `model returned shape [${a.join(', ')}] for latents of shape [${b.join(', ')}] (t = ${t})`);
    }
    return out;
  };
  return { call, nfe: () => nfe };
}

/** Draws standard-normal noise like x: from opts.noise when given, else from opts.generator. */
export function noiseDrawer(fn: string, opts: SamplerOptions): (like: Tensor) => Tensor {
  let draws = 0;
  return (like) => {
    const k = draws++;
    if (!opts.noise) return randn(like.shape, { dtype: like.dtype, device: like.device, generator: opts.generator });
    const n = opts.noise(k, like);
    if (!(n instanceof Tensor) || n.shape.length !== like.shape.length || n.shape.some((v, i) => v !== like.shape[i])) {
      throw new DiffusionError(fn, 'noise', `draw ${k} must be a Tensor of shape [${like.shape.join(', ')}], got ${n instanceof Tensor ? `[${n.shape.join(', ')}]` : typeof n}`);
    }
    return n;
  };
}

export interface StepOut {
  x: Tensor;
  denoised: Tensor;
  t: number;
  sigma?: number;
}

/**
 * Runs n steps from x0 (a tensor the loop owns and frees). Each step runs in a tidy scope that keeps
 * only its new state and x0-prediction, so the live-tensor count stays flat however many steps.
 */
export function runSteps(fn: string, opts: SamplerOptions, x0: Tensor, n: number, nfe: () => number, step: (i: number, x: Tensor) => StepOut): Tensor {
  let x = x0;
  try {
    for (let i = 0; i < n; i++) {
      if (opts.signal?.aborted) throw new DiffusionAbortError(`${fn}: aborted after ${i} step(s)`, { cause: opts.signal.reason });
      const cur = x;
      const r = tidy(() => step(i, cur));
      x.dispose();
      x = r.x;
      try {
        if (opts.onStep) {
          const info: DiffusionStepInfo = { step: i + 1, steps: n, t: r.t, x, denoised: r.denoised, nfe: nfe() };
          if (r.sigma !== undefined) info.sigma = r.sigma;
          opts.onStep(info);
        }
      } finally {
        if (r.denoised !== r.x) r.denoised.dispose();
      }
    }
    return x;
  } catch (e) {
    x.dispose();
    throw e;
  }
}
