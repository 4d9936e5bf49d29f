// `fmboost eval`: quality (PSNR, SSIM per image against the high-res image; SWD between the output and high-res
// sets), time and function evaluations of interpolation / ESRGAN baselines, the VAE / coupling ceilings and the
// CFM at several sampling settings.
// Each high-res test image is reduced to the model's low-res size by the reference's bilinear (no antialias)
// downsample and quantised to 8 bits, as a real low-res input would be; every row starts from that image.
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { resolvePrecision, type Precision, type PrecisionOption, type Tensor } from '../tensor/index.js';
import { IMAGE_EXTENSIONS, checkDegradation, readImage, type Degradation } from '../data/index.js';
import { disposeModel, layOutFor, loadModel, type CfmModel } from '../pipeline/bundle.js';
import { sizeMultiples, type StageContext } from '../upscale/stages.js';
import { colourShift, psnr, ssim, pyramidLevels, SwdSet, swdMany, type SwdOptions } from '../metrics/index.js';
import { isEsrganKind, parseRows, type EvalRow } from './rows.js';
import { bicubicUpscale, makeLowRes } from './baselines.js';
import { cfmSettings, rowKind } from './row_kinds.js';

export { makeLowRes, sharpUpscale, bicubicUpscale, lanczosUpscale, vaeRoundTrip, couplingRoundTrip } from './baselines.js';
import { installedEsrganVariants, loadEsrgan, EsrganUnavailableError, type Esrgan, type EsrganVariant } from './esrgan.js';
import { BaselineCache, lowResKey } from './cache.js';

export class EvalError extends Error {
  override name = 'EvalError';
}

export interface EvalOptions {
  /** CFM model bundle or training checkpoint. */
  model: string;
  /** Folder of high-res test images (png / jpg / webp; not recursive, sorted by name). */
  images: string;
  /** Only image file names matching this regular expression (applied before limit). */
  match?: string | RegExp;
  /** First N images only. */
  limit?: number;
  /** Row spec (see rows.ts) or parsed rows; default DEFAULT_ROWS. */
  rows?: string | EvalRow[];
  /** Add the ESRGAN rows whose packages are installed (slim and medium); a missing one is reported through
   *  onProgress, none installed is an EsrganUnavailableError. */
  esrgan?: boolean;
  /** Folder of the baseline output cache (ESRGAN rows; see cache.ts). */
  cache?: string;
  /** VAE weights for a training checkpoint that names none. */
  vae?: string;
  /** Where @upscalerjs/esrgan-* and @tensorflow/tfjs are installed (the esrgan rows; see esrgan.ts). */
  esrganModules?: string;
  /** Seed of each CFM sample's noise (every image and row uses a fresh Generator with it). */
  seed?: number;
  /** The CFM row shown as "ours" in the grid (default: the model's own sampling settings, else the first CFM row). */
  gridRow?: string;
  /** SWD options (metrics/swd.ts; default: seed 0, 128 patches per image and level, 512 directions × 4);
   *  false: no SWD. */
  swd?: SwdOptions | false;
  /** How many images the comparison grid keeps (default 4). */
  gridImages?: number;
  /** How the high-res test image becomes the low-res input (data/degradations.ts; default 'bilinear', the reference's). */
  degradation?: Degradation;
  /** Precision of the model rows (tensor/precision.ts; default fp32, what the committed evaluations use). */
  precision?: PrecisionOption;
  /** Progress lines. */
  onProgress?: (line: string) => void;
}

export interface ImageScore {
  image: string; psnr: number; ssim: number; seconds: number; nfe: number;
  /** Largest per-channel |mean(output) − mean(high-res)| in 8-bit levels (metrics/colour.ts). */
  colour: number;
  /** The output came from the baseline cache; seconds are the ones stored when it was computed. */
  cached?: boolean;
}

export interface RowResult {
  label: string;
  kind: EvalRow['kind'];
  /** Human-readable, with the model defaults resolved (e.g. "euler 11 pts (10 steps), psu, noise 400"). */
  config: string;
  solver?: string;
  steps?: number;
  source?: 'psu' | 'lsu';
  noiseStep?: number;
  /** Means over images. */
  psnr: number;
  ssim: number;
  /** Mean over images of the colour shift (8-bit levels). */
  colour: number;
  seconds: number;
  nfe: number;
  /** Sliced Wasserstein distance ×1e3 between the row's outputs and the high-res images (a set distance;
   *  null when SWD is off), and per pyramid level (finest first). */
  swd: number | null;
  swdLevels: { res: number; swd: number }[];
  /** Images whose output came from the baseline cache. */
  cachedImages: number;
  perImage: ImageScore[];
}

export interface EvalResult {
  model: string;
  modelPath: string;
  flow: CfmModel['flow'];
  images: string[];
  hrSize: [number, number][];
  lowResSize: [number, number][];
  seed: number;
  degradation: Degradation;
  /** Precision the model rows ran at. */
  precision: Precision;
  rows: RowResult[];
  /** Label of the CFM row shown as "ours" in the grid (null: no CFM row). */
  gridRow: string | null;
  /** Column labels of the grid: bicubic, the ESRGAN row (slim, else medium) when one ran, ours, ground truth. */
  gridColumns: string[];
  /** Per grid image: one [3, H, W] image in [-1, 1] per column; caller disposes (disposeGrid). */
  grid: Tensor[][];
}

export function disposeGrid(r: EvalResult): void {
  for (const row of r.grid) for (const t of row) t.dispose();
  r.grid = [];
}

/** Image files of a folder, sorted by name; with `match`, only the names matching it. */
export function listImages(dir: string, match?: string | RegExp): string[] {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new EvalError(`image folder '${dir}' does not exist`);
  }
  if (!st.isDirectory()) throw new EvalError(`'${dir}' is not a folder (give a folder of test images)`);
  let files = readdirSync(dir).filter((n) => (IMAGE_EXTENSIONS as readonly string[]).includes(extname(n).toLowerCase())).sort();
  if (!files.length) throw new EvalError(`no images (${IMAGE_EXTENSIONS.join(', ')}) in '${dir}'`);
  if (match !== undefined) {
    let re: RegExp;
    try {
      re = typeof match === 'string' ? new RegExp(match) : match;
    } catch (e) {
      throw new EvalError(`match '${match}' is not a valid regular expression: ${(e as Error).message}`);
    }
    const all = files.length;
    files = files.filter((n) => re.test(n));
    if (!files.length) throw new EvalError(`none of the ${all} images in '${dir}' matches ${re}`);
  }
  return files.map((n) => join(dir, n));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Runs every row on every image. Returns the scores and the grid tensors (dispose with disposeGrid). */
export async function runEval(o: EvalOptions): Promise<EvalResult> {
  const rows = typeof o.rows === 'string' || o.rows === undefined ? parseRows(o.rows) : [...o.rows];
  const log = o.onProgress ?? (() => {});
  if (o.esrgan) {
    const { installed, missing } = installedEsrganVariants(o.esrganModules);
    if (!installed.length) throw new EsrganUnavailableError([...missing.values()].join('; '));
    for (const [v, why] of missing) log(`eval: no esrgan-${v} row: ${why}`);
    for (const v of installed) if (!rows.some((r) => r.label === `esrgan-${v}`)) rows.push({ kind: `esrgan-${v}`, label: `esrgan-${v}` });
  }
  const files = listImages(o.images, o.match);
  if (o.limit !== undefined && (!Number.isInteger(o.limit) || o.limit < 1)) throw new EvalError(`limit must be a positive integer, got ${o.limit}`);
  const images = o.limit ? files.slice(0, o.limit) : files;
  const seed = o.seed ?? 0;
  const degradation = checkDegradation(o.degradation ?? 'bilinear');
  const gridN = o.gridImages ?? 4;
  const cache = o.cache !== undefined ? new BaselineCache(o.cache) : undefined;
  let precision: Precision;
  try {
    precision = resolvePrecision(o.precision);
  } catch (e) {
    throw new EvalError((e as Error).message);
  }
  const m = loadModel(o.model, { vae: o.vae });
  layOutFor(m, precision);
  const esrgans = new Map<string, Esrgan>();
  try {
    for (const r of rows) if (isEsrganKind(r.kind)) esrgans.set(r.kind, await loadEsrgan(m.flow.factor, o.esrganModules, r.kind.slice('esrgan-'.length) as EsrganVariant));
  } catch (e) {
    disposeModel(m);
    throw e;
  }
  // the ESRGAN column of the grid: slim when it runs, else medium
  const gridEsrgan = (['esrgan-slim', 'esrgan-medium'] as const).find((k) => esrgans.has(k)) ?? null;
  const ctx: StageContext = { tile: null, pass: 0, passes: 1, precision };
  const f = m.flow.factor;
  const mult = sizeMultiples(m).pixel;
  const rowKey = (r: EvalRow) => (r.kind === 'cfm' ? JSON.stringify(cfmSettings(m, r)) : r.kind);
  // What `fmboost upsample` does with this model (its own solver and steps): always among the default rows.
  const ownRows = parseRows(m.flow.solver === 'dopri5' ? 'dopri5' : `${m.flow.solver}:${m.flow.steps}`);
  const isDefault = (r: EvalRow) => r.kind === 'cfm' && rowKey(r) === rowKey(ownRows[0]);
  if (o.rows === undefined && !rows.some(isDefault)) rows.push(...ownRows);
  const cfmRows = rows.filter((r) => r.kind === 'cfm');
  // "ours" in the grid: the requested row, else the row sampling with the model's own defaults, else the first CFM row.
  if (o.gridRow !== undefined && !cfmRows.some((r) => r.label === o.gridRow)) {
    disposeModel(m);
    throw new EvalError(`gridRow '${o.gridRow}' is not one of the CFM rows (${cfmRows.map((r) => r.label).join(', ') || 'none'})`);
  }
  const gridRow = o.gridRow ?? (cfmRows.find(isDefault) ?? cfmRows[0])?.label ?? null;
  const gridKey = gridRow === null ? null : rowKey(rows.find((r) => r.label === gridRow)!);
  const scores = new Map<string, ImageScore[]>(rows.map((r) => [r.label, []]));
  // SWD: descriptors of the high-res set and of each distinct row's outputs (rows with one key share a set)
  let swdOn = o.swd !== false;
  const swdOpts: SwdOptions = o.swd === false ? {} : (o.swd ?? {});
  const swdRef = swdOn ? new SwdSet(swdOpts) : null;
  const swdSets = new Map<string, SwdSet>();
  const gridColumns = ['bicubic', ...(gridEsrgan ? [gridEsrgan] : []), ...(gridRow !== null ? [gridRow] : []), 'ground truth'];
  const result: EvalResult = {
    model: m.name, modelPath: o.model, flow: { ...m.flow }, images: images.map((p) => basename(p)), hrSize: [], lowResSize: [], seed, degradation, precision, rows: [], gridRow, gridColumns, grid: [],
  };
  log(`eval: model ${m.name} (${f}× ${m.flow.source}), ${images.length} image(s), ${rows.length} row(s)`);
  try {
    for (let i = 0; i < images.length; i++) {
      const name = basename(images[i]);
      const hr = await readImage(images[i]);
      let lo: Tensor | undefined;
      try {
        const [H, W] = [hr.shape[1], hr.shape[2]];
        if (H % (f * mult) || W % (f * mult)) {
          throw new EvalError(`${name}: ${H}×${W} is not a multiple of ${f * mult} (the model's factor ${f} × size multiple ${mult}); crop the test images`);
        }
        if (swdOn && pyramidLevels(H, W, swdRef!.options.minResolution) < 1) {
          swdOn = false;
          log(`eval: no SWD: ${name} (${H}×${W}) is smaller than its ${swdRef!.options.minResolution} px pyramid level`);
        }
        if (swdOn) swdRef!.add(hr, i);
        const low = makeLowRes(hr, f, degradation);
        lo = low.image;
        result.hrSize.push([H, W]);
        result.lowResSize.push(low.size);
        const keepForGrid = result.grid.length < gridN;
        const gridCells: { bicubic?: Tensor; esrgan?: Tensor; ours?: Tensor } = {};
        const loKey = cache ? lowResKey(low.u8, low.size[0], low.size[1]) : '';
        // Rows that resolve to the same settings (e.g. euler:11 and euler:11:psu on a PSU model) run once.
        const done = new Map<string, { label: string; score: ImageScore }>();
        for (const r of rows) {
          const key = rowKey(r);
          const prev = done.get(key);
          if (prev) {
            scores.get(r.label)!.push({ ...prev.score });
            log(`[${i + 1}/${images.length}] ${name} ${r.label.padEnd(14)} = ${prev.label}`);
            continue;
          }
          const t0 = performance.now();
          const { image: out, nfe, seconds: secs, fromCache = false } = await rowKind(r).run(r, { model: m, hr, lo, loU8: low.u8, loSize: low.size, ctx, seed, esrgans, cache, loKey });
          const seconds = secs ?? (performance.now() - t0) / 1000;
          const sc: ImageScore = { image: name, psnr: psnr(out, hr), ssim: ssim(out, hr), colour: colourShift(out, hr), seconds, nfe, ...(fromCache ? { cached: true } : {}) };
          scores.get(r.label)!.push(sc);
          done.set(key, { label: r.label, score: sc });
          if (swdOn) {
            if (!swdSets.has(key)) swdSets.set(key, new SwdSet(swdOpts));
            swdSets.get(key)!.add(out, i);
          }
          log(`[${i + 1}/${images.length}] ${name} ${r.label.padEnd(14)} PSNR ${sc.psnr.toFixed(2)}  SSIM ${sc.ssim.toFixed(4)}  ${seconds.toFixed(2)} s${fromCache ? ' (cached)' : ''}  nfe ${nfe}`);
          if (keepForGrid && r.kind === 'bicubic') gridCells.bicubic = out;
          else if (keepForGrid && r.kind === gridEsrgan) gridCells.esrgan = out;
          else if (keepForGrid && gridRow !== null && key === gridKey && !gridCells.ours) gridCells.ours = out;
          else out.dispose();
        }
        if (keepForGrid) {
          const bic = gridCells.bicubic ?? bicubicUpscale(lo, H, W);
          const cells = [bic];
          if (gridCells.esrgan) cells.push(gridCells.esrgan);
          if (gridCells.ours) cells.push(gridCells.ours);
          cells.push(hr.clone());
          result.grid.push(cells);
        }
      } finally {
        hr.dispose();
        lo?.dispose();
      }
    }
  } catch (e) {
    disposeGrid(result);
    throw e;
  } finally {
    disposeModel(m);
  }
  const swdKeys = swdOn ? [...swdSets.keys()] : [];
  if (swdKeys.length) log(`eval: SWD of ${swdKeys.length} row(s) against the ${images.length} high-res image(s)`);
  const swdByKey = new Map(swdKeys.length ? swdMany(swdRef!, swdKeys.map((k) => swdSets.get(k)!)).map((v, j) => [swdKeys[j], v]) : []);
  for (const r of rows) {
    const per = scores.get(r.label)!;
    const sw = swdByKey.get(rowKey(r));
    const base: RowResult = {
      label: r.label, kind: r.kind, config: rowKind(r).describe(m, r),
      psnr: mean(per.map((s) => s.psnr)), ssim: mean(per.map((s) => s.ssim)), colour: mean(per.map((s) => s.colour)), seconds: mean(per.map((s) => s.seconds)), nfe: mean(per.map((s) => s.nfe)),
      swd: sw?.swd ?? null, swdLevels: sw?.levels ?? [],
      cachedImages: per.filter((s) => s.cached).length, perImage: per,
    };
    if (r.kind === 'cfm') Object.assign(base, cfmSettings(m, r));
    result.rows.push(base);
  }
  return result;
}
