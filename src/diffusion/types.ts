// Shared types of the eps-prediction samplers (DDIM, k-diffusion Euler, LCM): pure functions
// (model, xT, opts) → { x, nfe, timesteps }.
import type { Generator, Tensor } from '../tensor/index.js';
import type { DdpmSchedule } from './schedule.js';

/**
 * The denoising network: predicted noise for latents x at DDPM timestep t (float32 [N], one per batch row;
 * fractional for k-diffusion samplers). It must return a tensor shaped like x (it may be one it keeps).
 */
export type EpsModel = (x: Tensor, t: Tensor) => Tensor;

/**
 * Standard-normal noise shaped like `like`, for the sampler's `draw`-th draw (0-based, in the order the
 * reference samplers draw). Lets a run inject recorded noise; the default draws from opts.generator.
 */
export type NoiseSource = (draw: number, like: Tensor) => Tensor;

/** Reported after every step. Tensors are valid only during the callback. */
export interface DiffusionStepInfo {
  /** Steps done (1-based). */
  step: number;
  steps: number;
  /** The DDPM timestep the model was called at in this step. */
  t: number;
  /** k-diffusion samplers: the noise level of this step. */
  sigma?: number;
  /** The state after the step. */
  x: Tensor;
  /** The step's prediction of the clean latent. */
  denoised: Tensor;
  /** Model evaluations so far. */
  nfe: number;
}

export interface SamplerOptions {
  /** Number of sampling steps (model calls). */
  steps: number;
  /** The training noise schedule (default: SD1.x, scaled_linear 0.00085 → 0.012 over 1000 steps). */
  schedule?: DdpmSchedule;
  /**
   * Stream of the noise the sampler injects (stochastic samplers only); it must live on the latents'
   * device. A CPU Generator(seed) draws what torch.randn with a CPU generator of that seed draws.
   */
  generator?: Generator;
  /** Overrides where injected noise comes from (see NoiseSource). */
  noise?: NoiseSource;
  onStep?: (info: DiffusionStepInfo) => void;
  /** Cancels sampling; the sampler throws an AbortError before its next step. */
  signal?: AbortSignal;
}

export interface SampleResult {
  /** The final latent (a new tensor; the caller owns it). */
  x: Tensor;
  /** Model evaluations. */
  nfe: number;
  /** The timestep of every model call, in call order. */
  timesteps: number[];
  /** k-diffusion samplers: the noise levels, sigma_max … 0 (steps + 1 values). */
  sigmas?: number[];
}
