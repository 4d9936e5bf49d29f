// The validation grid: one row per image, columns HR | LR (upsampled view) | prediction, 2 px gaps.
import { floatCHWToU8HWC } from './pixels.js';
import type { Tensor } from '../tensor/index.js';
import type { RgbImage } from '../util/png.js';

const GAP = 2;

/** rows: per image, the columns as [3, H, W] tensors in [-1, 1] (all the same size). */
export function imageGrid(rows: Tensor[][]): RgbImage {
  if (!rows.length || !rows[0].length) throw new RangeError('imageGrid: no images');
  const [c, h, w] = rows[0][0].shape;
  if (c !== 3) throw new RangeError(`imageGrid: expected [3, H, W] images, got [${rows[0][0].shape.join(', ')}]`);
  const cols = rows[0].length;
  const W = cols * w + (cols - 1) * GAP;
  const H = rows.length * h + (rows.length - 1) * GAP;
  const data = new Uint8Array(W * H * 3).fill(255);
  rows.forEach((row, r) => {
    row.forEach((img, k) => {
      if (img.shape.join() !== rows[0][0].shape.join()) throw new RangeError(`imageGrid: image [${img.shape.join(', ')}] differs from [${rows[0][0].shape.join(', ')}]`);
      const u8 = floatCHWToU8HWC(img.toFloat32Array(), 3, h, w);
      const x0 = k * (w + GAP), y0 = r * (h + GAP);
      for (let y = 0; y < h; y++) data.set(u8.subarray(y * w * 3, (y + 1) * w * 3), ((y0 + y) * W + x0) * 3);
    });
  });
  return { width: W, height: H, channels: 3, data };
}
