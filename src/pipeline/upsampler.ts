// The library API:
//   const up = await Upsampler.load({ model: 'model.safetensors' });
//   const r = await up.upsampleImage('photo.png', { steps: 2, seed: 1, onProgress, signal });
//   await r.save('photo_x4.png'); r.dispose();
// Inputs: a path, encoded bytes (Buffer / Uint8Array), a sharp instance, or a [3|4, H, W] tensor in [-1, 1]; an
// alpha channel is upscaled apart (bicubic) and comes back as result.alpha.
// One model applied k times gives factor^k (--scale 4 with a 2× model = two passes); a list of models is a
// cascade of stages. Every random draw of a run comes from one Generator seeded with `seed`, so a run is
// reproducible, and each image of a batch gets the same seed (its result does not depend on its position).
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { F, Generator, cudaAvailable, resolvePrecision, runtimeInfo, setNumThreads, tidy, type Precision, type PrecisionOption, type Tensor } from '../tensor/index.js';
import { isSolverName, samplingOptionProblem, SOLVER_NAMES } from '../flow/index.js';
import { probeImage, readImageParts, type DecodeOptions, type ImageParts } from '../data/index.js';
import { quoteWithSuggestion } from '../util/suggest.js';
import { disposeModel, layOutFor, loadModel, resolveFlowConfig, type CfmModel, type CheckpointLoadOptions } from './bundle.js';
import { chooseTiling, defaultMemoryBudget, estimatePass, formatBytes } from './memory.js';
import { DefaultModelMissingError, MemoryBudgetError, PipelineError } from './errors.js';
import { readLatentFile } from './latent_io.js';
import { decodeBaseLatent, upscalePass, type StageContext } from '../upscale/stages.js';
import { planScale, type ScalePlan } from './scale_plan.js';
import { overallFraction } from './progress.js';
import { UpsampleResult } from './result.js';
import { assertFinite } from '../upscale/finite.js';
import { UPSAMPLE_OPTION_KEYS, type LatentInput, type ProgressCallback, type StageProgressCallback, type UpsampleInfo, type UpsampleOptions, type UpsamplerLoadOptions } from './types.js';

/** The device names fmboost takes: cpu, cuda, cuda:N (the CLI checks the spelling with it before anything loads). */
export const DEVICE_NAME = /^(cpu|cuda(?::(\d+))?)$/;

/** 'cpu', 'cuda' or 'cuda:N', checked against what this libtorch has (a plain message instead of a TorchError). */
export function checkDevice(device: string): string {
  const m = DEVICE_NAME.exec(device);
  if (!m) throw new PipelineError('load', `device must be cpu, cuda or cuda:N, got '${device}'`);
  if (m[1] !== 'cpu') {
    if (!cudaAvailable()) throw new PipelineError('load', `device '${device}': this libtorch was built without CUDA or sees no GPU (\`fmboost info\` shows the runtime); use cpu`);
    const n = runtimeInfo().cudaDevices;
    if (m[2] !== undefined && Number(m[2]) >= n) throw new PipelineError('load', `device '${device}': there ${n === 1 ? 'is 1 GPU' : `are ${n} GPUs`} (cuda:0${n > 1 ? `…cuda:${n - 1}` : ''})`);
  }
  return device;
}

/** What a sharp instance offers that we use (sharp is not imported here just for its type). */
interface SharpLike {
  clone(): SharpLike;
  keepMetadata(): SharpLike;
  png(): SharpLike;
  toBuffer(): Promise<Buffer>;
}

/** An image to upscale: a file path, encoded bytes, a sharp instance, a [3 | 4, H, W] / [1, 3 | 4, H, W] tensor, or
 *  an image decoded by data/readImageParts (its ICC / EXIF come back with the result; the caller keeps its tensors). */
export type ImageInput = Tensor | string | Buffer | Uint8Array | SharpLike | ImageParts;

function isImageParts(x: unknown): x is ImageParts {
  return typeof x === 'object' && x !== null && 'rgb' in x && typeof (x as ImageParts).rgb?.ndim === 'number';
}

function isSharp(x: unknown): x is SharpLike {
  return typeof x === 'object' && x !== null && typeof (x as SharpLike).toBuffer === 'function' && typeof (x as SharpLike).keepMetadata === 'function';
}

/** Options as the stages see them: progress without the overall fraction, which withFraction adds. */
type RunOptions = Omit<UpsampleOptions, 'onProgress'> & { onProgress?: StageProgressCallback };

/** The caller's onProgress with the run's overall fraction filled in. */
function withFraction(cb: ProgressCallback | undefined): StageProgressCallback | undefined {
  if (!cb) return undefined;
  return (stage, step, total, d) => {
    const pass = d?.pass ?? 0, passes = d?.passes ?? 1;
    cb(stage, step, total, { pass, passes, tile: d?.tile ?? 0, tiles: d?.tiles ?? 1, fraction: overallFraction(stage, step, total, pass, passes) });
  };
}

/** Package root (this file is dist/src/pipeline/upsampler.js). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where the bundled default model lives (FMBOOST_DEFAULT_MODEL overrides it). */
export function defaultModelPath(): string {
  return process.env.FMBOOST_DEFAULT_MODEL || resolve(ROOT, 'models/default/fmboost-default.safetensors');
}

export class Upsampler {
  private disposed = false;

  private constructor(readonly stages: CfmModel[], readonly device: string, readonly precision: Precision, private readonly ownsModels = true) {}

  /**
   * An Upsampler over networks already in memory (a pipeline built from components, like diffusers'): e.g. a
   * trainer's EMA UNet and frozen VAE with their flow spec (upscale/model.ts flowConfigOfRun), or a cascade of
   * them. The caller keeps ownership: dispose() leaves the networks alone. Runs on the networks' device, fp32 by
   * default; 'bf16' needs channels_last weights for speed (layOutFor), which this does not change.
   */
  static fromModels(models: CfmModel | CfmModel[], opts: { precision?: PrecisionOption } = {}): Upsampler {
    const stages = Array.isArray(models) ? [...models] : [models];
    if (!stages.length) throw new PipelineError('fromModels', 'give at least one model');
    for (const m of stages) {
      if (!m || !m.unet || !m.vae || !m.flow) throw new PipelineError('fromModels', 'each model needs unet, vae and flow (a CfmModel)');
      resolveFlowConfig(m.flow, m.name ?? 'fromModels');
    }
    const first = stages[0].unet.parameters()[0];
    const device = first ? first.device : 'cpu';
    let precision: Precision;
    try {
      precision = resolvePrecision(opts.precision ?? 'fp32', device);
    } catch (e) {
      throw new PipelineError('fromModels', (e as Error).message);
    }
    return new Upsampler(stages, device, precision, false);
  }

  /** Loads a model bundle (or a training checkpoint, or a list of stage models for a cascade). */
  static async load(opts: UpsamplerLoadOptions & CheckpointLoadOptions = {}): Promise<Upsampler> {
    if (opts.threads !== undefined) setNumThreads(opts.threads);
    let paths: string[];
    if (opts.model === undefined || (Array.isArray(opts.model) && opts.model.length === 0)) {
      const p = defaultModelPath();
      if (!existsSync(p)) throw new DefaultModelMissingError(p);
      paths = [p];
    } else {
      paths = Array.isArray(opts.model) ? opts.model : [opts.model];
    }
    const device = checkDevice(opts.device ?? 'cpu');
    let precision: Precision;
    try {
      precision = resolvePrecision(opts.precision, device);
    } catch (e) {
      throw new PipelineError('load', (e as Error).message);
    }
    const stages: CfmModel[] = [];
    try {
      for (const p of paths) {
        const m = loadModel(p, { vae: opts.vae, online: opts.online });
        stages.push(m);
        layOutFor(m, precision);
        if (device !== 'cpu') {
          m.unet.to(device);
          m.vae.to(device);
        }
      }
    } catch (e) {
      for (const m of stages) disposeModel(m);
      throw e;
    }
    return new Upsampler(stages, device, precision);
  }

  /** Display name: the stage names joined by ' → '. */
  get modelName(): string {
    return this.stages.map((s) => s.name).join(' → ');
  }

  /** The pass plan for an overall scale: which stage runs in each pass, and whether the result is shrunk. */
  plan(scale?: number): ScalePlan<CfmModel> {
    return planScale(this.stages, (m) => m.flow.factor, scale);
  }

  private check(opts: UpsampleOptions): void {
    if (this.disposed) throw new PipelineError('upsample', 'this Upsampler was disposed');
    if (typeof opts !== 'object' || opts === null) throw new PipelineError('upsample', `options must be an object, got ${opts === null ? 'null' : typeof opts}`);
    const unknown = Object.keys(opts).filter((k) => !(UPSAMPLE_OPTION_KEYS as readonly string[]).includes(k) && k !== 'scaled');
    if (unknown.length) throw new PipelineError('upsample', `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => quoteWithSuggestion(k, UPSAMPLE_OPTION_KEYS)).join(', ')}; valid options: ${UPSAMPLE_OPTION_KEYS.join(', ')}`);
    if (opts.solver !== undefined && !isSolverName(opts.solver)) throw new PipelineError('upsample', `unknown solver ${quoteWithSuggestion(String(opts.solver), SOLVER_NAMES)} (${SOLVER_NAMES.join(', ')})`);
    for (const k of ['steps', 'noiseStep', 'seed'] as const) {
      const problem = opts[k] === undefined ? null : samplingOptionProblem(k, opts[k]);
      if (problem) throw new PipelineError('upsample', `${k} ${problem}`);
    }
    if (opts.tileSize !== undefined && (!Number.isInteger(opts.tileSize) || opts.tileSize < 1)) throw new PipelineError('upsample', `tileSize must be a positive integer (pixels), got ${opts.tileSize}`);
    if (opts.tileOverlap !== undefined && (!Number.isInteger(opts.tileOverlap) || opts.tileOverlap < 0)) throw new PipelineError('upsample', `tileOverlap must be an integer ≥ 0 (pixels), got ${opts.tileOverlap}`);
    if (opts.maxMemory !== undefined && !(Number.isFinite(opts.maxMemory) && opts.maxMemory >= 2 ** 20)) throw new PipelineError('upsample', `maxMemory must be a number of bytes ≥ 1 MiB, got ${opts.maxMemory}`);
    if (opts.vaeTiling !== undefined && opts.vaeTiling !== 'exact' && opts.vaeTiling !== 'blend') throw new PipelineError('upsample', `vaeTiling must be 'exact' or 'blend', got '${String(opts.vaeTiling)}'`);
    if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') throw new PipelineError('upsample', 'onProgress must be a function');
    if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw new PipelineError('upsample', 'signal must be an AbortSignal');
  }

  /** Tile side and overlap in latent units of a stage, from pixel options (output resolution). */
  private tiling(m: CfmModel, opts: RunOptions): { tile: number | null; overlap?: number; vaeTiling?: 'exact' | 'blend' } {
    if (!opts.tileSize) return { tile: null };
    const f = m.vae.downFactor, k = m.unet.sizeMultiple;
    const tile = Math.floor(opts.tileSize / f / k) * k;
    if (tile < k) throw new PipelineError('upsample', `tileSize ${opts.tileSize} px is below the smallest tile (${f * k} px) for this model`);
    const overlap = opts.tileOverlap !== undefined ? Math.round(opts.tileOverlap / f) : undefined;
    return { tile, overlap, vaeTiling: opts.vaeTiling };
  }

  /** Each pass's tiling for an h × w input; throws MemoryBudgetError when one cannot fit. */
  private planPasses(passes: CfmModel[], h: number, w: number, opts: RunOptions): ReturnType<Upsampler['passTiling']>[] {
    return passes.map((m) => { h *= m.flow.factor; w *= m.flow.factor; return this.passTiling(m, h, w, opts); });
  }

  /**
   * Checks, from an image's size alone (e.g. its file header, before decoding it), that upscaling it with these
   * options fits the memory budget: throws MemoryBudgetError naming the estimate otherwise. upsampleImage checks
   * again after decoding; this lets a caller refuse a huge image without decoding it first.
   */
  checkFits(width: number, height: number, opts: UpsampleOptions = {}): void {
    this.check(opts);
    this.planPasses(this.plan(opts.scale).passes, height, width, opts as RunOptions);
  }

  /**
   * Tiling of one pass to an H × W output: the caller's tileSize (refused when its estimate exceeds the budget),
   * else the whole image or the largest tiles whose estimated peak fits the budget (pipeline/memory.ts).
   */
  private passTiling(m: CfmModel, H: number, W: number, opts: RunOptions): { tile: number | null; overlap?: number; vaeTiling?: 'exact' | 'blend' } {
    if (this.device !== 'cpu') return this.tiling(m, opts); // the estimate is of host memory
    const total = opts.maxMemory ?? defaultMemoryBudget();
    const inUse = process.memoryUsage.rss();
    const budget = total - inUse;
    const f = m.vae.downFactor, C = m.vae.config.embedDim;
    const budgetText = `the memory budget of ${formatBytes(total)}${opts.maxMemory === undefined ? ' (default: a quarter of the free memory, at most 4 GB)' : ''} less ${formatBytes(inUse)} this process holds`;
    if (opts.tileSize !== undefined) {
      const t = this.tiling(m, opts);
      const est = estimatePass(m.unet.config, m.vae.config, f, C, H, W, t.tile, t.vaeTiling ?? 'exact');
      if (est.bytes > budget) {
        throw new MemoryBudgetError(est.bytes, budget, `a ${W}×${H} output with tileSize ${opts.tileSize} needs about ${formatBytes(est.bytes)}, above ${budgetText}; use a smaller tileSize (--tile) or leave it out to tile automatically, or raise maxMemory (--max-memory)`);
      }
      return t;
    }
    const c = chooseTiling(m.unet.config, m.vae.config, f, C, H, W, m.unet.sizeMultiple, budget, opts.vaeTiling);
    if (!c.fit) {
      throw new MemoryBudgetError(c.smallest.estimate.bytes, budget, `a ${W}×${H} output needs about ${formatBytes(c.smallest.estimate.bytes)} even in the smallest tiles (${(c.smallest.tile ?? 0) * f} px), above ${budgetText}; raise maxMemory (--max-memory) or choose a smaller scale`);
    }
    return { tile: c.fit.tile, ...(c.fit.tile !== null ? { overlap: opts.tileOverlap !== undefined ? Math.round(opts.tileOverlap / f) : c.fit.overlap } : {}), vaeTiling: c.fit.vaeTiling };
  }

  /**
   * Decodes an image file or its bytes for upsampleImage with these options, after checking from its header that
   * the run fits the memory budget (a picture too large is refused undecoded). For callers that need the decoded
   * picture themselves (the CLI's --compare, serve's pixel limit) before passing it on.
   */
  async readImage(input: string | Buffer, opts: UpsampleOptions = {}, decode: DecodeOptions = {}): Promise<ImageParts> {
    const size = await probeImage(input, decode);
    this.checkFits(size.width, size.height, opts);
    return readImageParts(input, decode);
  }

  /** Decodes or splits an image input into colour [3, H, W], optional alpha [1, H, W] and metadata blocks. */
  private async imageParts(image: ImageInput, opts: RunOptions): Promise<ImageParts> {
    if (typeof image === 'string') {
      opts.onProgress?.('load', 0, 1);
      return this.readImage(image, opts);
    }
    if (image instanceof Uint8Array) return this.readImage(Buffer.isBuffer(image) ? image : Buffer.from(image.buffer, image.byteOffset, image.byteLength), opts, { name: '<buffer>' });
    if (isSharp(image)) {
      // PNG keeps every pixel; keepMetadata lets our decoder apply the EXIF orientation and keep the ICC profile.
      return readImageParts(await image.clone().keepMetadata().png().toBuffer(), { name: '<sharp>' });
    }
    if (isImageParts(image)) {
      const { rgb, alpha } = image;
      if (rgb.ndim !== 3 || rgb.shape[0] !== 3 || (alpha && (alpha.ndim !== 3 || alpha.shape[0] !== 1 || alpha.shape[1] !== rgb.shape[1] || alpha.shape[2] !== rgb.shape[2]))) {
        throw new PipelineError('upsampleImage', `image parts must be rgb [3, H, W] and alpha [1, H, W], got [${rgb.shape.join(', ')}]${alpha ? ` and [${alpha.shape.join(', ')}]` : ''}`);
      }
      // aliases: the caller keeps (and disposes) its own tensors
      return { rgb: rgb.alias(), ...(alpha ? { alpha: alpha.alias() } : {}), ...(image.icc ? { icc: image.icc } : {}), ...(image.exif ? { exif: image.exif } : {}) };
    }
    const t = image as Tensor;
    if (typeof t !== 'object' || t === null || typeof t.ndim !== 'number') {
      throw new PipelineError('upsampleImage', 'image must be a file path, a Buffer / Uint8Array of an encoded image, a sharp instance or a Tensor');
    }
    const c = t.ndim === 3 ? t.shape[0] : t.ndim === 4 && t.shape[0] === 1 ? t.shape[1] : -1;
    if (c !== 3 && c !== 4) throw new PipelineError('upsampleImage', `image must be [3 | 4, H, W] or [1, 3 | 4, H, W] in [-1, 1], got [${t.shape.join(', ')}]`);
    return tidy(() => {
      const x = t.ndim === 4 ? t.squeeze(0) : t.alias();
      if (c === 3) return { rgb: x };
      return { rgb: x.narrow(0, 0, 3).contiguous(), alpha: x.narrow(0, 3, 1).contiguous() };
    }) as ImageParts;
  }

  /** One image (path, bytes, sharp instance or [3 | 4, H, W] tensor in [−1, 1]) → the upscaled image. */
  async upsampleImage(image: ImageInput, opts: UpsampleOptions = {}): Promise<UpsampleResult> {
    this.check(opts);
    const plan = this.plan(opts.scale);
    const t0 = Date.now();
    const o: RunOptions = { ...opts, onProgress: withFraction(opts.onProgress) };
    const parts = await this.imageParts(image, o);
    const alpha = parts.alpha;
    try {
      const img = parts.rgb;
      assertFinite(img, 'input image');
      const x = tidy(() => {
        let t = img.unsqueeze(0);
        if (t.dtype !== 'float32') t = t.to('float32');
        return this.device !== 'cpu' ? t.to(this.device) : t;
      });
      const r = await this.run(x, plan, o, t0, [img.shape[1], img.shape[2]], typeof image === 'string' ? image : undefined);
      if (!alpha) return new UpsampleResult(r.image, r.info, undefined, { icc: parts.icc, exif: parts.exif });
      try {
        // Alpha is not the model's domain: bicubic to the output size, clamped (bicubic overshoots at edges).
        const a = alpha;
        const up = tidy(() => F.interpolate(a.unsqueeze(0).to('float32'), { size: r.info.outputSize, mode: 'bicubic', alignCorners: false }).clamp(-1, 1).squeeze(0));
        return new UpsampleResult(r.image, r.info, up, { icc: parts.icc, exif: parts.exif });
      } catch (e) {
        r.image.dispose();
        throw e;
      }
    } finally {
      parts.rgb.dispose();
      alpha?.dispose();
    }
  }

  /** Runs the passes on x [1, 3, h, w] (consumed), then the plan's shrink to exactly inputSize × scale. */
  private async run(x: Tensor, plan: ScalePlan<CfmModel>, opts: RunOptions, t0: number, inputSize: [number, number], input?: string): Promise<{ image: Tensor; info: UpsampleInfo }> {
    const passes = plan.passes;
    const seed = opts.seed ?? 0;
    const generator = new Generator(seed, this.device);
    let cur = x, nfe = 0, tiles = 0;
    const first = passes[0].flow;
    // Bundles store grid points (the reference's num_steps); users give solver steps.
    const steps = opts.steps ?? first.steps - 1, solver = opts.solver ?? first.solver, noiseStep = opts.noiseStep ?? first.noiseStep;
    try {
      // every pass's tiling is decided (or the run refused) before any work
      const tilings = this.planPasses(passes, x.shape[2], x.shape[3], opts);
      for (let i = 0; i < passes.length; i++) {
        const m = passes[i];
        const ctx: StageContext = { ...tilings[i], precision: this.precision, onProgress: opts.onProgress, signal: opts.signal, pass: i, passes: passes.length };
        const r = await upscalePass(m, cur, {
          gridPoints: opts.steps !== undefined ? opts.steps + 1 : m.flow.steps, solver: opts.solver ?? m.flow.solver, noiseStep: opts.noiseStep ?? m.flow.noiseStep, generator,
        }, ctx);
        cur.dispose();
        cur = r.image;
        nfe += r.nfe;
        tiles = Math.max(tiles, r.tiles);
      }
      if (plan.resample) {
        opts.onProgress?.('resample', 0, 1);
        const size: [number, number] = [inputSize[0] * plan.scale, inputSize[1] * plan.scale];
        const small = tidy(() => F.interpolate(cur, { size, mode: 'bicubic', antialias: true, alignCorners: false }).clamp(-1, 1));
        cur.dispose();
        cur = small;
        opts.onProgress?.('resample', 1, 1);
      }
      assertFinite(cur, 'decoded image');
      const out = tidy(() => cur.squeeze(0).to('cpu'));
      const info: UpsampleInfo = {
        model: passes.map((m) => m.name).join(' → '),
        ...(input !== undefined ? { input } : {}),
        steps, solver, noiseStep, seed,
        precision: this.precision,
        scale: plan.scale,
        modelScale: plan.modelScale,
        resample: plan.resample ? 'bicubic_aa' : null,
        passes: passes.length,
        inputSize,
        outputSize: [out.shape[1], out.shape[2]],
        tiles, nfe,
        seconds: (Date.now() - t0) / 1000,
      };
      return { image: out, info };
    } finally {
      cur.dispose();
    }
  }

  /**
   * Several images (a list, or a [N, 3, H, W] tensor), one after another, each with the same seed (so a result
   * does not depend on its position in the batch).
   */
  async upsampleBatch(images: ImageInput[] | Tensor, opts: UpsampleOptions = {}): Promise<UpsampleResult[]> {
    if (!Array.isArray(images) && (images.ndim !== 4 || images.shape[1] !== 3)) {
      throw new PipelineError('upsampleBatch', `a batch tensor must be [N, 3, H, W], got [${images.shape.join(', ')}]`);
    }
    const n = Array.isArray(images) ? images.length : images.shape[0];
    const out: UpsampleResult[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const im = Array.isArray(images) ? images[i] : images.select(0, i);
        try {
          out.push(await this.upsampleImage(im, opts));
        } finally {
          if (!Array.isArray(images)) (im as Tensor).dispose();
        }
      }
      return out;
    } catch (e) {
      for (const r of out) r.dispose();
      throw e;
    }
  }

  /**
   * A base model's latent ([C, h, w] or [1, C, h, w] tensor, or a .npy / .safetensors file) → the upscaled image.
   * scaled: the latent is already multiplied by the scale factor (as diffusion pipelines output); default: the
   * file's metadata, else true.
   */
  async upsampleLatent(input: LatentInput | Tensor | string, opts: UpsampleOptions & { scaled?: boolean } = {}): Promise<UpsampleResult> {
    this.check(opts);
    const plan = this.plan(opts.scale), passes = plan.passes;
    const t0 = Date.now();
    const o: RunOptions & { scaled?: boolean } = { ...opts, onProgress: withFraction(opts.onProgress) };
    let z: Tensor, scaled: boolean | undefined;
    if (typeof input === 'string') {
      const f = readLatentFile(input);
      z = f.latent;
      scaled = opts.scaled ?? f.scaled;
    } else if ('latent' in input && !('ndim' in input)) {
      z = tidy(() => (input.latent.ndim === 3 ? input.latent.unsqueeze(0) : input.latent.alias()));
      scaled = input.scaled;
    } else {
      const t = input as Tensor;
      z = tidy(() => (t.ndim === 3 ? t.unsqueeze(0) : t.alias()));
      scaled = opts.scaled;
    }
    try {
      const m = passes[0];
      if (z.ndim !== 4 || z.shape[0] !== 1 || z.shape[1] !== m.vae.config.embedDim) {
        throw new PipelineError('upsampleLatent', `latent must be [${m.vae.config.embedDim}, h, w] or [1, ${m.vae.config.embedDim}, h, w] for this model, got [${z.shape.join(', ')}]`);
      }
      assertFinite(z, 'input latent');
      const zd = tidy(() => (z.dtype !== 'float32' ? z.to('float32') : z.alias()));
      // the base latent's own decode comes before the passes: it reports fraction 0
      const cb = opts.onProgress;
      const ctx: StageContext = { ...this.tiling(m, o), precision: this.precision, onProgress: cb && ((st, i, n, d) => cb(st, i, n, { pass: 0, passes: passes.length, tile: d?.tile ?? 0, tiles: d?.tiles ?? 1, fraction: 0 })), signal: opts.signal, pass: 0, passes: passes.length };
      let img: Tensor;
      try {
        img = await decodeBaseLatent(m, zd, scaled ?? true, ctx);
      } finally {
        zd.dispose();
      }
      const r = await this.run(img, plan, o, t0, [img.shape[2], img.shape[3]], typeof input === 'string' ? input : undefined);
      return new UpsampleResult(r.image, r.info);
    } finally {
      z.dispose();
    }
  }

  /** Frees the weights. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.ownsModels) for (const m of new Set(this.stages)) disposeModel(m);
  }
}
