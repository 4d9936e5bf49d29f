// The library API:
//   const up = await Upsampler.load({ model: 'model.safetensors' });
//   const { image, info } = await up.upsampleImage('photo.png', { steps: 20, seed: 1, onProgress, signal });
// One model applied k times gives factor^k (--scale 4 with a 2× model = two passes); a list of models is a
// cascade of stages. Every random draw of a run comes from one Generator seeded with `seed`, so a run is
// reproducible, and each image of a batch gets the same seed (its result does not depend on its position).
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { F, Generator, resolvePrecision, setNumThreads, tidy, type Precision, type Tensor } from '../tensor/index.js';
import { isSolverName, MAX_GRID_POINTS, SOLVER_NAMES } from '../flow/index.js';
import { readImage } from '../data/index.js';
import { disposeModel, layOutFor, loadModel, type CfmModel, type CheckpointLoadOptions } from './bundle.js';
import { DefaultModelMissingError, PipelineError } from './errors.js';
import { readLatentFile } from './latent_io.js';
import { decodeBaseLatent, upscalePass, type StageContext } from './stages.js';
import { planScale, type ScalePlan } from './scale_plan.js';
import type { LatentInput, UpsampleInfo, UpsampleOptions, UpsampleResult, UpsamplerLoadOptions } from './types.js';

/** Package root (this file is dist/src/pipeline/upsampler.js). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where the bundled default model lives (FMBOOST_DEFAULT_MODEL overrides it). */
export function defaultModelPath(): string {
  return process.env.FMBOOST_DEFAULT_MODEL || resolve(ROOT, 'models/default/fmboost-default.safetensors');
}

export class Upsampler {
  private disposed = false;

  private constructor(readonly stages: CfmModel[], readonly device: string, readonly precision: Precision) {}

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
    const device = opts.device ?? 'cpu';
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
    if (opts.steps !== undefined && (!Number.isInteger(opts.steps) || opts.steps < 2 || opts.steps > MAX_GRID_POINTS)) throw new PipelineError('upsample', `steps must be an integer from 2 to ${MAX_GRID_POINTS} (grid points), got ${opts.steps}`);
    if (opts.solver !== undefined && !isSolverName(opts.solver)) throw new PipelineError('upsample', `unknown solver '${opts.solver as string}' (${SOLVER_NAMES.join(', ')})`);
    if (opts.noiseStep !== undefined && (!Number.isInteger(opts.noiseStep) || opts.noiseStep < -1 || opts.noiseStep > 999)) throw new PipelineError('upsample', `noiseStep must be an integer in [-1, 999], got ${opts.noiseStep}`);
    if (opts.seed !== undefined && (!Number.isInteger(opts.seed) || opts.seed < 0)) throw new PipelineError('upsample', `seed must be an integer ≥ 0, got ${opts.seed}`);
    if (opts.tileSize !== undefined && (!Number.isInteger(opts.tileSize) || opts.tileSize < 1)) throw new PipelineError('upsample', `tileSize must be a positive integer (pixels), got ${opts.tileSize}`);
    if (opts.tileOverlap !== undefined && (!Number.isInteger(opts.tileOverlap) || opts.tileOverlap < 0)) throw new PipelineError('upsample', `tileOverlap must be an integer ≥ 0 (pixels), got ${opts.tileOverlap}`);
    if (opts.vaeTiling !== undefined && opts.vaeTiling !== 'exact' && opts.vaeTiling !== 'blend') throw new PipelineError('upsample', `vaeTiling must be 'exact' or 'blend', got '${String(opts.vaeTiling)}'`);
  }

  /** Tile side and overlap in latent units of a stage, from pixel options (output resolution). */
  private tiling(m: CfmModel, opts: UpsampleOptions): { tile: number | null; overlap?: number; vaeTiling?: 'exact' | 'blend' } {
    if (!opts.tileSize) return { tile: null };
    const f = m.vae.downFactor, k = m.unet.sizeMultiple;
    const tile = Math.floor(opts.tileSize / f / k) * k;
    if (tile < k) throw new PipelineError('upsample', `tileSize ${opts.tileSize} px is below the smallest tile (${f * k} px) for this model`);
    const overlap = opts.tileOverlap !== undefined ? Math.round(opts.tileOverlap / f) : undefined;
    return { tile, overlap, vaeTiling: opts.vaeTiling };
  }

  /** One image ([3, H, W] or [1, 3, H, W] in [−1, 1], or a file path) → the upscaled image. */
  async upsampleImage(image: Tensor | string, opts: UpsampleOptions = {}): Promise<UpsampleResult> {
    this.check(opts);
    const plan = this.plan(opts.scale);
    const t0 = Date.now();
    let img: Tensor;
    if (typeof image === 'string') {
      opts.onProgress?.('load', 0, 1);
      img = await readImage(image);
    } else {
      if (!(image.ndim === 3 && image.shape[0] === 3) && !(image.ndim === 4 && image.shape[0] === 1 && image.shape[1] === 3)) {
        throw new PipelineError('upsampleImage', `image must be [3, H, W] or [1, 3, H, W] in [-1, 1], got [${image.shape.join(', ')}]`);
      }
      img = image.alias();
    }
    try {
      const x = tidy(() => {
        let t = img.ndim === 3 ? img.unsqueeze(0) : img.alias();
        if (t.dtype !== 'float32') t = t.to('float32');
        return this.device !== 'cpu' ? t.to(this.device) : t;
      });
      return await this.run(x, plan, opts, t0, [img.shape[img.ndim - 2], img.shape[img.ndim - 1]]);
    } finally {
      img.dispose();
    }
  }

  /** Runs the passes on x [1, 3, h, w] (consumed), then the plan's shrink to exactly inputSize × scale. */
  private async run(x: Tensor, plan: ScalePlan<CfmModel>, opts: UpsampleOptions, t0: number, inputSize: [number, number]): Promise<UpsampleResult> {
    const passes = plan.passes;
    const seed = opts.seed ?? 0;
    const generator = new Generator(seed, this.device);
    let cur = x, nfe = 0, tiles = 0;
    const first = passes[0].flow;
    const steps = opts.steps ?? first.steps, solver = opts.solver ?? first.solver, noiseStep = opts.noiseStep ?? first.noiseStep;
    try {
      for (let i = 0; i < passes.length; i++) {
        const m = passes[i];
        const ctx: StageContext = { ...this.tiling(m, opts), precision: this.precision, onProgress: opts.onProgress, signal: opts.signal, pass: i, passes: passes.length };
        const r = await upscalePass(m, cur, {
          steps: opts.steps ?? m.flow.steps, solver: opts.solver ?? m.flow.solver, noiseStep: opts.noiseStep ?? m.flow.noiseStep, generator,
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
      const out = tidy(() => cur.squeeze(0).to('cpu'));
      const info: UpsampleInfo = {
        model: passes.map((m) => m.name).join(' → '),
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
  async upsampleBatch(images: (Tensor | string)[] | Tensor, opts: UpsampleOptions = {}): Promise<UpsampleResult[]> {
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
      for (const r of out) r.image.dispose();
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
      const zd = tidy(() => (z.dtype !== 'float32' ? z.to('float32') : z.alias()));
      const ctx: StageContext = { ...this.tiling(m, opts), precision: this.precision, onProgress: opts.onProgress, signal: opts.signal, pass: 0, passes: passes.length };
      let img: Tensor;
      try {
        img = await decodeBaseLatent(m, zd, scaled ?? true, ctx);
      } finally {
        zd.dispose();
      }
      return await this.run(img, plan, opts, t0, [img.shape[2], img.shape[3]]);
    } finally {
      z.dispose();
    }
  }

  /** Frees the weights. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const m of new Set(this.stages)) disposeModel(m);
  }
}
