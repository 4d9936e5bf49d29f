// DDIM (Song et al. 2021) as CompVis/stable-diffusion's DDIMSampler: make_ddim_timesteps, make_ddim_sampling_parameters
// and p_sample_ddim (x0-prediction, direction to x_t, eta-scaled noise), without guidance (wrap the model for CFG).
import { DiffusionError } from './errors.js';
import { checkCommon, checkInt, checkNumber, modelCaller, noiseDrawer, runSteps } from './drive.js';
import type { Tensor } from '../tensor/index.js';
import type { DdpmSchedule } from './schedule.js';
import type { EpsModel, SampleResult, SamplerOptions } from './types.js';

/** 'uniform': every (T // steps)-th step; 'quad': quadratically spaced (denser near t = 0). */
export type DdimDiscretize = 'uniform' | 'quad';

export interface DdimOptions extends SamplerOptions {
  /** 0: deterministic DDIM; 1: DDPM-like ancestral noise. */
  eta?: number;
  discretize?: DdimDiscretize;
}

/**
 * make_ddim_timesteps: ascending DDPM steps, each + 1 (the reference's offset). With 'uniform' the
 * count is ceil(T / (T // steps)), which can exceed `steps` (e.g. 7 → 8); the reference runs them all.
 */
export function ddimTimesteps(steps: number, discretize: DdimDiscretize = 'uniform', numTrainTimesteps = 1000): number[] {
  const fn = 'ddimTimesteps';
  checkInt(fn, 'steps', steps, 1, numTrainTimesteps);
  let ts: number[];
  if (discretize === 'uniform') {
    const c = Math.floor(numTrainTimesteps / steps);
    ts = [];
    for (let t = 0; t < numTrainTimesteps; t += c) ts.push(t + 1);
  } else if (discretize === 'quad') {
    // np.linspace(0, sqrt(0.8 T), steps) with its last point set to the end, squared, truncated.
    const end = Math.sqrt(numTrainTimesteps * 0.8);
    const step = steps > 1 ? end / (steps - 1) : 0;
    ts = Array.from({ length: steps }, (_, i) => Math.trunc((steps > 1 && i === steps - 1 ? end : i * step) ** 2) + 1);
  } else {
    throw new DiffusionError(fn, 'discretize', `must be 'uniform' or 'quad', got ${String(discretize)}`);
  }
  const last = ts[ts.length - 1];
  if (last >= numTrainTimesteps) {
    // A stride that divides T − 1 lands on step T − 1, and the + 1 offset then indexes past ᾱ (the reference crashes).
    throw new DiffusionError(fn, 'steps', `${steps} steps give DDIM timestep ${last}, past the schedule's last step ${numTrainTimesteps - 1} (stride ${Math.floor(numTrainTimesteps / steps)} divides ${numTrainTimesteps - 1}); choose another step count`);
  }
  return ts;
}

export interface DdimParameters {
  /** DDPM steps, ascending (index i of the arrays below). */
  timesteps: number[];
  /** ᾱ at each timestep. */
  alphas: number[];
  /** ᾱ at the previous DDIM timestep (ᾱ_0 for the first). */
  alphasPrev: number[];
  /** σ_i = eta·sqrt((1 − ᾱ_prev)/(1 − ᾱ)·(1 − ᾱ/ᾱ_prev)). */
  sigmas: number[];
}

/** make_ddim_sampling_parameters. */
export function ddimParameters(schedule: DdpmSchedule, timesteps: number[], eta: number): DdimParameters {
  const ac = schedule.alphasCumprod;
  const alphas = timesteps.map((t) => ac[t]);
  const alphasPrev = [ac[0], ...timesteps.slice(0, -1).map((t) => ac[t])];
  const sigmas = alphas.map((a, i) => eta * Math.sqrt(((1 - alphasPrev[i]) / (1 - a)) * (1 - a / alphasPrev[i])));
  return { timesteps, alphas, alphasPrev, sigmas };
}

/** DDIM from standard-normal latents xT. Draws noise (once per step) only when eta > 0. */
export function sampleDDIM(model: EpsModel, xT: Tensor, opts: DdimOptions): SampleResult {
  const fn = 'sampleDDIM';
  const schedule = checkCommon(fn, model, xT, opts);
  const T = schedule.config.numTrainTimesteps;
  const steps = checkInt(fn, 'steps', opts.steps, 1, T);
  const eta = checkNumber(fn, 'eta', opts.eta ?? 0, 0);
  const p = ddimParameters(schedule, ddimTimesteps(steps, opts.discretize ?? 'uniform', T), eta);
  const n = p.timesteps.length;
  const dirCoef = p.alphasPrev.map((ap, i) => {
    const r = 1 - ap - p.sigmas[i] ** 2;
    if (!(r >= 0)) throw new DiffusionError(fn, 'eta', `${eta} is too large: 1 − ᾱ_prev − σ² = ${r} < 0 at timestep ${p.timesteps[i]}`);
    return Math.sqrt(r);
  });
  const m = modelCaller(fn, model);
  const draw = noiseDrawer(fn, opts);
  const x = runSteps(fn, opts, xT.alias(), n, m.nfe, (i, x) => {
    const k = n - 1 - i; // walk the timesteps from the end
    const a = p.alphas[k], ap = p.alphasPrev[k], sigma = p.sigmas[k];
    const eps = m.call(x, p.timesteps[k]);
    const denoised = x.sub(eps.mul(Math.sqrt(1 - a))).div(Math.sqrt(a));
    let next = denoised.mul(Math.sqrt(ap)).add(eps.mul(dirCoef[k]));
    if (sigma > 0) next = next.add(draw(x).mul(sigma));
    return { x: next, denoised, t: p.timesteps[k] };
  });
  return { x, nfe: m.nfe(), timesteps: [...p.timesteps].reverse() };
}
