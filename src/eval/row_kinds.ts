// The row kinds of `fmboost eval`, as a registry: each kind says what it is (the table's config column) and how
// it makes one upscaled image. runEval loops over images and rows and scores whatever a kind returns; a new kind
// is one entry here (and its name in rows.ts).
import { Generator, tidy, type Tensor } from '../tensor/index.js';
import type { CfmModel } from '../pipeline/bundle.js';
import { upscalePass, type StageContext } from '../upscale/stages.js';
import { bicubicUpscale, couplingRoundTrip, lanczosUpscale, sharpUpscale, vaeRoundTrip } from './baselines.js';
import type { BaselineCache } from './cache.js';
import type { Esrgan } from './esrgan.js';
import { noiseLabel, type EvalRow } from './rows.js';

/** What a row gets for one image. */
export interface RowInput {
  model: CfmModel;
  /** High-res image [3, H, W] in [-1, 1]. */
  hr: Tensor;
  /** The low-res input as a tensor [3, h, w] and as 8-bit HWC bytes (what ESRGAN and sharp take). */
  lo: Tensor;
  loU8: Uint8Array;
  loSize: [number, number];
  ctx: StageContext;
  seed: number;
  esrgans: ReadonlyMap<string, Esrgan>;
  cache?: BaselineCache;
  /** The cache key of the low-res input (cache.ts lowResKey). */
  loKey: string;
}

export interface RowOutput {
  image: Tensor;
  /** Velocity-field evaluations (0 for baselines). */
  nfe: number;
  /** Seconds, when the row times itself (ESRGAN: the stored time on a cache hit, else the compute time). */
  seconds?: number;
  fromCache?: boolean;
}

export interface RowKind<R extends EvalRow = EvalRow> {
  describe(m: CfmModel, r: R): string;
  run(r: R, x: RowInput): Promise<RowOutput>;
}

/** Resolved sampling settings of a CFM row. */
export function cfmSettings(m: CfmModel, r: Extract<EvalRow, { kind: 'cfm' }>) {
  // dopri5 gets only the end points: interior grid points would not change its steps.
  return { solver: r.solver, steps: r.solver === 'dopri5' ? 2 : r.steps ?? m.flow.steps, source: r.source ?? m.flow.source, noiseStep: r.noiseStep ?? m.flow.noiseStep };
}

const size = (x: RowInput): [number, number] => [x.hr.shape[1], x.hr.shape[2]];

function esrganKind(variant: 'slim' | 'medium', what: string): RowKind {
  const kind = `esrgan-${variant}`;
  return {
    describe: () => `ESRGAN-${variant} (${what}, @upscalerjs/esrgan-${variant}, tfjs CPU backend)`,
    async run(_r, x) {
      const [H, W] = size(x);
      const e = x.esrgans.get(kind)!;
      const hit = x.cache ? await x.cache.get(kind, e.version, x.loKey, H, W) : null;
      if (hit) return { image: hit.image, nfe: 0, seconds: hit.seconds, fromCache: true };
      const t0 = performance.now();
      const image = e.upscale(x.loU8, x.loSize[0], x.loSize[1]);
      const seconds = (performance.now() - t0) / 1000;
      if (x.cache) await x.cache.put(kind, e.version, x.loKey, image, seconds, x.loSize);
      return { image, nfe: 0, seconds };
    },
  };
}

const cfm: RowKind<Extract<EvalRow, { kind: 'cfm' }>> = {
  describe(m, r) {
    const s = cfmSettings(m, r);
    const grid = s.solver === 'dopri5' ? 'adaptive' : `${s.steps} pts`;
    return `CFM ${s.solver} ${grid}, ${s.source}, noise ${noiseLabel(s.noiseStep)}`;
  },
  async run(r, x) {
    const m = x.model;
    const s = cfmSettings(m, r);
    const mm: CfmModel = s.source === m.flow.source ? m : { ...m, flow: { ...m.flow, source: s.source } };
    const lo = x.lo.unsqueeze(0);
    try {
      const res = await upscalePass(mm, lo, { gridPoints: s.steps, solver: s.solver, noiseStep: s.noiseStep, generator: new Generator(x.seed) }, x.ctx);
      const image = tidy(() => res.image.squeeze(0));
      res.image.dispose();
      return { image, nfe: res.nfe };
    } finally {
      lo.dispose();
    }
  },
};

export const ROW_KINDS: { [K in EvalRow['kind']]: RowKind<Extract<EvalRow, { kind: K }>> } = {
  bicubic: { describe: () => 'libtorch bicubic (a = -0.75), 8-bit output', run: async (_r, x) => ({ image: bicubicUpscale(x.lo, ...size(x)), nfe: 0 }) },
  'esrgan-slim': esrganKind('slim', 'RDN D2 G4'),
  'esrgan-medium': esrganKind('medium', 'RDN D10 G64'),
  'sharp-cubic': {
    describe: () => 'sharp / libvips enlarge, kernel cubic, 8-bit output (pixel offset)',
    run: async (_r, x) => ({ image: await sharpUpscale(x.loU8, x.loSize[0], x.loSize[1], ...size(x), 'cubic'), nfe: 0 }),
  },
  lanczos: { describe: () => 'Lanczos-3 (separable, PIL convention), 8-bit output', run: async (_r, x) => ({ image: lanczosUpscale(x.lo, ...size(x)), nfe: 0 }) },
  vae: { describe: () => 'VAE round trip of the HR image (ceiling)', run: async (_r, x) => ({ image: await vaeRoundTrip(x.model, x.hr, x.ctx), nfe: 0 }) },
  'psu-rt': {
    describe: (m) => `PSU source decoded, no flow (${m.flow.pixelResize} pixel upsample)`,
    run: async (_r, x) => ({ image: await couplingRoundTrip(x.model, x.lo, 'psu', x.ctx), nfe: 0 }),
  },
  'lsu-rt': {
    describe: (m) => `LSU source decoded, no flow (${m.flow.lsuInterpolation} latent upsample)`,
    run: async (_r, x) => ({ image: await couplingRoundTrip(x.model, x.lo, 'lsu', x.ctx), nfe: 0 }),
  },
  cfm,
};

/** The kind's entry for a row (the mapped type above keeps every kind covered). */
export function rowKind(r: EvalRow): RowKind {
  return ROW_KINDS[r.kind] as RowKind;
}
