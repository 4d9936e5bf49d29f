// Memory by estimate: the peak bytes one upscaling pass needs, from the model configs and the sizes, and the
// tiling that fits a budget. The terms (float32 activations; bf16 needs less, so the estimate is an upper
// bound there):
//   conv   the UNet's feature maps at the flow tile (its skip tensors stay alive until the decoder uses them) and
//          the VAE's at its tile or band, counted as Σ over levels of H·W·C · (res blocks + 2);
//   attn   softmax attention materialises heads × T² scores for T tokens (UNet blocks at attentionResolutions
//          and its middle block; the VAE's mid block when attnType is vanilla): quadratic, the term that made a
//          512² → 2048² run need 10 GB untiled;
//   band   the exact (band-wise) VAE tiling keeps whole-image activations of its top level, linear in the image;
//   image  the full-resolution image and latent tensors the pass holds (PSU image, output, solver state).
// K_CONV and K_ATTN were fitted to peak RSS measured with bench/upscale_child.js on the bundled model
// (2026-12-08, 2 threads, fp32): untiled 128, 256, 384 and 512 px inputs (0.51, 1.78, 4.25, 10.2 GB above the
// loaded model) and tiled 256 / 512 px at 1024 and 2048 px outputs (0.85, 1.54, 1.77 GB); the constants
// are rounded up so that every one of those is overestimated (by 5–35 %).
import { freemem } from 'node:os';
import type { ResolvedUNetConfig } from '../models/unet/config.js';
import type { ResolvedVAEConfig } from '../models/vae/config.js';

const F32 = 4;
const K_CONV = 2.5;
const K_ATTN = 1.5;
const K_BAND = 5;
const IMAGE_COPIES = 4;
const LATENT_COPIES = 6;
/** Allocator and runtime slack of a run, beyond its tensors (fitted: the 128 px untiled run). */
const SLACK = 130 * 2 ** 20;

/** The default budget: a quarter of the memory free now, at most 4 GiB and at least 1 GiB. */
export function defaultMemoryBudget(): number {
  return Math.max(2 ** 30, Math.min(4 * 2 ** 30, Math.floor(freemem() / 4)));
}

/** UNet feature-map floats and attention scores at a latent tile of h × w. */
export function unetTerms(c: ResolvedUNetConfig, h: number, w: number): { conv: number; attn: number } {
  const pool = c.poolFactor > 1 ? c.poolFactor : 1;
  let conv = 0, attn = 0;
  c.channelMult.forEach((mult, level) => {
    const ds = 2 ** level;
    const px = (h / pool / ds) * (w / pool / ds);
    conv += px * c.modelChannels * mult * (c.numResBlocks + 2);
    if (c.attentionResolutions.includes(ds) && !c.useLinearAttn) attn = Math.max(attn, c.numHeads * px * px);
  });
  const last = 2 ** (c.channelMult.length - 1);
  const tokens = (h / pool / last) * (w / pool / last);
  attn = Math.max(attn, c.numHeads * tokens * tokens); // the middle block: softmax always
  return { conv, attn };
}

/** VAE (encoder or decoder, the larger) feature-map floats and mid-block attention scores at H × W pixels. */
export function vaeTerms(c: ResolvedVAEConfig, H: number, W: number): { conv: number; attn: number; top: number } {
  let conv = 0;
  c.chMult.forEach((mult, level) => {
    const ds = 2 ** level;
    conv += (H / ds) * (W / ds) * c.ch * mult * (c.numResBlocks + 2);
  });
  const f = 2 ** (c.chMult.length - 1);
  const tokens = (H / f) * (W / f);
  return { conv, attn: c.attnType === 'vanilla' ? tokens * tokens : 0, top: H * W * c.ch * c.chMult[0] };
}

export interface PassMemory {
  /** Estimated peak bytes of the pass above the loaded model. */
  bytes: number;
  terms: { conv: number; attn: number; band: number; image: number };
}

/**
 * Peak bytes of one pass to an H × W output with latent factor f and `latentChannels`, the flow in tiles of
 * `tile` latent units (null: whole image; tiles overlap, each is tile × tile) and the VAE tiled 'exact' (band-wise) or 'blend' (bounded by the tile).
 */
export function estimatePass(unet: ResolvedUNetConfig, vae: ResolvedVAEConfig, f: number, latentChannels: number, H: number, W: number,
  tile: number | null, vaeTiling: 'exact' | 'blend'): PassMemory {
  const h = H / f, w = W / f;
  const tiled = tile !== null && (tile < h || tile < w);
  const th = tiled ? Math.min(h, tile) : h, tw = tiled ? Math.min(w, tile) : w; // tiles overlap each other; each is tile × tile
  const u = unetTerms(unet, th, tw);
  const v = vaeTerms(vae, th * f, tw * f);
  const conv = K_CONV * (u.conv + v.conv) * F32;
  const attn = K_ATTN * Math.max(u.attn, v.attn) * F32;
  const band = tiled && vaeTiling === 'exact' ? K_BAND * vaeTerms(vae, H, W).top * F32 : 0;
  const image = (IMAGE_COPIES * 3 * H * W + LATENT_COPIES * latentChannels * h * w) * F32;
  return { bytes: conv + attn + band + image + SLACK, terms: { conv, attn, band, image } };
}

export interface TilingChoice {
  /** Latent tile side (null: whole image) and overlap, and the VAE tiling. */
  tile: number | null;
  overlap: number;
  vaeTiling: 'exact' | 'blend';
  estimate: PassMemory;
}

/** Output pixels of the tiles chosen when a pass must be tiled: on CPU a 2048² output took 47 s in 512 px tiles
 *  against 111 s in the largest tiles a 4 GB budget allows (the attention is quadratic in the tile). */
export const PREFERRED_TILE_PX = 512;

/**
 * The tiling of a pass that fits `budget` bytes: the whole image if it fits (exact: no seams), else tiles of
 * PREFERRED_TILE_PX output pixels or smaller (multiples of `align` latent units, overlap a quarter) with the exact
 * VAE tiling, else with the blended one; fit is null when not even the smallest tile fits.
 */
export function chooseTiling(unet: ResolvedUNetConfig, vae: ResolvedVAEConfig, f: number, latentChannels: number, H: number, W: number,
  align: number, budget: number, vaeTiling?: 'exact' | 'blend'): { fit: TilingChoice | null; smallest: TilingChoice } {
  const whole = estimatePass(unet, vae, f, latentChannels, H, W, null, vaeTiling ?? 'exact');
  if (whole.bytes <= budget) {
    const choice: TilingChoice = { tile: null, overlap: 0, vaeTiling: vaeTiling ?? 'exact', estimate: whole };
    return { fit: choice, smallest: choice };
  }
  const side = Math.max(H, W) / f;
  const modes: ('exact' | 'blend')[] = vaeTiling ? [vaeTiling] : ['exact', 'blend'];
  let smallest: TilingChoice | undefined;
  for (const mode of modes) {
    for (let t = Math.floor(Math.min(side, PREFERRED_TILE_PX / f) / align) * align; t >= align; t -= align) {
      const overlap = Math.floor(t / 4);
      const est = estimatePass(unet, vae, f, latentChannels, H, W, t, mode);
      const choice = { tile: t, overlap, vaeTiling: mode, estimate: est };
      if (est.bytes <= budget) return { fit: choice, smallest: choice };
      if (!smallest || est.bytes < smallest.estimate.bytes) smallest = choice;
    }
  }
  return { fit: null, smallest: smallest! };
}

/** "1.9 GB" */
export function formatBytes(b: number): string {
  return b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GB` : `${Math.round(b / 2 ** 20)} MB`;
}

/** Parses a memory size: bytes, or a number with K, M, G or T (powers of 1024), e.g. "4G", "512M". */
export function parseMemorySize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(s);
  if (!m) throw new RangeError(`a memory size must be a number with an optional K, M, G or T suffix (e.g. 4G), got '${s}'`);
  const v = Number(m[1]) * 1024 ** ' kmgt'.indexOf((m[2] || ' ').toLowerCase());
  if (!(v >= 1)) throw new RangeError(`a memory size must be at least 1 byte, got '${s}'`);
  return Math.floor(v);
}
