// Output cache of the slow baseline rows (ESRGAN): one entry per (row, sha256 of the 8-bit low-res input),
// stored as <dir>/<row>@<version>/<sha>.png (the 8-bit output, lossless) and <sha>.json (the seconds measured
// when it was computed). A later run reuses the output and reports the stored seconds, so the rows can be
// filled once, ahead of time, and an interrupted fill resumes where it stopped. The JSON is written last and
// both files atomically (temp file + rename): an entry with its JSON is complete.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { tensor, type Tensor } from '../tensor/index.js';
import { floatCHWToU8HWC, u8HWCToFloatCHW } from '../data/index.js';

export class BaselineCacheError extends Error {
  override name = 'BaselineCacheError';
}

export interface CachedOutput { image: Tensor; seconds: number }

interface EntryMeta { row: string; version: string; lowRes: [number, number]; output: [number, number]; seconds: number; created: string }

/** sha256 (hex) of an 8-bit HWC RGB image and its size. */
export function lowResKey(u8: Uint8Array, h: number, w: number): string {
  return createHash('sha256').update(`${h}x${w}x3\n`).update(u8).digest('hex');
}

function writeAtomic(path: string, data: Buffer | string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export class BaselineCache {
  constructor(readonly dir: string) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new BaselineCacheError(`cannot create the cache folder '${dir}': ${(e as Error).message}`);
    }
  }

  private paths(row: string, version: string, key: string) {
    const d = join(this.dir, `${row}@${version}`);
    return { d, png: join(d, `${key}.png`), json: join(d, `${key}.json`) };
  }

  /** The stored output ([3, H, W] in [-1, 1], 8-bit levels) and seconds, or null (absent, or not of size H×W). */
  async get(row: string, version: string, key: string, H: number, W: number): Promise<CachedOutput | null> {
    const p = this.paths(row, version, key);
    if (!existsSync(p.json) || !existsSync(p.png)) return null;
    let meta: EntryMeta;
    try {
      meta = JSON.parse(readFileSync(p.json, 'utf8'));
    } catch {
      return null; // unreadable entry: recompute and overwrite
    }
    const { data, info } = await sharp(p.png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.height !== H || info.width !== W || info.channels !== 3 || !Number.isFinite(meta.seconds)) return null;
    return { image: tensor(u8HWCToFloatCHW(new Uint8Array(data.buffer, data.byteOffset, data.length), H, W, 3), { shape: [3, H, W] }), seconds: meta.seconds };
  }

  /** Stores an output ([3, H, W] in [-1, 1]) computed in `seconds` from a low-res input of size lowRes. */
  async put(row: string, version: string, key: string, image: Tensor, seconds: number, lowRes: [number, number]): Promise<void> {
    const p = this.paths(row, version, key);
    mkdirSync(p.d, { recursive: true });
    const [, H, W] = image.shape;
    const u8 = floatCHWToU8HWC(image.toFloat32Array(), 3, H, W);
    const png = await sharp(Buffer.from(u8.buffer, u8.byteOffset, u8.length), { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
    writeAtomic(p.png, png);
    const meta: EntryMeta = { row, version, lowRes, output: [H, W], seconds, created: new Date().toISOString() };
    writeAtomic(p.json, JSON.stringify(meta, null, 2) + '\n');
  }
}
