// Cheap image statistics that separate photographs from rendered graphics, plus a perceptual hash
// for near-duplicate grouping.
//
// Why these: at a common scale (short side 256) a photograph has texture almost everywhere, while
// vector art, gradients and renders have large areas where the 4-neighbour Laplacian of the luma is
// within ±2. Greyscale images are excluded because the models are RGB. This is only a screening aid:
// every candidate of the shipped package list carries a visual-review verdict (sources.ts), and
// assemble reports how often the heuristic agrees with it (about 90%: defocused wallpaper photos look
// flat, textured renders look busy).
import sharp from 'sharp';

export interface ImageFeatures {
  width: number;
  height: number;
  format: string;
  /** Fraction of pixels (image resized to short side 256) with |Laplacian(luma)| ≤ 2. */
  flatFraction: number;
  /** Mean |R−G| + |G−B| over a 128-px thumbnail, in 8-bit units (≈0 for greyscale). */
  chroma: number;
  /** Distinct colours (5 bits per channel) in the 128-px thumbnail. */
  colours: number;
  /** 64-bit difference hash (9×8 greyscale thumbnail) as 16 hex digits. */
  dhash: string;
}

/** Heuristic thresholds (tuned on the reviewed candidates; agreement is reported by assemble). */
export const FLAT_MAX = 0.62;
export const CHROMA_MIN = 3;

export function heuristicIsPhoto(f: Pick<ImageFeatures, 'flatFraction' | 'chroma'>): boolean {
  return f.flatFraction <= FLAT_MAX && f.chroma >= CHROMA_MIN;
}

export async function imageFeatures(path: string): Promise<ImageFeatures> {
  const img = sharp(path, { limitInputPixels: false }).rotate();
  const meta = await sharp(path, { limitInputPixels: false }).metadata();
  let width = meta.width ?? 0, height = meta.height ?? 0;
  if (meta.orientation && meta.orientation >= 5) [width, height] = [height, width];

  const small = await img.clone().resize(256, 256, { fit: 'outside', kernel: 'cubic' }).greyscale()
    .raw().toBuffer({ resolveWithObject: true });
  const crop = small.data, cw = small.info.width, ch = small.info.height;
  let flat = 0, n = 0;
  for (let y = 1; y < ch - 1; y++) {
    for (let x = 1; x < cw - 1; x++) {
      const i = y * cw + x;
      const lap = 4 * crop[i]! - crop[i - 1]! - crop[i + 1]! - crop[i - cw]! - crop[i + cw]!;
      if (Math.abs(lap) <= 2) flat++;
      n++;
    }
  }

  const thumb = await img.clone().resize(128, 128, { fit: 'inside' }).removeAlpha().toColourspace('srgb')
    .raw().toBuffer({ resolveWithObject: true });
  const px = thumb.data, c = thumb.info.channels;
  let chroma = 0;
  const seen = new Set<number>();
  for (let i = 0; i < px.length; i += c) {
    const r = px[i]!, g = px[i + 1]!, b = px[i + 2]!;
    chroma += Math.abs(r - g) + Math.abs(g - b);
    seen.add(((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3));
  }
  chroma /= px.length / c;

  const d = await img.clone().greyscale().resize(9, 8, { fit: 'fill' }).raw().toBuffer();
  let bits = 0n;
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) bits = (bits << 1n) | (d[y * 9 + x]! < d[y * 9 + x + 1]! ? 1n : 0n);

  return {
    width, height, format: meta.format ?? 'unknown',
    flatFraction: n ? flat / n : 1, chroma, colours: seen.size,
    dhash: bits.toString(16).padStart(16, '0'),
  };
}

export function hamming(a: string, b: string): number {
  let x = BigInt('0x' + a) ^ BigInt('0x' + b), k = 0;
  while (x) { k += Number(x & 1n); x >>= 1n; }
  return k;
}
