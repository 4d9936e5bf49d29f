// Noise augmentation of the source (the reference's ForwardDiffusion): a 1000-step shifted-cosine
// schedule and q_sample(z, s) = sqrt(ab[s])·z + sqrt(1 − ab[s])·ε with fresh noise at every call.
import { Generator, randnLike, tidy, type Tensor } from '../tensor/index.js';
import { FlowError } from './errors.js';

export interface CosineScheduleOptions {
  /** Number of diffusion steps (the reference: 1000). */
  steps?: number;
  /** Image size for the resolution shift log(ref/im)·2 (the reference uses 64 = no shift). */
  imSize?: number;
  refSize?: number;
}

/**
 * alpha_bar(t) = sigmoid(−2·log(tan(πt/2) + 1e-5) + 2·log(ref/im)) at t = linspace(0, 1, steps),
 * computed in float64 and rounded to float32 like the reference's buffer.
 */
export function cosineAlphaBar(opts: CosineScheduleOptions = {}): Float32Array {
  const steps = opts.steps ?? 1000, im = opts.imSize ?? 64, ref = opts.refSize ?? 64;
  if (!Number.isInteger(steps) || steps < 2) throw new FlowError('cosineAlphaBar', `steps must be an integer ≥ 2, got ${steps}`);
  if (!(im > 0) || !(ref > 0)) throw new FlowError('cosineAlphaBar', `imSize and refSize must be > 0, got ${im}, ${ref}`);
  const shift = 2 * Math.log(ref / im);
  const out = new Float32Array(steps);
  for (let s = 0; s < steps; s++) {
    const t = s / (steps - 1);
    const logSnr = -2 * Math.log(Math.tan((Math.PI * t) / 2) + 1e-5) + shift;
    out[s] = 1 / (1 + Math.exp(-logSnr));
  }
  return out;
}

export interface NoiseAugmenterOptions extends CosineScheduleOptions {
  /** Seed of the augmenter's own noise stream (ignored when a generator is given). */
  seed?: number;
  generator?: Generator;
}

/** Adds the reference's forward-diffusion noise at a fixed step; step ≤ 0 disables it. */
export class NoiseAugmenter {
  readonly alphaBar: Float32Array;
  readonly generator: Generator | undefined;

  constructor(opts: NoiseAugmenterOptions = {}) {
    this.alphaBar = cosineAlphaBar(opts);
    this.generator = opts.generator ?? (opts.seed !== undefined ? new Generator(opts.seed) : undefined);
  }

  get steps(): number {
    return this.alphaBar.length;
  }

  /** The two coefficients (sqrt(ab), sqrt(1 − ab)) as float32 values, as the reference computes them. */
  coefficients(step: number): { signal: number; noise: number } {
    this.checkStep(step);
    const ab = this.alphaBar[step];
    return { signal: Math.fround(Math.sqrt(ab)), noise: Math.fround(Math.sqrt(Math.fround(1 - ab))) };
  }

  /**
   * q(z_s | z): a new tensor sqrt(ab[s])·z + sqrt(1 − ab[s])·ε. ε is drawn fresh from the
   * augmenter's stream unless given. step ≤ 0 returns an unnoised copy and draws nothing.
   */
  qSample(z: Tensor, step: number, noise?: Tensor): Tensor {
    if (step <= 0) {
      if (!Number.isInteger(step)) this.checkStep(step);
      return z.clone();
    }
    const { signal, noise: ns } = this.coefficients(step);
    if (noise) {
      const a = noise.shape, b = z.shape;
      if (a.length !== b.length || a.some((v, i) => v !== b[i])) {
        throw new FlowError('qSample', `noise shape [${a.join(', ')}] differs from latent shape [${b.join(', ')}]`);
      }
    }
    return tidy(() => {
      const eps = noise ?? randnLike(z, this.generator);
      return z.mul(signal).add(eps.mul(ns));
    });
  }

  private checkStep(step: number): void {
    if (!Number.isInteger(step) || step < 0 || step >= this.steps) {
      throw new FlowError('qSample', `step must be an integer in [0, ${this.steps - 1}] (≤ 0 disables), got ${step}`);
    }
  }
}
