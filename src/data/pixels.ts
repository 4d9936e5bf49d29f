// Pure pixel-array operations on CHW Float32Arrays (worker-safe: no libtorch).
// Value convention: float images are in [-1, 1], like the reference's ToTensor + Normalize(0.5, 0.5).

/** uint8 → float for all 256 levels, computed as torch does in float32: (u / 255 − 0.5) / 0.5. */
export const U8_TO_FLOAT: Float32Array = (() => {
  const t = new Float32Array(256);
  for (let u = 0; u < 256; u++) t[u] = Math.fround(Math.fround(Math.fround(u / 255) - 0.5) / 0.5);
  return t;
})();

/** Interleaved HWC uint8 (1–4 channels) → planar CHW float32 with 3 channels in [-1, 1].
 *  Grayscale is replicated to RGB; an alpha channel is left out (alphaFromU8 reads it). */
export function u8HWCToFloatCHW(src: Uint8Array, height: number, width: number, channels: number): Float32Array {
  const n = height * width;
  if (src.length < n * channels) throw new RangeError(`pixel buffer has ${src.length} bytes, need ${n * channels} for ${height}x${width}x${channels}`);
  const out = new Float32Array(3 * n);
  const rgb = channels >= 3;
  for (let p = 0, s = 0; p < n; p++, s += channels) {
    if (rgb) {
      out[p] = U8_TO_FLOAT[src[s]];
      out[n + p] = U8_TO_FLOAT[src[s + 1]];
      out[2 * n + p] = U8_TO_FLOAT[src[s + 2]];
    } else {
      const v = U8_TO_FLOAT[src[s]];
      out[p] = v; out[n + p] = v; out[2 * n + p] = v;
    }
  }
  return out;
}

/** The alpha channel of interleaved uint8 pixels with 2 (grey + alpha) or 4 channels, as [H·W] float in
 *  [-1, 1] like the colour channels; null when there is none. */
export function alphaFromU8(src: Uint8Array, height: number, width: number, channels: number): Float32Array | null {
  if (channels !== 2 && channels !== 4) return null;
  const n = height * width, out = new Float32Array(n);
  for (let p = 0, s = channels - 1; p < n; p++, s += channels) out[p] = U8_TO_FLOAT[src[s]];
  return out;
}

/** Planar CHW float in [-1, 1] (C = 1, 3, or 4 = RGBA) → interleaved HWC uint8 RGB (RGBA for 4): clamp, then
 *  round half up of (x + 1) / 2 · 255 (torchvision's save_image rule). NaN becomes 0. */
export function floatCHWToU8HWC(src: Float32Array | Float64Array, channels: number, height: number, width: number): Uint8Array {
  const n = height * width;
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new RangeError(`expected 1, 3 or 4 channels, got ${channels}`);
  if (src.length !== channels * n) throw new RangeError(`float buffer has ${src.length} values, need ${channels * n} for ${channels}x${height}x${width}`);
  const outC = channels === 4 ? 4 : 3;
  const out = new Uint8Array(outC * n);
  for (let c = 0; c < outC; c++) {
    const base = (channels === 1 ? 0 : c) * n;
    for (let p = 0; p < n; p++) {
      const v = Math.fround(Math.fround(Math.fround(Math.fround(src[base + p] + 1) / 2) * 255) + 0.5);
      out[outC * p + c] = v >= 255 ? 255 : v > 0 ? Math.floor(v) : 0;
    }
  }
  return out;
}

/** Crop a CHW array to rows [top, top+h) and columns [left, left+w). */
export function cropCHW(src: Float32Array, channels: number, height: number, width: number, top: number, left: number, h: number, w: number): Float32Array {
  if (top < 0 || left < 0 || h < 1 || w < 1 || top + h > height || left + w > width) {
    throw new RangeError(`crop [top ${top}, left ${left}, ${h}x${w}] does not fit in a ${height}x${width} image`);
  }
  const out = new Float32Array(channels * h * w);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < h; y++) {
      const s = c * height * width + (top + y) * width + left;
      out.set(src.subarray(s, s + w), (c * h + y) * w);
    }
  }
  return out;
}

/** Mirror a CHW array left–right (in place). */
export function hflipCHW(data: Float32Array, channels: number, height: number, width: number): Float32Array {
  for (let r = 0; r < channels * height; r++) data.subarray(r * width, (r + 1) * width).reverse();
  return data;
}

/** Python's round(): half to even (torchvision's center crop offsets use it). */
export function pyRound(x: number): number {
  const f = Math.floor(x), d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** torchvision CenterCrop offsets: top = round((H − h) / 2), left = round((W − w) / 2). */
export function centerCropOffsets(height: number, width: number, h: number, w: number): { top: number; left: number } {
  return { top: pyRound((height - h) / 2), left: pyRound((width - w) / 2) };
}
