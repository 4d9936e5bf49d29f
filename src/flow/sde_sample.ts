// The reference's optional SDE sampler (SiT-style): Euler–Maruyama on
//   dx = [v(x, t) + w(t)·score(x, t)] dt + sqrt(2·w(t)) dW,
// where the score comes from the velocity through the path, then one deterministic last step.
// The score conversion assumes a Gaussian source, i.e. the start-from-noise mode.
import { tensor, tidy, noGrad, Generator, type Tensor } from '../tensor/index.js';
import { FlowError } from './errors.js';
import { FlowMatcher, checkContext, type VelocityNet } from './matcher.js';
import { eulerMaruyama } from './solvers/sde.js';
import type { StepInfo } from './solvers/types.js';
import { linspaceGrid } from './time_grid.js';

export type DiffusionForm = 'constant' | 'sigma' | 'linear' | 'decreasing' | 'increasing-decreasing';

export interface SdeSampleOptions {
  /** Grid points over [0, 1 − lastStepSize] (the reference: 250). */
  steps?: number;
  diffusionForm?: DiffusionForm;
  diffusionNorm?: number;
  /** 'Mean' (the reference default): x + drift·size; 'Euler': x + v·size; null: none (lastStepSize 0). */
  lastStep?: 'Mean' | 'Euler' | null;
  lastStepSize?: number;
  seed?: number;
  generator?: Generator;
  matcher?: FlowMatcher;
  callback?: (info: StepInfo) => void;
  signal?: AbortSignal;
}

/** alpha, sigma and their derivatives at a scalar t, from the matcher's path hooks. */
function pathAt(m: FlowMatcher, t: number): { a: number; s: number; da: number; ds: number } {
  return tidy(() => {
    const tt = tensor([t], { dtype: 'float64' });
    return { a: m.path.alpha(tt).item(), s: m.path.sigma(tt).item(), da: m.path.dAlpha(tt).item(), ds: m.path.dSigma(tt).item() };
  });
}

/** score(x, t) from the velocity v for a Gaussian source: (r·v − x) / var, r = α/α', var = σ² − r·σ'·σ. */
export function scoreFromVelocity(m: FlowMatcher, v: Tensor, x: Tensor, t: number): Tensor {
  const { a, s, da, ds } = pathAt(m, t);
  const r = a / da, variance = s * s - r * ds * s;
  if (!(variance > 0)) throw new FlowError('scoreFromVelocity', `the path variance at t = ${t} is ${variance}: the score is undefined there`);
  return tidy(() => v.mul(r).sub(x).div(variance));
}

/** The diffusion weight w(t) of the reference's forms. */
export function diffusionWeight(m: FlowMatcher, form: DiffusionForm, norm: number, t: number): number {
  switch (form) {
    case 'constant': return norm;
    case 'sigma': return norm * pathAt(m, t).s;
    case 'linear': return norm * (1 - t);
    case 'decreasing': return 0.25 * (norm * Math.cos(Math.PI * t) + 1) ** 2;
    case 'increasing-decreasing': return norm * Math.sin(Math.PI * t) ** 2;
    default: throw new FlowError('sampleSde', `unknown diffusion form '${form as string}' (constant, sigma, linear, decreasing, increasing-decreasing)`);
  }
}

/** SDE sampling from x0 (N(0, I) in start-from-noise mode) with the network's velocity. */
export function sampleSde(net: VelocityNet, x0: Tensor, context: Tensor | null, opts: SdeSampleOptions = {}): { latent: Tensor; nfe: number } {
  const m = opts.matcher ?? new FlowMatcher();
  checkContext('sampleSde', x0, context);
  const form = opts.diffusionForm ?? 'sigma', norm = opts.diffusionNorm ?? 1;
  const lastStep = opts.lastStep === undefined ? 'Mean' : opts.lastStep;
  const size = lastStep === null ? 0 : opts.lastStepSize ?? 0.04;
  if (!(size >= 0 && size < 1)) throw new FlowError('sampleSde', `lastStepSize must be in [0, 1), got ${size}`);
  if (lastStep !== null && lastStep !== 'Mean' && lastStep !== 'Euler') throw new FlowError('sampleSde', `unknown last step '${lastStep as string}' (Mean, Euler, null)`);
  diffusionWeight(m, form, norm, 0);
  const grid = linspaceGrid(opts.steps ?? 250, { t1: 1 - size });
  const v = m.field(net, context);
  const drift = (t: number, x: Tensor) => tidy(() => {
    const vt = v(t, x), w = diffusionWeight(m, form, norm, t);
    return w === 0 ? vt : vt.add(scoreFromVelocity(m, vt, x, t), w);
  });
  const generator = opts.generator ?? new Generator(opts.seed ?? 0);
  return noGrad(() => {
    const r = eulerMaruyama(drift, x0, grid, {
      diffusion: (t) => Math.sqrt(2 * diffusionWeight(m, form, norm, t)),
      generator, callback: opts.callback, signal: opts.signal,
    });
    if (lastStep === null) return { latent: r.x, nfe: r.nfe };
    const t1 = grid[grid.length - 1];
    const latent = tidy(() => r.x.add(lastStep === 'Mean' ? drift(t1, r.x) : v(t1, r.x), size));
    r.x.dispose();
    return { latent, nfe: r.nfe + 1 };
  });
}
