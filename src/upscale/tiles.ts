// Tiled processing with overlap and smooth blending, so any output size fits a bounded working set.
// Tiles live on the latent grid; a stage maps a tile's input crop (latent × inScale pixels) to an output
// (latent × outScale pixels). Outputs are blended with raised-cosine ramps over the overlap on the sides that
// border another tile (weight 1 elsewhere), then normalised by the summed weights. One tile covering the
// whole grid skips blending: the result is exactly the untiled one.
import { keep, ones, tensor, tidy, zeros, type Tensor } from '../tensor/index.js';
import { PipelineError } from './errors.js';

/** A tile on the latent grid: rows y0…y0+h, columns x0…x0+w. */
export interface Tile {
  y0: number;
  x0: number;
  h: number;
  w: number;
}

export interface TilePlan {
  /** Grid size (latent units). */
  height: number;
  width: number;
  /** Tile side and overlap (latent units) as used; tile ≥ grid means one tile. */
  tile: number;
  overlap: number;
  tiles: Tile[];
}

/** Tile starts along one axis: evenly spread, multiples of align, first 0, last length − tile. */
export function tileStarts(length: number, tile: number, overlap: number, align = 1): number[] {
  if (tile >= length) return [0];
  const stride = tile - overlap;
  if (stride < 1) throw new PipelineError('tileStarts', `overlap ${overlap} must be smaller than the tile ${tile}`);
  const n = Math.ceil((length - overlap) / stride);
  const last = length - tile;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = i === n - 1 ? last : Math.min(last, Math.round((i * last) / (n - 1) / align) * align);
    if (!out.length || s > out[out.length - 1]) out.push(s);
  }
  return out;
}

/**
 * Tiles covering an H × W grid. tile and overlap are in grid units; tile is rounded down to a multiple of
 * align (the UNet's size multiple) and starts are aligned too, so tiles see the same downsampling phase as
 * the whole image would.
 */
export function planTiles(height: number, width: number, tile: number | null | undefined, overlap: number | undefined, align = 1): TilePlan {
  if (!tile || (tile >= height && tile >= width)) return { height, width, tile: Math.max(height, width), overlap: 0, tiles: [{ y0: 0, x0: 0, h: height, w: width }] };
  const t = Math.floor(tile / align) * align;
  if (t < align) throw new PipelineError('planTiles', `tile ${tile} is smaller than the size multiple ${align}`);
  const o = Math.min(overlap ?? Math.floor(t / 4), t - 1);
  if (o < 0 || !Number.isInteger(o)) throw new PipelineError('planTiles', `overlap must be an integer ≥ 0, got ${overlap}`);
  const ys = tileStarts(height, t, o, align), xs = tileStarts(width, t, o, align);
  const tiles: Tile[] = [];
  for (const y0 of ys) for (const x0 of xs) tiles.push({ y0, x0, h: Math.min(t, height), w: Math.min(t, width) });
  return { height, width, tile: t, overlap: o, tiles };
}

/** 1-D weights of a tile side of n samples: raised-cosine ramps of length ramp at the ends that border another tile. */
export function rampWeights(n: number, ramp: number, left: boolean, right: boolean): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = 1;
    if (ramp > 0 && left) v = Math.min(v, (i + 0.5) / ramp);
    if (ramp > 0 && right) v = Math.min(v, (n - i - 0.5) / ramp);
    w[i] = Math.sin((Math.PI / 2) * Math.min(1, v)) ** 2;
  }
  return w;
}

/** The 2-D blending weight [1, 1, h·s, w·s] of a tile (s = output pixels per grid unit). */
export function tileWeights(plan: TilePlan, t: Tile, s: number): Tensor {
  const ramp = plan.overlap * s;
  const wy = rampWeights(t.h * s, ramp, t.y0 > 0, t.y0 + t.h < plan.height);
  const wx = rampWeights(t.w * s, ramp, t.x0 > 0, t.x0 + t.w < plan.width);
  return tidy(() => tensor(wy, { shape: [t.h * s, 1] }).mul(tensor(wx, { shape: [1, t.w * s] })).reshape([1, 1, t.h * s, t.w * s]));
}

/**
 * Blends fn's per-tile outputs ([N, C, h·s, w·s] each) into one [N, C, H·s, W·s] tensor. A generator that
 * yields after each tile (index), so callers can report progress, yield to the event loop or abort.
 * fn runs inside a tidy scope; its returned tensor is freed after accumulation.
 */
export function* blendTiles(plan: TilePlan, s: number, fn: (t: Tile) => Tensor): Generator<number, Tensor, void> {
  if (plan.tiles.length === 1) {
    const out = tidy(() => fn(plan.tiles[0]));
    yield 0;
    return out;
  }
  let acc: Tensor | null = null;
  let wsum: Tensor | null = null;
  try {
    for (let i = 0; i < plan.tiles.length; i++) {
      const t = plan.tiles[i];
      tidy(() => {
        const o = fn(t);
        const [n, c, oh, ow] = o.shape;
        if (o.ndim !== 4 || oh !== t.h * s || ow !== t.w * s) {
          throw new PipelineError('blendTiles', `tile output [${o.shape.join(', ')}] is not [N, C, ${t.h * s}, ${t.w * s}]`);
        }
        if (!acc) {
          // Created inside this tile's scope but outliving it.
          acc = keep(zeros([n, c, plan.height * s, plan.width * s], { dtype: o.dtype, device: o.device }));
          wsum = keep(zeros([1, 1, plan.height * s, plan.width * s], { dtype: o.dtype, device: o.device }));
        }
        const w = tileWeights(plan, t, s).to(o.dtype);
        acc.narrow(2, t.y0 * s, t.h * s).narrow(3, t.x0 * s, t.w * s).add_(o.mul(w));
        wsum!.narrow(2, t.y0 * s, t.h * s).narrow(3, t.x0 * s, t.w * s).add_(w);
      });
      yield i;
    }
    const a = acc!, ws = wsum!;
    return tidy(() => a.div(ws));
  } finally {
    (acc as Tensor | null)?.dispose();
    (wsum as Tensor | null)?.dispose();
  }
}

/** Runs blendTiles to completion. */
export function blendTilesSync(plan: TilePlan, s: number, fn: (t: Tile) => Tensor): Tensor {
  const it = blendTiles(plan, s, fn);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/** Covered check used by tests: every grid cell lies in some tile. */
export function coverage(plan: TilePlan): Tensor {
  return tidy(() => {
    const c = zeros([plan.height, plan.width]);
    for (const t of plan.tiles) c.narrow(0, t.y0, t.h).narrow(1, t.x0, t.w).add_(ones([t.h, t.w]));
    return c;
  });
}
