// A minimal PNG encoder (8-bit RGB or grayscale, filter 0, zlib via node:zlib): signature, IHDR, IDAT, IEND.
import { deflateSync } from 'node:zlib';
import { pngChunk } from './png_text.js';

/** An 8-bit image stored row-major, `channels` interleaved bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  /** 1 (gray) or 3 (RGB). */
  channels: 1 | 3;
  data: Uint8Array;
}

export class PngError extends Error {
  override name = 'PngError';
}

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function encodePng(img: RgbImage): Buffer {
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new PngError(`encodePng: width and height must be positive integers, got ${width}×${height}`);
  }
  if (channels !== 1 && channels !== 3) throw new PngError(`encodePng: channels must be 1 or 3, got ${channels}`);
  const stride = width * channels;
  if (data.length !== stride * height) {
    throw new PngError(`encodePng: data has ${data.length} bytes, expected ${stride * height} for ${width}×${height}×${channels}`);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 3 ? 2 : 0; // color type: truecolor / grayscale
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering (we use filter type 0 on every row)
  ihdr[12] = 0; // no interlace
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0;
    raw.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  return Buffer.concat([SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0))]);
}
