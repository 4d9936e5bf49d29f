// What an upscaler is made of: the flow UNet, the VAE and the flow spec (coupling, latent scale, factor, sampling
// defaults). Bundles, training checkpoints and a trainer's live networks all become a CfmModel, so the one
// upscale path (stages.ts) serves the Upsampler, `fmboost eval` and the trainer's validation alike.
import type { Precision } from '../tensor/index.js';
import { ModelLoadError, type AutoencoderKL, type EfficientUNet } from '../models/index.js';
import { samplingOptionProblem, type SolverName } from '../flow/index.js';

/** How the model was trained to be used: coupling, noise, latent scale, size factor and sampling defaults. */
export interface FlowBundleConfig {
  /** x0 / context construction: psu (pixel-space upsampling, the paper) or lsu (latent interpolation). */
  source: 'psu' | 'lsu';
  /** lsu: latent interpolation. */
  lsuInterpolation: 'nearest' | 'bilinear' | 'bicubic';
  /** psu: pixel-space resize of the low-res image (the reference: bilinear, no antialias). */
  pixelResize: 'bilinear' | 'bicubic';
  /** Noise-augmentation step of x0 (of 1000, cosine schedule); ≤ 0 = none. */
  noiseStep: number;
  /** x0 = N(0, I) instead of the coupled latent (plain conditional FM). */
  startFromNoise: boolean;
  /** Latent scale: encoder mean × scaleFactor is what the UNet saw. */
  scaleFactor: number;
  /** High-res / low-res side ratio of one pass (image_size / low_res_size in training). */
  factor: number;
  /** Sampling defaults. */
  solver: SolverName;
  steps: number;
  /** Probability path the model was trained on. */
  schedule: 'linear' | 'gvp';
  sigmaMin: number;
}

export const DEFAULT_FLOW_CONFIG: FlowBundleConfig = {
  source: 'psu', lsuInterpolation: 'bilinear', pixelResize: 'bilinear', noiseStep: 400, startFromNoise: false,
  scaleFactor: 0.18215, factor: 2, solver: 'euler', steps: 50, schedule: 'linear', sigmaMin: 0,
};

/** A loaded model: networks in eval mode plus what they need to be used. */
export interface CfmModel {
  path: string;
  name: string;
  unet: EfficientUNet;
  vae: AutoencoderKL;
  flow: FlowBundleConfig;
  /** The bundle's provenance (`info` metadata: training run, data, and `quality`, a line from its evaluation). */
  info?: Record<string, unknown>;
}

export function disposeModel(m: CfmModel): void {
  m.unet.dispose();
  m.vae.dispose();
}

/** Lays the weights out for a precision: bf16 wants channels_last (oneDNN's NHWC bf16 kernels, no reorder per
 *  conv: 1.6× on the VAE); fp32 keeps NCHW, which is what the parity tests prove. */
export function layOutFor(m: CfmModel, p: Precision): void {
  if (p !== 'bf16') return;
  m.unet.toMemoryFormat('channels_last');
  m.vae.toMemoryFormat('channels_last');
}

/** Checks a (partial) flow config and fills the defaults; errors name the key. */
export function resolveFlowConfig(raw: Partial<FlowBundleConfig> | Record<string, unknown>, where = 'flow'): FlowBundleConfig {
  const c = { ...DEFAULT_FLOW_CONFIG, ...(raw as Partial<FlowBundleConfig>) };
  const bad = (k: string, want: string) => new ModelLoadError(where, null, `flow.${k} must be ${want}, got ${JSON.stringify((c as unknown as Record<string, unknown>)[k])}`);
  for (const k of Object.keys(raw)) if (!(k in DEFAULT_FLOW_CONFIG)) throw new ModelLoadError(where, null, `unknown flow config key '${k}' (known: ${Object.keys(DEFAULT_FLOW_CONFIG).join(', ')})`);
  if (c.source !== 'psu' && c.source !== 'lsu') throw bad('source', "'psu' or 'lsu'");
  if (!['nearest', 'bilinear', 'bicubic'].includes(c.lsuInterpolation)) throw bad('lsuInterpolation', 'nearest, bilinear or bicubic');
  if (c.pixelResize !== 'bilinear' && c.pixelResize !== 'bicubic') throw bad('pixelResize', 'bilinear or bicubic');
  for (const [k, option] of [['noiseStep', 'noiseStep'], ['solver', 'solver'], ['steps', 'gridPoints']] as const) {
    const problem = samplingOptionProblem(option, c[k]);
    if (problem) throw new ModelLoadError(where, null, `flow.${k} ${problem}`);
  }
  if (typeof c.startFromNoise !== 'boolean') throw bad('startFromNoise', 'a boolean');
  // a latent scale far outside what any VAE needs (SD: 0.18215, ours ≈ 0.77) overflows the float32 latents: all-black output
  if (!(c.scaleFactor >= 1e-6 && c.scaleFactor <= 1e6)) throw bad('scaleFactor', 'from 1e-6 to 1e6');
  if (!Number.isInteger(c.factor) || c.factor < 1) throw bad('factor', 'an integer ≥ 1');
  if (c.schedule !== 'linear' && c.schedule !== 'gvp') throw bad('schedule', "'linear' or 'gvp'");
  if (!(c.sigmaMin >= 0)) throw bad('sigmaMin', '≥ 0');
  return c;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

/**
 * The flow spec of a training run's config (snake_case, as stored in checkpoints): how its model is used to
 * upscale. Sampling defaults are the run's validation sampler. `where` names the file or run in errors.
 */
export function flowConfigOfRun(cfg: Obj, where: string): FlowBundleConfig {
  const model = obj(cfg.model), data = obj(cfg.data), val = obj(obj(cfg.train).val), f = obj(model.flow);
  const source = f.source === 'lsu' ? 'lsu' : f.source === 'psu' || f.source === undefined ? 'psu' : null;
  if (!source) throw new ModelLoadError(where, null, `model.flow.source '${String(f.source)}' is not supported for upscaling (psu, lsu)`);
  const imageSize = Number(data.image_size ?? 1024), lowRes = Number(data.low_res_size ?? 512);
  if (imageSize % lowRes !== 0) throw new ModelLoadError(where, null, `data.image_size ${imageSize} is not a multiple of data.low_res_size ${lowRes}: no integer upscaling factor`);
  return resolveFlowConfig({
    source,
    lsuInterpolation: (f.lsu_interpolation as FlowBundleConfig['lsuInterpolation']) ?? 'bilinear',
    noiseStep: Number(f.noising_step ?? 400),
    startFromNoise: Boolean(f.start_from_noise ?? false),
    scaleFactor: Number(f.scale_factor ?? 0.18215),
    factor: imageSize / lowRes,
    solver: (typeof val.solver === 'string' ? val.solver : 'euler') as SolverName,
    steps: Number(val.num_steps ?? 50),
    schedule: f.schedule === 'gvp' ? 'gvp' : 'linear',
    sigmaMin: Number(f.sigma_min ?? 0),
  }, where);
}
