// The non-flow rows of `fmboost eval` and their inputs: the low-res image (a degradation, quantised to 8 bits as a
// real low-res photo would be), the interpolation baselines, and the VAE / coupling round trips through the model.
import sharp from 'sharp';
import { F, tensor, tidy, type Tensor } from '../tensor/index.js';
import { degrade, floatCHWToU8HWC, u8HWCToFloatCHW, type Degradation } from '../data/index.js';
import type { CfmModel } from '../pipeline/bundle.js';
import { buildContext, decodeTiled, encodeTiled, type StageContext } from '../upscale/stages.js';
import { lanczosResize } from './lanczos.js';

/** [3, H, W] float in [-1, 1] → 8-bit HWC RGB. */
export function toU8(img: Tensor): Uint8Array {
  return floatCHWToU8HWC(img.toFloat32Array(), 3, img.shape[1], img.shape[2]);
}

export function fromU8(u8: Uint8Array, h: number, w: number): Tensor {
  return tensor(u8HWCToFloatCHW(u8, h, w, 3), { shape: [3, h, w] });
}

/** The low-res input: the degradation (default the reference's bilinear, no antialias), quantised to 8 bits. */
export function makeLowRes(hr: Tensor, factor: number, degradation: Degradation = 'bilinear'): { u8: Uint8Array; image: Tensor; size: [number, number] } {
  const [H, W] = [hr.shape[1], hr.shape[2]];
  const size: [number, number] = [H / factor, W / factor];
  const lo = degrade(hr, size, degradation);
  try {
    const u8 = toU8(lo);
    return { u8, image: fromU8(u8, size[0], size[1]), size };
  } finally {
    lo.dispose();
  }
}

/** sharp (libvips) resize of an 8-bit RGB image. Enlarging, libvips uses its bicubic interpolator for every
 *  kernel but nearest / linear (so 'lanczos3' equals 'cubic'), and its output is offset by a fraction of a pixel
 *  against the half-pixel-centre convention of the downsample (~10 dB lower PSNR on smooth images than libtorch
 *  bicubic): kept as the optional row 'sharp-cubic', not the bicubic baseline. */
export async function sharpUpscale(u8: Uint8Array, h: number, w: number, H: number, W: number, kernel: 'cubic' | 'lanczos3'): Promise<Tensor> {
  const buf = await sharp(Buffer.from(u8.buffer, u8.byteOffset, u8.length), { raw: { width: w, height: h, channels: 3 } })
    .resize(W, H, { kernel, fit: 'fill' })
    .raw()
    .toBuffer();
  return fromU8(new Uint8Array(buf.buffer, buf.byteOffset, buf.length), H, W);
}

/** libtorch bicubic (Keys a = −0.75, half-pixel centres; antialias only matters when shrinking), clamped and
 *  quantised to 8 bits as a saved image would be. */
export function bicubicUpscale(lo: Tensor, H: number, W: number): Tensor {
  const up = tidy(() => F.interpolate(lo.unsqueeze(0), { size: [H, W], mode: 'bicubic', alignCorners: false }).squeeze(0));
  try {
    return fromU8(toU8(up), H, W);
  } finally {
    up.dispose();
  }
}

/** Lanczos-3 upscale (lanczos.ts), clamped and quantised to 8 bits like the sharp baseline's output. */
export function lanczosUpscale(lo: Tensor, H: number, W: number): Tensor {
  const up = lanczosResize(lo, H, W);
  try {
    return fromU8(toU8(up), H, W);
  } finally {
    up.dispose();
  }
}

/** VAE round trip: posterior mean of the image → decode, clamped (hr [3, H, W]). */
export async function vaeRoundTrip(m: CfmModel, hr: Tensor, ctx: StageContext): Promise<Tensor> {
  const x = hr.unsqueeze(0);
  try {
    const z = await encodeTiled(m, x, ctx);
    try {
      const d = await decodeTiled(m, z, ctx);
      try { return tidy(() => d.squeeze(0).clamp(-1, 1)); } finally { d.dispose(); }
    } finally { z.dispose(); }
  } finally { x.dispose(); }
}

/** The coupled source latent of a pass (PSU: pixel resize → encode; LSU: encode → latent resize), decoded:
 *  the pipeline's own context (stages.buildContext), so the round trip is exactly what the flow starts from. */
export async function couplingRoundTrip(m: CfmModel, lo: Tensor, source: 'psu' | 'lsu', ctx: StageContext): Promise<Tensor> {
  const [H, W] = [lo.shape[1] * m.flow.factor, lo.shape[2] * m.flow.factor];
  const x = lo.unsqueeze(0);
  try {
    const context = await buildContext(m, x, ctx, source);
    try {
      const d = await decodeTiled(m, context, ctx);
      try { return tidy(() => d.squeeze(0).narrow(1, 0, H).narrow(2, 0, W).clamp(-1, 1)); } finally { d.dispose(); }
    } finally { context.dispose(); }
  } finally { x.dispose(); }
}
