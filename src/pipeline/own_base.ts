// Our own base model: a small unconditional latent flow model (trained with model.flow.source noise,
// configs/default/base.yaml) in the bundled CFM's latent space, so `fmboost generate` runs without outside
// weights. Its bundle is one safetensors file:
//   tensors       unet.<key> (EfficientUNet, in = out = latent channels), vae.<key> (its first stage)
//   __metadata__  format = fmboost-base-model, version, name, unet / vae configs, base (BaseSpec), info
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Generator, noGrad, randn, tidy, type Tensor } from '../tensor/index.js';
import { writeSafetensors } from '../io/index.js';
import { isSolverName, sampleAsync, samplingOptionProblem, SOLVER_NAMES, type SolverName } from '../flow/index.js';
import type { AutoencoderKL, EfficientUNet } from '../models/index.js';
import { BASE_FORMAT, BASE_VERSION } from '../artifacts/formats.js';
import { openArtifact } from '../artifacts/open.js';
import { buildNets, openTrainingRun, type CheckpointLoadOptions } from './bundle.js';
import type { BaseModel, BaseSampleOptions } from './base_model.js';
import { ModelLoadError, PipelineError } from './errors.js';

/** How the base samples: latent scale, native size, default sampler. */
export interface BaseSpec {
  /** Model-space latent = unscaled latent × scaleFactor (scale_by_std's value from training). */
  scaleFactor: number;
  /** [height, width] in pixels it was trained at. */
  size: [number, number];
  /** Default ODE solver and solver steps from N(0, I) at t = 0 to the latent at t = 1. */
  solver: SolverName;
  steps: number;
}

function checkSpec(raw: unknown, where: string): BaseSpec {
  const s = raw as Partial<BaseSpec> | undefined;
  const bad = (what: string) => new ModelLoadError(where, null, `base config: ${what}`);
  if (!s || typeof s !== 'object') throw bad('missing');
  if (!(typeof s.scaleFactor === 'number' && s.scaleFactor >= 1e-6 && s.scaleFactor <= 1e6)) throw bad(`scaleFactor must be from 1e-6 to 1e6, got ${JSON.stringify(s.scaleFactor)}`);
  if (!Array.isArray(s.size) || s.size.length !== 2 || !s.size.every((v) => Number.isInteger(v) && v >= 8 && v <= 4096)) throw bad(`size must be [h, w] in 8…4096, got ${JSON.stringify(s.size)}`);
  if (!isSolverName(s.solver as string)) throw bad(`solver must be one of ${SOLVER_NAMES.join(', ')}, got ${JSON.stringify(s.solver)}`);
  const p = samplingOptionProblem('steps', s.steps);
  if (p) throw bad(`steps ${p}`);
  return { scaleFactor: s.scaleFactor, size: [s.size[0], s.size[1]], solver: s.solver as SolverName, steps: s.steps as number };
}

/** Package root (this file is dist/src/pipeline/own_base.js). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where the bundled base model lives (FMBOOST_DEFAULT_BASE overrides it). */
export function defaultBasePath(): string {
  return process.env.FMBOOST_DEFAULT_BASE || resolve(ROOT, 'models/default/fmboost-base.safetensors');
}

export class OwnBase implements BaseModel {
  readonly kind = 'fmboost-base';
  readonly needsPrompt = false;
  readonly samplers: readonly string[];
  private disposed = false;

  private constructor(readonly name: string, readonly unet: EfficientUNet, readonly vae: AutoencoderKL, readonly spec: BaseSpec, readonly info?: Record<string, unknown>) {
    this.samplers = [spec.solver, ...SOLVER_NAMES.filter((s) => s !== spec.solver)];
  }

  get defaultSize(): [number, number] { return [...this.spec.size] as [number, number]; }
  get vaeConfig(): Readonly<Record<string, unknown>> { return this.vae.config as unknown as Record<string, unknown>; }

  /** Reads a base bundle (format fmboost-base-model). */
  static load(path: string): OwnBase {
    let a;
    try {
      a = openArtifact(path);
    } catch (e) {
      throw new ModelLoadError(path, null, `not a readable base model (${(e as Error).message})`);
    }
    if (a.kind !== 'base') throw new ModelLoadError(path, null, `not an fmboost base model (metadata format ${JSON.stringify(a.metadata.format)}, expected "${BASE_FORMAT}")`);
    if (Number(a.metadata.version) > BASE_VERSION) throw new ModelLoadError(path, null, `base model version ${a.metadata.version} is newer than this fmboost reads (${BASE_VERSION})`);
    const spec = checkSpec(a.json('base'), path);
    const { unet, vae } = buildNets(path, a.json('unet') ?? {}, a.json('vae') ?? {}, () => ({ unet: a.read('unet'), vae: a.read('vae') }), 'none');
    let info: Record<string, unknown> | undefined;
    try { info = a.json('info'); } catch { /* provenance is informational */ }
    return new OwnBase(a.metadata.name ?? 'fmboost-base', unet, vae, spec, info);
  }

  /** The latent of N(0, I) carried to t = 1 by the field (no prompt: the model is unconditional). */
  async sample(o: BaseSampleOptions = {}): Promise<Tensor> {
    if (this.disposed) throw new PipelineError('base', 'this base model was disposed');
    const solver = (o.sampler ?? this.spec.solver) as SolverName;
    if (!isSolverName(solver)) throw new PipelineError('base', `unknown sampler '${o.sampler}' for ${this.name} (${this.samplers.join(', ')})`);
    const steps = o.steps ?? this.spec.steps;
    const p = samplingOptionProblem('steps', steps);
    if (p) throw new PipelineError('base', `steps ${p}`);
    const [H, W] = o.size ?? this.spec.size;
    const f = this.vae.downFactor * this.unet.sizeMultiple;
    if (!(Number.isInteger(H) && Number.isInteger(W) && H % f === 0 && W % f === 0 && H >= f && W >= f && H * W <= 4096 * 4096)) {
      throw new PipelineError('base', `size ${H}×${W} must be positive multiples of ${f} px (at most 4096² in area); ${this.name} was trained at ${this.spec.size.join('×')}`);
    }
    const g = new Generator(o.seed ?? 0);
    const x0 = randn([1, this.vae.config.embedDim, H / this.vae.downFactor, W / this.vae.downFactor], { generator: g });
    try {
      const { latent } = await sampleAsync((x, t) => this.unet.forward(x, t), { source: x0, context: null }, {
        solver, steps: steps + 1, generator: g, signal: o.signal,
        callback: o.onStep && ((i) => o.onStep!(i.step, steps)),
      });
      try { return tidy(() => latent.div(this.spec.scaleFactor)); } finally { latent.dispose(); }
    } finally {
      x0.dispose();
    }
  }

  decode(latent: Tensor): Tensor {
    return noGrad(() => tidy(() => this.vae.decode(latent).clamp(-1, 1)));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.unet.dispose();
    this.vae.dispose();
  }
}

/** Writes a base bundle (atomically, as every safetensors write). */
export function writeBaseBundle(path: string, o: { unet: EfficientUNet; vae: AutoencoderKL; spec: BaseSpec; name?: string; info?: Record<string, unknown>; dtype?: 'float32' | 'float16' }): void {
  const spec = checkSpec(o.spec, path);
  const tensors = new Map<string, Tensor>(), owned: Tensor[] = [];
  const put = (k: string, t: Tensor) => {
    if (o.dtype === 'float16' && t.dtype === 'float32') { const h = t.to('float16'); owned.push(h); tensors.set(k, h); } else tensors.set(k, t);
  };
  for (const [k, t] of o.unet.stateDict()) put(`unet.${k}`, t);
  for (const [k, t] of o.vae.stateDict()) put(`vae.${k}`, t);
  const metadata: Record<string, string> = {
    format: BASE_FORMAT, version: String(BASE_VERSION), name: o.name ?? 'fmboost-base',
    unet: JSON.stringify(o.unet.config), vae: JSON.stringify(o.vae.config), base: JSON.stringify(spec),
    dtype: o.dtype ?? 'float32',
  };
  if (o.info) metadata.info = JSON.stringify(o.info);
  try { writeSafetensors(path, tensors, metadata); } finally { for (const t of owned) t.dispose(); }
}

/** A training checkpoint of a model.flow.source noise run → a base bundle (EMA UNet, its VAE, scale factor, size). */
export function exportBaseBundle(checkpoint: string, out: string, opts: CheckpointLoadOptions & {
  name?: string; info?: Record<string, unknown>; dtype?: 'float32' | 'float16'; sampling?: { solver?: SolverName; steps?: number };
} = {}): void {
  const run = openTrainingRun(checkpoint, opts);
  const cfg = run.config as { model?: { flow?: { source?: string; scale_factor?: number } }; data?: { image_size?: number }; train?: { val?: { solver?: string; num_steps?: number } } };
  if (cfg.model?.flow?.source !== 'noise') throw new ModelLoadError(checkpoint, null, `not a base-model run (model.flow.source is ${JSON.stringify(cfg.model?.flow?.source)}, a base model needs noise); export it as a CFM bundle instead`);
  const size = Number(cfg.data?.image_size ?? 64);
  const spec = checkSpec({
    scaleFactor: Number(cfg.model.flow.scale_factor),
    size: [size, size],
    solver: opts.sampling?.solver ?? cfg.train?.val?.solver ?? 'euler',
    steps: opts.sampling?.steps ?? Math.max(1, Number(cfg.train?.val?.num_steps ?? 21) - 1), // configs count grid points
  }, checkpoint);
  const { unet, vae } = buildNets(checkpoint, run.unetCfg, run.vaeCfg, run.weights, 'none');
  try {
    writeBaseBundle(out, { unet, vae, spec, name: opts.name ?? run.name, info: { checkpoint, ...opts.info }, dtype: opts.dtype });
  } finally {
    unet.dispose();
    vae.dispose();
  }
}
