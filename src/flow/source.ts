// Source (x0) and context construction for coupling flow matching, as the reference's trainer does:
// upsample the low-res latent to the high-res latent size (PSU, LSU, identity, noise upsampling),
// then x0 = that latent (or N(0, I) when starting from noise), noised by the augmenter.
import { F, randn, randnLike, tidy, type Generator as RandomStream, type Tensor } from '../tensor/index.js';
import { FlowError } from './errors.js';
import type { NoiseAugmenter } from './noise_augment.js';

/** SD's latent scale; stored latents are unscaled posterior means and get multiplied by it. */
export const SD_SCALE_FACTOR = 0.18215;

export type UpsamplingMode = 'psu' | 'nearest' | 'bilinear' | 'bicubic' | 'identity' | 'noise_upsampling';
export const UPSAMPLING_MODES: readonly UpsamplingMode[] = ['psu', 'nearest', 'bilinear', 'bicubic', 'identity', 'noise_upsampling'];

/** image in [−1, 1] → unscaled latent (e.g. a VAE's posterior mean); scaling happens here. */
export type EncodeFn = (image: Tensor) => Tensor;
/** unscaled latent → image in [−1, 1]. */
export type DecodeFn = (latent: Tensor) => Tensor;

export interface UpsampleInputs {
  /** Low-res latent, already scaled (model space), [B, C, h, w]; for PSU it may already be high-res. */
  lowresLatent: Tensor;
  /** Spatial size of the high-res latent. */
  zSize: number | [number, number];
  /** PSU only: the low-res image in pixel space, [B, 3, H', W']. */
  lowresImage?: Tensor;
  /** PSU only: the high-res image size. */
  imSize?: number | [number, number];
}

export interface UpsampleOptions {
  mode: UpsamplingMode;
  /** PSU: how the low-res image is resized in pixel space (the reference: bilinear, no antialias). */
  pixelResize?: 'bilinear' | 'bicubic';
  /** PSU: the encoder (returns unscaled latents). */
  encode?: EncodeFn;
  /** PSU without lowresImage: the low-res image is decoded from the latent first (as the reference). */
  decode?: DecodeFn;
  scaleFactor?: number;
  /** noise_upsampling: stream of the fill noise. */
  generator?: RandomStream;
}

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? [v[0], v[1]] : [v, v]);

export type PixelResize = 'bilinear' | 'bicubic';
export type LatentInterpolation = 'nearest' | 'bilinear' | 'bicubic';

/**
 * PSU's pixel-space step, defined once: the low-res image [B, C, h, w] (or [C, h, w]) resized to `size` (the reference:
 * bilinear, no antialias). Training, precompute, the pipeline and eval all upsample through it.
 */
export function psuImage(lowres: Tensor, size: [number, number], mode: PixelResize = 'bilinear'): Tensor {
  if (mode !== 'bilinear' && mode !== 'bicubic') throw new FlowError('psuImage', `pixelResize must be bilinear or bicubic, got '${mode as string}'`);
  if (lowres.ndim === 3) return tidy(() => psuImage(lowres.unsqueeze(0), size, mode).squeeze(0));
  if (lowres.ndim !== 4) throw new FlowError('psuImage', `the low-res image must be [B, C, h, w] or [C, h, w], got [${lowres.shape.join(', ')}]`);
  return F.interpolate(lowres, { size, mode, alignCorners: false });
}

/** How a low-res image becomes the coupling's context latent (x0 before any noise), factor = high-res / low-res side. */
export interface ContextSpec {
  source: 'psu' | 'lsu';
  factor: number;
  /** psu: the pixel-space resize. */
  pixelResize?: PixelResize;
  /** lsu: the latent interpolation. */
  lsuInterpolation?: LatentInterpolation;
}

/**
 * The context builder, as steps: it yields the image to encode and takes back its scaled latent, so one
 * definition serves a synchronous encoder (training, precompute) and the pipeline's asynchronous tiled one.
 * psu: resize the image by `factor` in pixel space, encode. lsu: encode the low-res image, interpolate the
 * latent by `factor`. Intermediates are disposed here; the returned latent belongs to the caller.
 */
function* contextSteps(lowres: Tensor, spec: ContextSpec): Generator<Tensor, Tensor, Tensor> {
  if (!Number.isInteger(spec.factor) || spec.factor < 1) throw new FlowError('context', `factor must be an integer ≥ 1, got ${spec.factor}`);
  const f = spec.factor;
  if (spec.source === 'psu') {
    const up = psuImage(lowres, [lowres.shape[2] * f, lowres.shape[3] * f], spec.pixelResize);
    try { return yield up; } finally { up.dispose(); }
  }
  if (spec.source !== 'lsu') throw new FlowError('context', `source must be psu or lsu, got '${spec.source as string}'`);
  const z: Tensor = yield lowres;
  try {
    return F.interpolate(z, { size: [z.shape[2] * f, z.shape[3] * f], mode: spec.lsuInterpolation ?? 'bilinear' });
  } finally {
    z.dispose();
  }
}

/** The context latent of a low-res image [B, C, h, w] with a synchronous encoder (image → scaled latent). */
export function contextLatent(lowres: Tensor, spec: ContextSpec, encode: (img: Tensor) => Tensor): Tensor {
  const it = contextSteps(lowres, spec);
  let r = it.next();
  while (!r.done) {
    let z: Tensor;
    try { z = encode(r.value); } catch (e) { it.return(undefined as unknown as Tensor); throw e; }
    r = it.next(z);
  }
  return r.value;
}

/** contextLatent with an asynchronous encoder (the pipeline's tiled, abortable one). */
export async function contextLatentAsync(lowres: Tensor, spec: ContextSpec, encode: (img: Tensor) => Promise<Tensor>): Promise<Tensor> {
  const it = contextSteps(lowres, spec);
  let r = it.next();
  while (!r.done) {
    let z: Tensor;
    try { z = await encode(r.value); } catch (e) { it.return(undefined as unknown as Tensor); throw e; }
    r = it.next(z);
  }
  return r.value;
}

/** Stored (unscaled) latent → model space: z · scaleFactor. */
export function scaleLatent(z: Tensor, scaleFactor = SD_SCALE_FACTOR): Tensor {
  return z.mul(scaleFactor);
}

/** Model space → decoder input: z / scaleFactor. */
export function unscaleLatent(z: Tensor, scaleFactor = SD_SCALE_FACTOR): Tensor {
  return z.div(scaleFactor);
}

/**
 * Brings the low-res latent to the high-res latent size (a new tensor):
 * - psu: resize the low-res image to imSize in pixel space, encode, scale (returns the latent
 *   unchanged when it already has the high-res size: a precomputed PSU latent);
 * - nearest / bilinear / bicubic (LSU): interpolate the latent;
 * - identity: the latent as is;
 * - noise_upsampling: keep every s-th latent pixel, fill the rest with N(0, 1).
 */
export function upsampleLatent(inputs: UpsampleInputs, opts: UpsampleOptions): Tensor {
  const z = inputs.lowresLatent;
  if (z.ndim !== 4) throw new FlowError('upsampleLatent', `lowresLatent must be [B, C, h, w], got [${z.shape.join(', ')}]`);
  const [H, W] = pair(inputs.zSize);
  if (!(Number.isInteger(H) && Number.isInteger(W) && H > 0 && W > 0)) throw new FlowError('upsampleLatent', `zSize must be positive integers, got ${inputs.zSize}`);
  const [h, w] = [z.shape[2], z.shape[3]];
  switch (opts.mode) {
    case 'identity':
      return z.clone();
    case 'psu': {
      if (h === H && w === W) return z.clone();
      const given = inputs.lowresImage;
      if ((!given && !opts.decode) || !opts.encode || inputs.imSize === undefined) {
        throw new FlowError('upsampleLatent', `psu: latent is ${h}×${w}, not ${H}×${W}, so it needs lowresImage (or a decode function), imSize and an encode function`);
      }
      if (given && (given.ndim !== 4 || given.shape[0] !== z.shape[0])) {
        throw new FlowError('upsampleLatent', `psu: lowresImage must be [${z.shape[0]}, C, H, W], got [${given.shape.join(', ')}]`);
      }
      const mode = opts.pixelResize ?? 'bilinear';
      const encode = opts.encode, decode = opts.decode, scale = opts.scaleFactor ?? SD_SCALE_FACTOR;
      return tidy(() => {
        const img = given ?? decode!(z.div(scale));
        const up = psuImage(img, pair(inputs.imSize!), mode);
        const lat = encode(up);
        if (lat.ndim !== 4 || lat.shape[2] !== H || lat.shape[3] !== W || lat.shape[0] !== z.shape[0]) {
          throw new FlowError('upsampleLatent', `psu: encode returned [${lat.shape.join(', ')}], expected [${z.shape[0]}, C, ${H}, ${W}]`);
        }
        return lat.mul(scale);
      });
    }
    case 'nearest':
    case 'bilinear':
    case 'bicubic':
      return F.interpolate(z, { size: [H, W], mode: opts.mode });
    case 'noise_upsampling': {
      if (H <= h && W <= w) return F.interpolate(z, { size: [H, W], mode: 'nearest' });
      if (H % h !== 0 || W % w !== 0 || H / h !== W / w) {
        throw new FlowError('upsampleLatent', `noise_upsampling needs one integer factor for both sides, got ${h}×${w} → ${H}×${W}`);
      }
      const s = H / h;
      const out = randn([z.shape[0], z.shape[1], H, W], { dtype: z.dtype, device: z.device, generator: opts.generator });
      tidy(() => { out.slice(2, 0, null, s).slice(3, 0, null, s).copy_(z); });
      return out;
    }
    default:
      throw new FlowError('upsampleLatent', `unknown upsampling mode '${opts.mode as string}' (${UPSAMPLING_MODES.join(', ')})`);
  }
}

export interface CouplingOptions {
  /** How x0 is made from the low-res latent (the paper: psu). */
  upsamplingMode?: UpsamplingMode;
  /** How the context is made (defaults to upsamplingMode, and then reuses x0's latent). */
  contextMode?: UpsamplingMode;
  /** x0 = N(0, I) with the context (plain conditional FM) instead of the coupling. */
  startFromNoise?: boolean;
  /** Concatenate the clean upsampled latent as context (the paper: yes; always on with startFromNoise). */
  concatContext?: boolean;
  /** Forward-diffusion step of the noise augmentation (the paper: 400); ≤ 0 disables. */
  noisingStep?: number;
  augmenter?: NoiseAugmenter;
  pixelResize?: 'bilinear' | 'bicubic';
  encode?: EncodeFn;
  decode?: DecodeFn;
  scaleFactor?: number;
  /** Stream for the start noise and noise_upsampling. */
  generator?: RandomStream;
}

export interface SourceAndContext {
  source: Tensor;
  context: Tensor | null;
}

/** The reference's get_source_and_context: x0 (noised) and the clean context. */
export function buildSourceAndContext(inputs: UpsampleInputs, opts: CouplingOptions = {}): SourceAndContext {
  const mode = opts.upsamplingMode ?? 'psu';
  const ctxMode = opts.contextMode ?? mode;
  const step = opts.noisingStep ?? 0;
  if (opts.startFromNoise && step > 0) throw new FlowError('buildSourceAndContext', 'noisingStep cannot be used with startFromNoise (as in the reference)');
  if (step > 0 && !opts.augmenter) throw new FlowError('buildSourceAndContext', `noisingStep ${step} needs a NoiseAugmenter`);
  const up = { mode, pixelResize: opts.pixelResize, encode: opts.encode, decode: opts.decode, scaleFactor: opts.scaleFactor, generator: opts.generator };
  return tidy(() => {
    const zHr = upsampleLatent(inputs, up);
    let source = opts.startFromNoise ? randnLike(zHr, opts.generator) : zHr;
    if (step > 0) source = opts.augmenter!.qSample(source, step);
    let context: Tensor | null = null;
    if (opts.concatContext !== false || opts.startFromNoise) {
      // A separate handle even when it shares x0's storage, so each can be disposed on its own.
      context = ctxMode === mode ? zHr.alias() : upsampleLatent(inputs, { ...up, mode: ctxMode });
    }
    return { source, context };
  });
}
