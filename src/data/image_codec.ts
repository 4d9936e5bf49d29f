// Image decode/encode between files or buffers and planar float pixels, through sharp (libvips).
// Pure of libtorch so worker threads can use it; image.ts wraps the results as Tensors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ImageDecodeError, ImageEncodeError } from './errors.js';
import { embedExif } from './exif.js';
import { alphaFromU8, floatCHWToU8HWC, u8HWCToFloatCHW } from './pixels.js';
import { addPngText, isPng, readPngText } from '../util/png_text.js';
import { readXmpText, xmpPacket } from './xmp.js';

/** Largest accepted image (width · height), checked from the header before any pixel is decoded.
 *  100 MP fits every real photo (a 6k×4k wallpaper is 24 MP) and stops decompression bombs. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'] as const;

export interface DecodeOptions {
  /** Reject images with more pixels than this (default DEFAULT_MAX_PIXELS). */
  maxPixels?: number;
  /** Name used in errors when the input is a buffer. */
  name?: string;
  /** Apply the EXIF orientation (default true: a phone photo comes out as it is shown; PIL.Image.open, which the
   *  reference uses, does not, but no training set of ours carries an orientation). */
  autoOrient?: boolean;
  /** Resize (sharp, antialiased) so the shorter side equals this, before anything else. */
  resizeShorter?: number;
  /** sharp kernel for resizeShorter (default 'lanczos3'). */
  resizeKernel?: 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
}

/** What a decoded image carries besides its pixels, to be written back into the output. */
export interface ImageMetadataBlocks {
  /** The embedded ICC profile (pixels are converted to sRGB on decode; the encoder converts back into it). */
  icc?: Buffer;
  /** The raw EXIF block ("Exif\0\0" + TIFF); the encoder writes it with the orientation set upright. */
  exif?: Buffer;
}

/** A decoded image: planar CHW float32, 3 channels, values in [-1, 1]; alpha separately, also in [-1, 1]. */
export interface DecodedImage extends ImageMetadataBlocks {
  data: Float32Array;
  height: number;
  width: number;
  /** [H·W] alpha in [-1, 1] (−1 transparent), when the image has an alpha channel. */
  alpha?: Float32Array;
}

/** Raw interleaved uint8 pixels as decoded (sRGB: 3 channels, or 4 with alpha). */
export interface DecodedU8 extends ImageMetadataBlocks {
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

function classify(msg: string): ImageDecodeError['code'] {
  if (/pixel limit/i.test(msg)) return 'too_large';
  if (/unsupported image format/i.test(msg)) return 'unsupported';
  if (/ENOENT|EACCES|EISDIR|Input file is missing/.test(msg)) return 'io';
  return 'corrupt';
}

async function loadBytes(input: Buffer | string): Promise<Buffer> {
  if (typeof input !== 'string') return input;
  try {
    return await readFile(input);
  } catch (e) {
    throw new ImageDecodeError(input, (e as Error).message, 'io');
  }
}

/** Decodes to interleaved uint8 (sRGB, 8 bits per channel, alpha kept if present). */
export async function decodeImageU8(input: Buffer | string, opts: DecodeOptions = {}): Promise<DecodedU8> {
  const name = typeof input === 'string' ? input : (opts.name ?? '<buffer>');
  const bytes = await loadBytes(input);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(maxPixels >= 1)) throw new RangeError(`maxPixels must be a positive number, got ${maxPixels}`);
  try {
    // failOn 'warning' turns libjpeg's "premature end" into an error instead of a grey bottom half.
    let img = sharp(bytes, { failOn: 'warning', limitInputPixels: maxPixels, sequentialRead: true });
    const meta = await img.metadata();
    if (opts.autoOrient ?? true) img = img.rotate();
    if (opts.resizeShorter !== undefined) {
      if (!(opts.resizeShorter >= 1)) throw new RangeError(`resizeShorter must be ≥ 1, got ${opts.resizeShorter}`);
      img = img.resize(opts.resizeShorter, opts.resizeShorter, { fit: 'outside', kernel: opts.resizeKernel ?? 'lanczos3' });
    }
    const { data, info } = await img.toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length), height: info.height, width: info.width, channels: info.channels,
      ...(meta.icc ? { icc: meta.icc } : {}), ...(meta.exif ? { exif: meta.exif } : {}),
    };
  } catch (e) {
    if (e instanceof RangeError) throw e;
    let msg = (e as Error).message;
    // libvips sometimes reports only this (its warning text is process-global and can be lost
    // when several threads decode at once); say what it means.
    if (/Warning treated as error/i.test(msg)) msg = `corrupt or truncated image data (decoder warning: ${msg})`;
    const code = classify(msg);
    throw new ImageDecodeError(name, code === 'too_large' ? `more than ${maxPixels} pixels (decompression-bomb guard): ${msg}` : msg, code);
  }
}

/** Decodes png/jpeg/webp to CHW float32 in [-1, 1]: grayscale expanded to RGB, 16 bits to 8, alpha apart. */
export async function decodeImage(input: Buffer | string, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const u = await decodeImageU8(input, opts);
  const alpha = alphaFromU8(u.data, u.height, u.width, u.channels);
  return {
    data: u8HWCToFloatCHW(u.data, u.height, u.width, u.channels), height: u.height, width: u.width,
    ...(alpha ? { alpha } : {}), ...(u.icc ? { icc: u.icc } : {}), ...(u.exif ? { exif: u.exif } : {}),
  };
}

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export interface EncodeOptions extends ImageMetadataBlocks {
  format?: ImageFormat;
  /** JPEG/WebP quality 1–100 (default 95). */
  quality?: number;
  /** WebP lossless (default false). */
  lossless?: boolean;
  /** Text metadata: PNG tEXt/iTXt chunks, or an XMP packet in JPEG and WebP (readImageText reads both). */
  metadata?: Record<string, string>;
  /** The colour an alpha channel is flattened onto for JPEG, which has none (default '#ffffff'). */
  background?: string;
  /** Name used in errors. */
  name?: string;
}

/** JPEG/WebP quality: an integer 1–100. */
export function checkQuality(q: number, name = 'quality'): number {
  if (!Number.isInteger(q) || q < 1 || q > 100) throw new RangeError(`${name} must be an integer from 1 to 100, got ${q}`);
  return q;
}

/** A colour sharp understands (#rgb, #rrggbb, rgb(…), CSS names): checked up front, not at the first JPEG. */
export function checkBackground(colour: string, name = 'background'): string {
  try {
    sharp({ create: { width: 1, height: 1, channels: 3, background: colour } });
  } catch (e) {
    throw new RangeError(`${name}: '${colour}' is not a colour (#rgb, #rrggbb, rgb(r, g, b) or a CSS name): ${(e as Error).message}`);
  }
  return colour;
}

/** Format from a file extension (.png, .jpg/.jpeg, .webp). */
export function formatFromPath(path: string): ImageFormat {
  const ext = path.toLowerCase().slice(path.lastIndexOf('.'));
  if (ext === '.png') return 'png';
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  if (ext === '.webp') return 'webp';
  throw new ImageEncodeError(path, `unknown image extension '${ext}' (use .png, .jpg, .jpeg or .webp)`);
}

/** sharp takes an output ICC profile only as a file: the input's profile goes through a private temp file. */
async function withIcc<T>(icc: Buffer | undefined, f: (path: string | undefined) => Promise<T>): Promise<T> {
  if (!icc) return f(undefined);
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-icc-'));
  try {
    const path = join(dir, 'input.icc');
    writeFileSync(path, icc);
    return await f(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Encodes interleaved uint8 RGB or RGBA, with the metadata blocks and text of `opts`. */
export async function encodeImageU8(pixels: Uint8Array, height: number, width: number, opts: EncodeOptions = {}): Promise<Buffer> {
  const format = opts.format ?? 'png';
  const name = opts.name ?? `<${format}>`;
  const channels = pixels.length === height * width * 4 ? 4 : 3;
  if (pixels.length !== height * width * channels) throw new ImageEncodeError(name, `expected ${height * width * 3} (RGB) or ${height * width * 4} (RGBA) bytes for ${height}x${width}, got ${pixels.length}`);
  const meta = opts.metadata && Object.keys(opts.metadata).length ? opts.metadata : undefined;
  try {
    const q = checkQuality(opts.quality ?? 95);
    const out = await withIcc(opts.icc, async (iccPath) => {
      let img = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length), { raw: { width, height, channels } });
      if (iccPath) img = img.withIccProfile(iccPath);
      if (meta && format !== 'png') img = img.withXmp(xmpPacket(meta));
      if (format === 'png') return img.png({ compressionLevel: 6 }).toBuffer();
      if (format === 'jpeg') {
        if (channels === 4) img = img.flatten({ background: opts.background ?? '#ffffff' });
        return img.jpeg({ quality: q, chromaSubsampling: '4:4:4' }).toBuffer();
      }
      if (format === 'webp') return img.webp({ quality: q, lossless: opts.lossless ?? false }).toBuffer();
      throw new Error(`unknown format '${format as string}' (png, jpeg, webp)`);
    });
    const withText = meta && format === 'png' ? addPngText(out, meta) : out;
    return opts.exif ? embedExif(withText, format, opts.exif, { width, height, alpha: channels === 4 && format !== 'jpeg' }) : withText;
  } catch (e) {
    if (e instanceof ImageEncodeError) throw e;
    throw new ImageEncodeError(name, (e as Error).message);
  }
}

/** Encodes CHW float in [-1, 1] (1, 3, or 4 = RGBA channels): clamp, round, uint8 HWC, then the format. */
export async function encodeImage(data: Float32Array | Float64Array, channels: number, height: number, width: number, opts: EncodeOptions = {}): Promise<Buffer> {
  let u8: Uint8Array;
  try {
    u8 = floatCHWToU8HWC(data, channels, height, width);
  } catch (e) {
    throw new ImageEncodeError(opts.name ?? '<image>', (e as Error).message);
  }
  return encodeImageU8(u8, height, width, opts);
}

/** Text metadata: a PNG's tEXt/iTXt, or the entries encodeImage put into a JPEG's or WebP's XMP; {} if none. */
export async function readImageText(input: Buffer | string): Promise<Record<string, string>> {
  const bytes = await loadBytes(input);
  try {
    if (isPng(bytes)) return readPngText(bytes);
    const { xmp } = await sharp(bytes).metadata();
    return xmp ? readXmpText(xmp.toString('utf8')) : {};
  } catch (e) {
    throw new ImageDecodeError(typeof input === 'string' ? input : '<buffer>', (e as Error).message);
  }
}

/** Width and height from the header only (no pixel decoding). */
export async function probeImage(input: Buffer | string, opts: DecodeOptions = {}): Promise<{ width: number; height: number; format: string }> {
  const name = typeof input === 'string' ? input : (opts.name ?? '<buffer>');
  // a missing or unreadable file says so as decoding would (ENOENT, EACCES), not in libvips' words
  if (typeof input === 'string') await access(input, constants.R_OK).catch((e: Error) => { throw new ImageDecodeError(input, e.message, 'io'); });
  try {
    // from a path, libvips reads only the header bytes
    const m = await sharp(input, { limitInputPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS }).metadata();
    if (!m.width || !m.height) throw new Error('header has no size');
    const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
    if (m.width * m.height > maxPixels) throw new ImageDecodeError(name, `${m.width}x${m.height} is more than ${maxPixels} pixels (decompression-bomb guard)`, 'too_large');
    return { width: m.width, height: m.height, format: m.format ?? 'unknown' };
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    const msg = (e as Error).message;
    throw new ImageDecodeError(name, msg, classify(msg));
  }
}
