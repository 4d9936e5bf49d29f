// Latent Consistency Model multistep sampling as diffusers' LCMScheduler (epsilon prediction, no clipping):
// timesteps picked from the distillation grid, the consistency boundary condition
// denoised = c_out·x0_pred + c_skip·x, then fresh noise to the next timestep's level.
import { Tensor, arange, cat, scalar, tensor, tidy, zeros } from '../tensor/index.js';
import { DiffusionError } from './errors.js';
import { checkCommon, checkInt, checkNumber, modelCaller, noiseDrawer, runSteps } from './drive.js';
import type { EpsModel, SampleResult, SamplerOptions } from './types.js';

export interface LcmOptions extends SamplerOptions {
  /** Size of the distillation grid the timesteps are drawn from (the scheduler config's original_inference_steps). */
  originalInferenceSteps?: number;
  /** Multiplies t in the boundary-condition scalings. */
  timestepScaling?: number;
}

/**
 * set_timesteps(steps): the grid k·i − 1 (k = T // originalInferenceSteps, i = 1 … originalInferenceSteps),
 * descending, sampled at floor(j·len/steps) for j = 0 … steps − 1.
 */
export function lcmTimesteps(steps: number, originalInferenceSteps = 50, numTrainTimesteps = 1000): number[] {
  const fn = 'lcmTimesteps';
  const orig = checkInt(fn, 'originalInferenceSteps', originalInferenceSteps, 1, numTrainTimesteps);
  checkInt(fn, 'steps', steps, 1, orig);
  const k = Math.floor(numTrainTimesteps / orig);
  const grid = Array.from({ length: orig }, (_, i) => (orig - i) * k - 1);
  const stride = grid.length / steps;
  return Array.from({ length: steps }, (_, j) => grid[Math.floor(j * stride)]);
}

/** get_scalings_for_boundary_condition_discrete with σ_data = 0.5. */
export function lcmBoundaryScalings(t: number, timestepScaling = 10): { cSkip: number; cOut: number } {
  const s = t * timestepScaling, sd2 = 0.25;
  return { cSkip: sd2 / (s * s + sd2), cOut: s / Math.sqrt(s * s + sd2) };
}

/** LCM multistep from standard-normal xT; returns the last step's denoised latent. Draws noise steps − 1 times. */
export function sampleLCM(model: EpsModel, xT: Tensor, opts: LcmOptions): SampleResult {
  const fn = 'sampleLCM';
  const schedule = checkCommon(fn, model, xT, opts);
  const T = schedule.config.numTrainTimesteps;
  const orig = checkInt(fn, 'originalInferenceSteps', opts.originalInferenceSteps ?? 50, 1, T);
  const steps = checkInt(fn, 'steps', opts.steps, 1, orig);
  const scaling = checkNumber(fn, 'timestepScaling', opts.timestepScaling ?? 10, 0);
  const ts = lcmTimesteps(steps, orig, T);
  const ac = schedule.alphasCumprod;
  const m = modelCaller(fn, model);
  const draw = noiseDrawer(fn, opts);
  const x = runSteps(fn, opts, xT.alias(), steps, m.nfe, (i, x) => {
    const t = ts[i], a = ac[t];
    const { cSkip, cOut } = lcmBoundaryScalings(t, scaling);
    const eps = m.call(x, t);
    const x0 = x.sub(eps.mul(Math.sqrt(1 - a))).div(Math.sqrt(a));
    const denoised = x0.mul(cOut).add(x.mul(cSkip));
    if (i === steps - 1) return { x: denoised, denoised, t };
    const ap = ac[ts[i + 1]];
    return { x: denoised.mul(Math.sqrt(ap)).add(draw(x).mul(Math.sqrt(1 - ap))), denoised, t };
  });
  return { x, nfe: m.nfe(), timesteps: ts };
}

/**
 * get_guidance_scale_embedding: the sinusoidal embedding of 1000·w that LCM UNets take as timestep_cond
 * ([N, dim]: sines, then cosines, zero-padded when dim is odd). The pipeline passes w = guidance_scale − 1.
 */
export function guidanceScaleEmbedding(w: Tensor | number[], embeddingDim = 256): Tensor {
  const fn = 'guidanceScaleEmbedding';
  checkInt(fn, 'embeddingDim', embeddingDim, 4, 1 << 20);
  if (!(w instanceof Tensor) && !(Array.isArray(w) && w.every((v) => typeof v === 'number'))) throw new DiffusionError(fn, 'w', 'must be a Tensor [N] or an array of numbers');
  if (w instanceof Tensor && w.shape.length !== 1) throw new DiffusionError(fn, 'w', `must be 1-D, got shape [${w.shape.join(', ')}]`);
  return tidy(() => {
    const wt = w instanceof Tensor ? w.to('float32') : tensor(w, { dtype: 'float32' });
    const half = Math.floor(embeddingDim / 2);
    // Float32 throughout, in the reference's op order: the phases reach ~10⁴, where float32 rounding shows.
    const step = scalar(10000, { dtype: 'float32' }).log().div(half - 1);
    const freqs = arange(0, half, 1, { dtype: 'float32' }).mul(step.neg()).exp();
    const phase = wt.mul(1000).unsqueeze(1).mul(freqs.unsqueeze(0));
    const parts = [phase.sin(), phase.cos()];
    if (embeddingDim % 2 === 1) parts.push(zeros([wt.shape[0], 1], { dtype: 'float32', device: wt.device }));
    return cat(parts, 1);
  });
}

/** The embedding for one guidance scale g, repeated over a batch (w = g − 1, as the LCM pipeline). */
export function lcmGuidanceEmbedding(guidanceScale: number, batch: number, embeddingDim = 256): Tensor {
  const fn = 'lcmGuidanceEmbedding';
  checkNumber(fn, 'guidanceScale', guidanceScale, -Infinity);
  checkInt(fn, 'batch', batch, 1, 1 << 20);
  return guidanceScaleEmbedding(new Array<number>(batch).fill(Math.fround(guidanceScale - 1)), embeddingDim);
}
