// Sliced Wasserstein distance between two image sets on Laplacian-pyramid patch descriptors (Karras et al. 2018,
// "Progressive Growing of GANs", the SWD of their metrics/sliced_wasserstein.py): a distribution distance, so
// one value per set, not per image. Per pyramid level (full size, 1/2, 1/4, … while the smaller side is ≥ 16 px):
// random 7×7×3 patches per image → descriptors normalised per channel by their set's mean / std → projected
// on random unit directions → the sorted projections of the two sets compared by mean absolute difference
// (the 1-D Wasserstein-1 distance), averaged over directions and repeats; reported ×1e3.
//
// Differences to the published code, both for a paired evaluation: patch positions are drawn per (seed, image
// index, level), so image i of both sets is sampled at the same places (identical sets score exactly 0 and the
// paired comparison has less sampling noise), and the defaults use 512 directions × 4 repeats (theirs: 128 × 4).
// Numbers depend on the patch and image counts and on the images' range; they are comparable between rows of
// one evaluation, not with published SWD or FID values.
import { Tensor } from '../tensor/tensor.js';
import { tensor, randint, randn, cat, zerosLike } from '../tensor/creation.js';
import { conv2d, pad } from '../tensor/functional.js';
import { Generator } from '../tensor/generator.js';
import { tidy } from '../tensor/scope.js';

export interface SwdOptions {
  /** Seed of the patch positions and the projection directions (default 0). */
  seed?: number;
  /** Patches per image and level (default 128, as the published code). */
  patchesPerImage?: number;
  /** Side of a patch (default 7). */
  patchSize?: number;
  /** The coarsest level's smaller side is at least this (default 16). */
  minResolution?: number;
  /** Random unit directions per repeat (default 512) and repeats (default 4). */
  directions?: number;
  repeats?: number;
}

export interface SwdResult {
  /** Mean over levels, ×1e3. */
  swd: number;
  /** Per level, finest first: the smaller image side at that level (px) and the SWD ×1e3. */
  levels: { res: number; swd: number }[];
}

const DEFAULTS = { seed: 0, patchesPerImage: 128, patchSize: 7, minResolution: 16, directions: 512, repeats: 4 };

/** 5×5 binomial kernel of cv2.pyrDown / pyrUp. */
const BINOMIAL = (() => {
  const g = [1, 4, 6, 4, 1];
  const k = new Float32Array(25);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) k[i * 5 + j] = (g[i] * g[j]) / 256;
  return k;
})();

function blurKernel(c: number, gain: number): Tensor {
  return tidy(() => tensor(BINOMIAL, { shape: [1, 1, 5, 5] }).mul(gain).expand(c, 1, 5, 5).contiguous());
}

/** cv2.pyrDown: 5×5 binomial blur with mirror (reflect-101) borders, every other pixel. x: [N, C, H, W]. */
export function pyrDown(x: Tensor): Tensor {
  return tidy(() => conv2d(pad(x, [2, 2, 2, 2], 'reflect'), blurKernel(x.shape[1], 1), null, { stride: 2, groups: x.shape[1] }));
}

/** cv2.pyrUp: zeros between the pixels, then the binomial blur ×4 with mirror borders, cropped to `size`. */
export function pyrUp(x: Tensor, size: [number, number]): Tensor {
  return tidy(() => {
    const [n, c, h, w] = x.shape;
    const z = x.unsqueeze(-1);
    const cols = cat([z, zerosLike(z)], -1).reshape([n, c, h, 2 * w]);
    const zr = cols.unsqueeze(3);
    const up = cat([zr, zerosLike(zr)], 3).reshape([n, c, 2 * h, 2 * w]);
    const y = conv2d(pad(up, [2, 2, 2, 2], 'reflect'), blurKernel(c, 4), null, { groups: c });
    return y.narrow(2, 0, size[0]).narrow(3, 0, size[1]);
  });
}

/** Laplacian pyramid: levels − 1 band-pass images (each minus the upsampled next), then the low-pass rest. */
export function laplacianPyramid(x: Tensor, levels: number): Tensor[] {
  if (x.ndim !== 4) throw new RangeError(`laplacianPyramid: expected [N, C, H, W], got [${x.shape.join(', ')}]`);
  const gauss: Tensor[] = [x.to('float32')];
  for (let i = 1; i < levels; i++) gauss.push(pyrDown(gauss[i - 1]));
  const out: Tensor[] = [];
  for (let i = 0; i < levels - 1; i++) {
    out.push(tidy(() => gauss[i].sub(pyrUp(gauss[i + 1], [gauss[i].shape[2], gauss[i].shape[3]]))));
    gauss[i].dispose();
  }
  out.push(gauss[levels - 1]);
  return out;
}

/** Number of levels for an image of h × w: full size, then halves while the smaller side stays ≥ minResolution. */
export function pyramidLevels(h: number, w: number, minResolution = DEFAULTS.minResolution): number {
  let res = Math.min(h, w), n = 0;
  while (res >= minResolution) { n++; res = Math.floor(res / 2); }
  return n;
}

/** Patches of one image [C, H, W] centred at (ys[i], xs[i]) → [P, C·size·size] (row-major C, y, x). */
export function patchDescriptors(level: Tensor, ys: ArrayLike<number>, xs: ArrayLike<number>, size = DEFAULTS.patchSize): Tensor {
  const [c, h, w] = level.shape;
  const r = Math.floor(size / 2);
  const p = ys.length;
  const idx = new Int32Array(p * c * size * size);
  let k = 0;
  for (let i = 0; i < p; i++) {
    if (ys[i] < r || ys[i] >= h - r || xs[i] < r || xs[i] >= w - r) throw new RangeError(`patchDescriptors: patch ${i} at (${ys[i]}, ${xs[i]}) leaves the ${h}×${w} image`);
    for (let ch = 0; ch < c; ch++) for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) idx[k++] = (ch * h + ys[i] + dy) * w + xs[i] + dx;
  }
  return tidy(() => level.reshape([-1]).indexSelect(0, tensor(idx).to('int64')).reshape([p, c * size * size]));
}

/** Descriptors [N, C·k·k] minus their per-channel mean, over the per-channel (population) std. */
export function normalizeDescriptors(d: Tensor, channels = 3): Tensor {
  return tidy(() => {
    const v = d.reshape([d.shape[0], channels, -1]);
    const mean = v.mean([0, 2], true);
    const std = v.std([0, 2], { correction: 0, keepdim: true }).clamp(1e-12);
    return v.sub(mean).div(std).reshape([d.shape[0], -1]);
  });
}

/** Unit directions [D, K] (columns of N(0, 1) samples, normalised), drawn from g. */
export function randomDirections(dim: number, k: number, g: Generator): Tensor {
  return tidy(() => {
    const d = randn([dim, k], { generator: g });
    return d.div(d.square().sum(0, true).sqrt());
  });
}

/** Projections of descriptors [N, D] on directions [D, K], sorted per direction: [K, N] (sorting along the
 *  contiguous last dim is ~1.5× faster than along dim 0; the sort dominates the cost). */
function sortedProjections(x: Tensor, dirs: Tensor): Tensor {
  return tidy(() => dirs.t().matmul(x.t()).sort(-1).values);
}

/** Sliced Wasserstein-1 distance of two normalised descriptor sets [N, D] (same N): per direction set [D, K],
 *  the mean |sorted(a·dirs) − sorted(b·dirs)|; the mean over the sets. Not scaled. */
export function slicedWasserstein(a: Tensor, b: Tensor, dirs: Tensor[]): number {
  if (a.ndim !== 2 || a.shape.join() !== b.shape.join()) throw new RangeError(`slicedWasserstein: expected two [N, D] sets of one shape, got [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  if (!dirs.length) throw new RangeError('slicedWasserstein: no directions');
  let s = 0;
  for (const d of dirs) s += tidy(() => sortedProjections(a, d).sub(sortedProjections(b, d)).abs().mean().item());
  return s / dirs.length;
}

/**
 * The descriptors of one image set, kept as plain arrays (not the images): add each image as it is produced,
 * then compare two sets with `swd`. Image i is sampled at positions drawn from Generator(seed·2²⁰ + i).
 */
export class SwdSet {
  private readonly o: Required<SwdOptions>;
  /** Per image (by index): per level, the descriptors [P, C·k·k] as float32, and the image's smaller side per level. */
  private readonly images = new Map<number, { desc: Float32Array[]; res: number[] }>();

  constructor(o: SwdOptions = {}) {
    this.o = { ...DEFAULTS, ...o };
    if (!Number.isInteger(this.o.seed) || this.o.seed < 0 || this.o.seed >= 2 ** 32) throw new RangeError(`SwdSet: seed must be an integer in [0, 2³²), got ${this.o.seed}`);
    if (this.o.patchSize % 2 !== 1 || this.o.minResolution < this.o.patchSize) throw new RangeError(`SwdSet: patchSize must be odd and ≤ minResolution, got ${this.o.patchSize} and ${this.o.minResolution}`);
  }

  get size(): number { return this.images.size; }
  get options(): Readonly<Required<SwdOptions>> { return this.o; }

  /** Adds image `index` ([3, H, W]); the image is not kept. */
  add(image: Tensor, index: number): void {
    if (image.ndim !== 3) throw new RangeError(`SwdSet.add: expected [C, H, W], got [${image.shape.join(', ')}]`);
    if (!Number.isInteger(index) || index < 0 || index >= 2 ** 20) throw new RangeError(`SwdSet.add: index must be an integer in [0, 2²⁰), got ${index}`);
    if (this.images.has(index)) throw new RangeError(`SwdSet.add: image ${index} was already added`);
    const [, H, W] = image.shape;
    const L = pyramidLevels(H, W, this.o.minResolution);
    if (L < 1) throw new RangeError(`SwdSet.add: image ${index} (${H}×${W}) is smaller than ${this.o.minResolution} px`);
    const g = new Generator(this.o.seed * 2 ** 20 + index);
    const r = Math.floor(this.o.patchSize / 2), P = this.o.patchesPerImage;
    const x = image.unsqueeze(0);
    const pyr = laplacianPyramid(x, L);
    x.dispose();
    const desc: Float32Array[] = [], res: number[] = [];
    try {
      for (const lv of pyr) {
        const [, , h, w] = lv.shape;
        const pos = tidy(() => cat([randint(r, h - r, [P], { generator: g }), randint(r, w - r, [P], { generator: g })]).to('int32'));
        const yx = pos.data() as Int32Array;
        pos.dispose();
        const img = lv.squeeze(0);
        const d = patchDescriptors(img, yx.subarray(0, P), yx.subarray(P), this.o.patchSize);
        img.dispose();
        desc.push(d.toFloat32Array());
        d.dispose();
        res.push(Math.min(h, w));
      }
    } finally {
      for (const t of pyr) t.dispose();
    }
    this.images.set(index, { desc, res });
  }

  /** For `count` levels from `first`, the descriptors of every image (sorted by index) as one [N·P, D] tensor
   *  per level; caller disposes. */
  levelDescriptors(count: number, first = 0): Tensor[] {
    const idx = this.indices();
    const D = 3 * this.o.patchSize ** 2;
    const out: Tensor[] = [];
    for (let l = first; l < first + count; l++) {
      const parts = idx.map((i) => this.images.get(i)!.desc[l]);
      const all = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
      let off = 0;
      for (const p of parts) { all.set(p, off); off += p.length; }
      out.push(tensor(all, { shape: [all.length / D, D] }));
    }
    return out;
  }

  /** Levels common to every image, and the smaller side of the first image at each. */
  levels(): { count: number; res: number[] } {
    const all = [...this.images.values()];
    const count = Math.min(...all.map((e) => e.desc.length));
    return { count, res: all[0].res.slice(0, count) };
  }

  indices(): number[] { return [...this.images.keys()].sort((a, b) => a - b); }
}

/** SWD ×1e3 between two sets made with the same options, per level and averaged over levels. Directions are
 *  drawn from Generator(seed), level by level, repeat by repeat: the same for every pair of sets. */
export function swd(a: SwdSet, b: SwdSet): SwdResult {
  return swdMany(a, [b])[0];
}

/** swd(reference, s) for every s of sets, projecting and sorting the reference once per level and repeat
 *  (an evaluation compares every row with the same ground truth). */
export function swdMany(ref: SwdSet, sets: SwdSet[]): SwdResult[] {
  const o = ref.options;
  if (!ref.size) throw new RangeError('swd: empty reference set');
  for (const s of sets) {
    if (JSON.stringify(o) !== JSON.stringify(s.options)) throw new RangeError(`swd: the sets were made with different options (${JSON.stringify(o)} vs ${JSON.stringify(s.options)})`);
    if (ref.indices().join() !== s.indices().join()) throw new RangeError(`swd: the sets hold different images (${ref.size} vs ${s.size}); SWD compares paired sets of equal size`);
  }
  const lr = ref.levels();
  const L = Math.min(lr.count, ...sets.map((s) => s.levels().count));
  const g = new Generator(o.seed);
  const per: number[][] = sets.map(() => []);
  for (let l = 0; l < L; l++) {
    const norm = (s: SwdSet) => {
      const [d] = s.levelDescriptors(1, l);
      try { return normalizeDescriptors(d); } finally { d.dispose(); }
    };
    const nr = norm(ref);
    const ns = sets.map(norm);
    const sums = sets.map(() => 0);
    try {
      for (let r = 0; r < o.repeats; r++) {
        const dirs = randomDirections(nr.shape[1], o.directions, g);
        const pr = sortedProjections(nr, dirs);
        try {
          ns.forEach((n, k) => { sums[k] += tidy(() => sortedProjections(n, dirs).sub(pr).abs().mean().item()); });
        } finally {
          dirs.dispose(); pr.dispose();
        }
      }
    } finally {
      for (const t of [nr, ...ns]) t.dispose();
    }
    sums.forEach((v, k) => per[k].push((v / o.repeats) * 1e3));
  }
  return per.map((lv) => ({ swd: lv.reduce((x, y) => x + y, 0) / lv.length, levels: lv.map((v, l) => ({ res: lr.res[l], swd: v })) }));
}
