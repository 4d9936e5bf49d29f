// k-diffusion's sample_euler and sample_euler_ancestral over CompVisDenoiser: the model sees x·c_in with
// c_in = 1/sqrt(σ² + 1) at t = sigmaToT(σ), denoised = x − σ·eps, and dx/dσ = (x − denoised)/σ.
import type { Tensor } from '../tensor/index.js';
import { DiffusionError } from './errors.js';
import { checkCommon, checkInt, checkNumber, modelCaller, noiseDrawer, runSteps } from './drive.js';
import { discreteSigmas, karrasSigmas, sigmaMax, sigmaMin, sigmaToT } from './sigmas.js';
import type { DdpmSchedule } from './schedule.js';
import type { EpsModel, SampleResult, SamplerOptions } from './types.js';

export interface EulerOptions extends SamplerOptions {
  /** The σ grid: the schedule's evenly spaced timesteps (get_sigmas) or Karras et al.'s (σmin, σmax of the schedule). */
  sigmas?: 'discrete' | 'karras';
  /** Karras ρ. */
  rho?: number;
}

export interface EulerAncestralOptions extends EulerOptions {
  /** Share of the step's noise that is fresh (0: plain Euler). */
  eta?: number;
  /** Scale of the fresh noise. */
  sNoise?: number;
}

function sigmaGrid(fn: string, schedule: DdpmSchedule, opts: EulerOptions): number[] {
  const steps = checkInt(fn, 'steps', opts.steps, 1, schedule.config.numTrainTimesteps);
  const kind = opts.sigmas ?? 'discrete';
  if (kind === 'discrete') return discreteSigmas(schedule, steps);
  if (kind === 'karras') return karrasSigmas(steps, sigmaMin(schedule), sigmaMax(schedule), checkNumber(fn, 'rho', opts.rho ?? 7, Number.MIN_VALUE));
  throw new DiffusionError(fn, 'sigmas', `must be 'discrete' or 'karras', got ${String(kind)}`);
}

/** get_ancestral_step: the σ to step down to and the fresh noise to add. */
export function ancestralStep(sigmaFrom: number, sigmaTo: number, eta = 1): { sigmaDown: number; sigmaUp: number } {
  if (!eta) return { sigmaDown: sigmaTo, sigmaUp: 0 };
  const sigmaUp = Math.min(sigmaTo, eta * Math.sqrt((sigmaTo ** 2 * (sigmaFrom ** 2 - sigmaTo ** 2)) / sigmaFrom ** 2));
  return { sigmaDown: Math.sqrt(sigmaTo ** 2 - sigmaUp ** 2), sigmaUp };
}

function eulerCore(fn: string, model: EpsModel, xT: Tensor, opts: EulerAncestralOptions, ancestral: boolean): SampleResult {
  const schedule = checkCommon(fn, model, xT, opts);
  const sigmas = sigmaGrid(fn, schedule, opts);
  const eta = ancestral ? checkNumber(fn, 'eta', opts.eta ?? 1, 0) : 0;
  const sNoise = ancestral ? checkNumber(fn, 'sNoise', opts.sNoise ?? 1, 0) : 0;
  const m = modelCaller(fn, model);
  const draw = noiseDrawer(fn, opts);
  const n = sigmas.length - 1;
  const ts = sigmas.slice(0, n).map((s) => sigmaToT(schedule, s));
  const x = runSteps(fn, opts, xT.mul(sigmas[0]), n, m.nfe, (i, x) => {
    const sigma = sigmas[i], next = sigmas[i + 1];
    const eps = m.call(x.mul(1 / Math.sqrt(sigma * sigma + 1)), ts[i]);
    const denoised = x.add(eps.mul(-sigma));
    const d = x.sub(denoised).div(sigma);
    const { sigmaDown, sigmaUp } = ancestral ? ancestralStep(sigma, next, eta) : { sigmaDown: next, sigmaUp: 0 };
    let y = x.add(d.mul(sigmaDown - sigma));
    if (ancestral && next > 0) y = y.add(draw(x).mul(sNoise * sigmaUp));
    return { x: y, denoised, t: ts[i], sigma };
  });
  return { x, nfe: m.nfe(), timesteps: ts, sigmas };
}

/** Euler steps on the probability-flow ODE (Karras et al. 2022, Algorithm 2 without churn), from standard-normal xT (scaled by σmax here). */
export function sampleEuler(model: EpsModel, xT: Tensor, opts: EulerOptions): SampleResult {
  return eulerCore('sampleEuler', model, xT, opts, false);
}

/** Ancestral Euler: step down to σ_down, then add σ_up of fresh noise (one draw per step except the last). */
export function sampleEulerAncestral(model: EpsModel, xT: Tensor, opts: EulerAncestralOptions): SampleResult {
  return eulerCore('sampleEulerAncestral', model, xT, opts, true);
}
