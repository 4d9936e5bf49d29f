// One image's decode + augmentation, as run inside a worker thread (or inline with 0 workers).
// Pure of libtorch: the result is a CHW Float32Array the main thread wraps as a tensor.
import { open } from 'node:fs/promises';
import { ImageDecodeError } from './errors.js';
import { decodeImageU8 } from './image_codec.js';
import { centerCropOffsets, cropCHW, hflipCHW, u8HWCToFloatCHW } from './pixels.js';
import { Rng } from './rng.js';
import type { ImageRef } from './sources/types.js';

/** Per-image augmentation, applied in order: resize shorter side, crop, horizontal flip. */
export interface AugmentSpec {
  /** Resize so the shorter side equals this (sharp, antialiased; kernel below). */
  resizeShorter?: number;
  resizeKernel?: 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
  /** Crop to [h, w] (or a square side). */
  crop?: number | [number, number];
  /** 'random' (default) or 'center' crop. */
  cropMode?: 'random' | 'center';
  /** Probability of a horizontal flip (default 0). */
  hflip?: number;
}

export interface DecodeTask {
  id: number;
  ref: ImageRef;
  aug: AugmentSpec;
  maxPixels?: number;
  /** Keys of this item's random stream: [seed, epoch, item index]. */
  rngKeys: number[];
}

export type DecodeResult =
  | { id: number; ok: true; data: Float32Array; height: number; width: number; top: number; left: number; flipped: boolean }
  | { id: number; ok: false; name: string; reason: string; code: string };

async function readRange(ref: ImageRef): Promise<Buffer> {
  const fh = await open(ref.path, 'r');
  try {
    const len = ref.length ?? 0;
    const b = Buffer.alloc(len);
    let done = 0;
    while (done < len) {
      const { bytesRead } = await fh.read(b, done, len - done, (ref.offset ?? 0) + done);
      if (bytesRead === 0) throw new ImageDecodeError(ref.name, `file ends ${len - done} bytes early (truncated)`, 'io');
      done += bytesRead;
    }
    return b;
  } finally {
    await fh.close();
  }
}

export async function runDecodeTask(t: DecodeTask): Promise<DecodeResult> {
  try {
    const input = t.ref.offset !== undefined ? await readRange(t.ref) : t.ref.path;
    const u = await decodeImageU8(input, { maxPixels: t.maxPixels, name: t.ref.name, resizeShorter: t.aug.resizeShorter, resizeKernel: t.aug.resizeKernel });
    let data = u8HWCToFloatCHW(u.data, u.height, u.width, u.channels);
    let { height, width } = u;
    const rng = new Rng(...t.rngKeys);
    let top = 0, left = 0;
    if (t.aug.crop !== undefined) {
      const [h, w] = Array.isArray(t.aug.crop) ? t.aug.crop : [t.aug.crop, t.aug.crop];
      if (h > height || w > width) throw new ImageDecodeError(t.ref.name, `image is ${height}x${width}, smaller than the ${h}x${w} crop (set resizeShorter)`, 'unsupported');
      if ((t.aug.cropMode ?? 'random') === 'center') ({ top, left } = centerCropOffsets(height, width, h, w));
      else { top = rng.int(0, height - h + 1); left = rng.int(0, width - w + 1); }
      data = cropCHW(data, 3, height, width, top, left, h, w);
      height = h; width = w;
    }
    const flipped = (t.aug.hflip ?? 0) > 0 && rng.random() < (t.aug.hflip ?? 0);
    if (flipped) hflipCHW(data, 3, height, width);
    return { id: t.id, ok: true, data, height, width, top, left, flipped };
  } catch (e) {
    if (e instanceof ImageDecodeError) return { id: t.id, ok: false, name: e.file, reason: e.reason, code: e.code };
    return { id: t.id, ok: false, name: t.ref.name, reason: (e as Error).message ?? String(e), code: 'io' };
  }
}
