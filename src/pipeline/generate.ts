// The paper's pipeline, base model → FMBoost: the base samples its latent, its own VAE decodes it, and the CFM
// upscales the picture (Upsampler.upsampleImage: pixel-space upsampling + the CFM's VAE encode (PSU) → flow ODE →
// the CFM's VAE decode). The CFM works in its own latent space reached through pixels, so ANY base works with a PSU
// CFM: the base's VAE and the CFM's need not agree. With no boost it stops at the base resolution.
import { tidy, type Tensor } from '../tensor/index.js';
import { PipelineError } from '../upscale/errors.js';
import type { Upsampler } from './upsampler.js';
import type { UpsampleInfo } from './types.js';
import type { BaseModel, BaseSampleOptions } from './base_model.js';
import type { SolverName } from '../flow/index.js';

export interface GenerateOptions extends BaseSampleOptions {
  /** Overall upscale of the boost (default: one pass of the CFM's factor). */
  scale?: number;
  /** CFM solver steps / solver / seed (default: the bundle's, and the base's seed). */
  boostSteps?: number;
  boostSolver?: SolverName;
  boostSeed?: number;
  /** Boost progress: the Upsampler's stages. */
  onBoostProgress?: (stage: string, step: number, total: number) => void;
}

export interface GenerateInfo {
  base: string;
  baseKind: string;
  prompt?: string;
  negativePrompt?: string;
  baseSize: [number, number];
  outputSize: [number, number];
  steps?: number;
  guidance?: number;
  sampler?: string;
  seed: number;
  /** The boost's run (absent with no boost). */
  boost?: UpsampleInfo;
  baseSeconds: number;
  seconds: number;
}

export interface GenerateResult {
  /** The base's picture [3, h, w] in [-1, 1]. */
  base: Tensor;
  /** The final picture [3, H, W] in [-1, 1] (the base's again, as its own tensor, with no boost). */
  image: Tensor;
  info: GenerateInfo;
}

/** Keys of the resolved VAE config that define its latent space (the latent scale does not: it is a multiplier). */
function sameVaeSpace(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => k !== 'scaleFactor'));
  return [...keys].every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}

/**
 * An LSU CFM (flow source 'lsu') was trained on latents of its own VAE interpolated in latent space, the paper's LSU
 * variant meant to take the base's latents as they are: it only makes sense when the base shares the CFM's VAE. We
 * refuse otherwise rather than silently re-encoding. (PSU CFMs, the bundled one included, need no such match.)
 */
export function checkBoostFits(base: BaseModel, boost: Upsampler): void {
  for (const [i, m] of boost.stages.entries()) {
    if (m.flow.source !== 'lsu') continue;
    const cfm = m.vae.config as unknown as Record<string, unknown>;
    if (!base.vaeConfig || !sameVaeSpace(base.vaeConfig, cfm)) {
      throw new PipelineError('generate', `the CFM ${m.name}${boost.stages.length > 1 ? ` (stage ${i + 1})` : ''} upsamples in latent space (flow source 'lsu') ` +
        `and its VAE differs from the base ${base.name}'s${base.vaeConfig ? '' : ' (which has none)'}: an LSU CFM only boosts a base with the same VAE. ` +
        'Use a PSU CFM (pixel-space source, like the bundled model), which works with any base.');
    }
  }
}

/** Base sample → base decode → (boost) CFM upscale. */
export async function generate(base: BaseModel, boost: Upsampler | null, opts: GenerateOptions = {}): Promise<GenerateResult> {
  if (base.needsPrompt && typeof opts.prompt !== 'string') throw new PipelineError('generate', `the base ${base.name} needs a prompt`);
  if (boost) {
    checkBoostFits(base, boost);
    boost.plan(opts.scale); // a scale the CFM cannot give fails here, before the base samples
  }
  const t0 = Date.now();
  const latent = await base.sample(opts);
  let img: Tensor;
  try {
    img = tidy(() => base.decode(latent).squeeze(0));
  } finally {
    latent.dispose();
  }
  const baseSeconds = (Date.now() - t0) / 1000;
  const baseSize: [number, number] = [img.shape[1], img.shape[2]];
  const info: GenerateInfo = {
    base: base.name, baseKind: base.kind, prompt: opts.prompt, negativePrompt: opts.negativePrompt, baseSize, outputSize: baseSize,
    steps: opts.steps, guidance: opts.guidance, sampler: opts.sampler ?? base.samplers[0], seed: opts.seed ?? 0, baseSeconds, seconds: baseSeconds,
  };
  if (!boost) return { base: img, image: img.alias(), info };
  try {
    // upsampleImage consumes nothing: the base picture stays ours.
    const r = await boost.upsampleImage(img, {
      scale: opts.scale, steps: opts.boostSteps, solver: opts.boostSolver, seed: opts.boostSeed ?? opts.seed ?? 0, signal: opts.signal,
      onProgress: opts.onBoostProgress && ((stage, step, total) => opts.onBoostProgress!(stage, step, total)),
    });
    info.boost = r.info;
    info.outputSize = r.info.outputSize;
    info.seconds = (Date.now() - t0) / 1000;
    // The result owns r.image; hand it over as ours (alias) and free the rest of the result.
    const image = r.image.alias();
    r.dispose();
    return { base: img, image, info };
  } catch (e) {
    img.dispose();
    throw e;
  }
}
