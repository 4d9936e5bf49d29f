// The stages of one upscaling pass, each tiled on the latent grid:
//   encode  image [1, 3, H, W] → scaled latent [1, C, H/f, W/f]        (VAE posterior mean × scaleFactor)
//   flow    x0 (noised coupled latent) → x1 with the UNet's field        (ODE; tiles blended at every evaluation)
//   decode  scaled latent → image [1, 3, H, W]                          (VAE decoder on latent / scaleFactor)
import { F, atPrecision, full, noGrad, randn, tidy, keep, type Generator, type Precision, type Tensor } from '../tensor/index.js';
import { AbortError, NoiseAugmenter, contextLatentAsync, getSolverAsync, linspaceGrid, type VectorField } from '../flow/index.js';
import type { CfmModel } from './model.js';
import { PipelineError } from './errors.js';
import { assertFinite } from './finite.js';
import { blendTiles, blendTilesSync, planTiles, type Tile, type TilePlan } from './tiles.js';
import type { StageProgressCallback, UpsampleStage } from './types.js';
import type { SolverName } from '../flow/index.js';
import { tiledDecode, tiledEncode, type TiledVAEOptions } from '../models/vae/tiled.js';

export interface StageContext {
  /** Tile side / overlap in latent units (null: untiled). */
  tile: number | null;
  overlap?: number;
  /**
   * How encode / decode are tiled: 'exact' (default) runs the VAE in row bands with whole-image GroupNorm
   * statistics (models/vae/tiled.ts: equals untiled up to float rounding, memory linear in the image);
   * 'blend' runs independent overlapping tiles blended with ramps (memory bounded by the tile, approximate).
   */
  vaeTiling?: 'exact' | 'blend';
  /** Precision of the model calls (tensor/precision.ts); results stay float32. Default fp32. */
  precision?: Precision;
  onProgress?: StageProgressCallback;
  signal?: AbortSignal;
  pass: number;
  passes: number;
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

function checkAbort(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortError(`upsample: aborted during ${what}`, { cause: signal.reason });
}

/** Drives a tile generator asynchronously: progress, event-loop turns and abort checks between tiles. */
async function runTiles(stage: UpsampleStage, plan: TilePlan, s: number, fn: (t: Tile) => Tensor, ctx: StageContext): Promise<Tensor> {
  checkAbort(ctx.signal, stage);
  const it = blendTiles(plan, s, fn);
  const n = plan.tiles.length;
  try {
    for (;;) {
      const r = noGrad(() => it.next());
      if (r.done) return r.value;
      ctx.onProgress?.(stage, r.value + 1, n, { pass: ctx.pass, passes: ctx.passes, tile: r.value, tiles: n });
      await nextTick();
      checkAbort(ctx.signal, stage);
    }
  } catch (e) {
    it.return(undefined as unknown as Tensor);
    throw e;
  }
}

/** Size multiple (pixels) an image must have for the VAE and UNet, and in latent units for the UNet. */
export function sizeMultiples(m: CfmModel): { pixel: number; latent: number } {
  return { pixel: m.vae.downFactor * m.unet.sizeMultiple, latent: m.unet.sizeMultiple };
}

/** The exact band-wise VAE pass when tiling is requested and needed; a band holds about one tile of activations. */
async function runExact(stage: UpsampleStage, m: CfmModel, plan: TilePlan, ctx: StageContext, fn: (o: TiledVAEOptions) => Tensor): Promise<Tensor | null> {
  if ((ctx.vaeTiling ?? 'exact') !== 'exact' || plan.tiles.length === 1) return null;
  checkAbort(ctx.signal, stage);
  const px = plan.tile * m.vae.downFactor;
  const out = noGrad(() => atPrecision(ctx.precision, () => fn({ bandElements: px * px * m.vae.config.ch })));
  ctx.onProgress?.(stage, 1, 1, { pass: ctx.pass, passes: ctx.passes, tile: 0, tiles: 1 });
  await nextTick();
  return out;
}

/** image [1, 3, H, W] (H, W multiples of the VAE factor) → scaled latent. */
export async function encodeTiled(m: CfmModel, img: Tensor, ctx: StageContext): Promise<Tensor> {
  const f = m.vae.downFactor;
  const plan = planTiles(img.shape[2] / f, img.shape[3] / f, ctx.tile, ctx.overlap, sizeMultiples(m).latent);
  const exact = await runExact('encode', m, plan, ctx, (o) => {
    const post = tiledEncode(m.vae, img, o);
    try {
      return post.mean.mul(m.flow.scaleFactor);
    } finally {
      post.dispose();
    }
  });
  if (exact) return exact;
  return runTiles('encode', plan, 1, (t) => atPrecision(ctx.precision, () => {
    const crop = img.narrow(2, t.y0 * f, t.h * f).narrow(3, t.x0 * f, t.w * f);
    const post = m.vae.encode(crop);
    try {
      return post.mean.mul(m.flow.scaleFactor);
    } finally {
      post.dispose();
    }
  }), ctx);
}

/** scaled latent [1, C, h, w] → image [1, 3, h·f, w·f] (not clamped). */
export async function decodeTiled(m: CfmModel, z: Tensor, ctx: StageContext): Promise<Tensor> {
  const f = m.vae.downFactor;
  const plan = planTiles(z.shape[2], z.shape[3], ctx.tile, ctx.overlap, 1);
  const exact = await runExact('decode', m, plan, ctx, (o) => tidy(() => tiledDecode(m.vae, z.div(m.flow.scaleFactor), o)));
  if (exact) return exact;
  return runTiles('decode', plan, f, (t) => atPrecision(ctx.precision, () => m.vae.decode(z.narrow(2, t.y0, t.h).narrow(3, t.x0, t.w).div(m.flow.scaleFactor))), ctx);
}

/** The UNet's velocity field on the whole latent, evaluated tile by tile and blended (float32 in and out). */
export function tiledField(m: CfmModel, context: Tensor, plan: TilePlan, precision?: Precision): VectorField {
  return (t: number, x: Tensor) => tidy(() => blendTilesSync(plan, 1, (tl) => atPrecision(precision, () => {
    const xs = x.narrow(2, tl.y0, tl.h).narrow(3, tl.x0, tl.w);
    const cs = context.narrow(2, tl.y0, tl.h).narrow(3, tl.x0, tl.w);
    return m.unet.forward(xs, full([x.shape[0]], t, { dtype: x.dtype, device: x.device }), cs);
  })));
}

export interface FlowOptions {
  /** Points of the time grid linspace(0, 1, gridPoints): gridPoints − 1 solver steps. */
  gridPoints: number;
  solver: SolverName;
  noiseStep: number;
  generator: Generator;
}

/** The coupled, noise-augmented source x0 for a context latent (noise drawn for the whole latent). */
export function buildSource(m: CfmModel, context: Tensor, o: FlowOptions): Tensor {
  return tidy(() => {
    if (m.flow.startFromNoise) return randn(context.shape, { dtype: context.dtype, device: context.device, generator: o.generator });
    if (o.noiseStep > 0) return new NoiseAugmenter({ generator: o.generator }).qSample(context, o.noiseStep);
    return context.clone();
  });
}

/** Integrates x0 → x1 with the (tiled) UNet field. Returns the latent and the number of field evaluations. */
export async function flowTiled(m: CfmModel, context: Tensor, o: FlowOptions, ctx: StageContext): Promise<{ latent: Tensor; nfe: number }> {
  checkAbort(ctx.signal, 'flow');
  const plan = planTiles(context.shape[2], context.shape[3], ctx.tile, ctx.overlap, sizeMultiples(m).latent);
  const x0 = keep(buildSource(m, context, o));
  const grid = linspaceGrid(o.gridPoints, { dtype: 'float32' });
  const field = tiledField(m, context, plan, ctx.precision);
  try {
    const r = await getSolverAsync(o.solver)((t, y) => noGrad(() => field(t, y)), x0, grid, {
      signal: ctx.signal,
      atol: 1e-6,
      rtol: 1e-3,
      // Fixed grids know their step count; adaptive solvers report progress along [0, 1] in thousandths.
      callback: (info) => ctx.onProgress?.('flow', info.steps !== undefined ? info.step : Math.round(info.progress * 1000), info.steps ?? 1000, {
        pass: ctx.pass, passes: ctx.passes, tile: plan.tiles.length - 1, tiles: plan.tiles.length,
      }),
    });
    try {
      assertFinite(r.x, 'flow (the latent after the ODE)');
    } catch (e) {
      r.x.dispose();
      throw e;
    }
    return { latent: r.x, nfe: r.nfe };
  } finally {
    x0.dispose();
  }
}

export interface PassResult {
  image: Tensor;
  nfe: number;
  tiles: number;
}

/** Pads [1, 3, H, W] on the bottom/right (edge replicate) to multiples of k. */
function padTo(img: Tensor, k: number): Tensor {
  const [H, W] = [img.shape[2], img.shape[3]];
  const ph = (k - (H % k)) % k, pw = (k - (W % k)) % k;
  if (!ph && !pw) return img.clone();
  return F.pad(img, [0, pw, 0, ph], 'replicate');
}

/**
 * The coupling's context latent of a low-res image [1, 3, h, w], built by flow/source.ts's one context builder
 * with the tiled encoder (eval's round-trip rows use it too). Sizes that are not multiples of the model's size
 * multiple are edge-padded before encoding (the caller crops the decoded image back).
 */
export async function buildContext(m: CfmModel, img: Tensor, ctx: StageContext, source: 'psu' | 'lsu' = m.flow.source): Promise<Tensor> {
  const mult = sizeMultiples(m).pixel;
  const spec = { source, factor: m.flow.factor, pixelResize: m.flow.pixelResize, lsuInterpolation: m.flow.lsuInterpolation };
  return contextLatentAsync(img, spec, async (x) => {
    const padded = noGrad(() => padTo(x, mult));
    try { return await encodeTiled(m, padded, ctx); } finally { padded.dispose(); }
  });
}

/** One pass: low-res image [1, 3, h, w] in [−1, 1] → image [1, 3, h·factor, w·factor] in [−1, 1]. */
export async function upscalePass(m: CfmModel, img: Tensor, o: FlowOptions, ctx: StageContext): Promise<PassResult> {
  if (img.ndim !== 4 || img.shape[0] !== 1 || img.shape[1] !== 3) throw new PipelineError('upscalePass', `image must be [1, 3, H, W], got [${img.shape.join(', ')}]`);
  const fac = m.flow.factor;
  const [H, W] = [img.shape[2] * fac, img.shape[3] * fac];
  const owned: Tensor[] = [];
  const own = (t: Tensor) => (owned.push(t), t);
  try {
    const context = own(await buildContext(m, img, ctx));
    const { latent, nfe } = await flowTiled(m, context, o, ctx);
    own(latent);
    const dec = own(await decodeTiled(m, latent, ctx));
    const image = tidy(() => dec.narrow(2, 0, H).narrow(3, 0, W).clamp(-1, 1));
    const plan = planTiles(context.shape[2], context.shape[3], ctx.tile, ctx.overlap, sizeMultiples(m).latent);
    return { image, nfe, tiles: plan.tiles.length };
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** Latent of a base model → image in [−1, 1] (decoded with this model's VAE, tiled). */
export async function decodeBaseLatent(m: CfmModel, z: Tensor, scaled: boolean, ctx: StageContext): Promise<Tensor> {
  const s = scaled ? z.alias() : tidy(() => z.mul(m.flow.scaleFactor));
  try {
    const img = await decodeTiled(m, s, ctx);
    try {
      return tidy(() => img.clamp(-1, 1));
    } finally {
      img.dispose();
    }
  } finally {
    s.dispose();
  }
}
