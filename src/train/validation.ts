// Validation of a run: held-out items through the task's sampler (EMA weights by default), PSNR / SSIM / MSE /
// colour shift per image, and the hr | lr | pred grid of the first images.
import { setImmediate as yieldNow } from 'node:timers/promises';
import type { DataSource } from '../data/index.js';
import { imageGrid } from '../data/image_grid.js';
import { colourShift, mse, psnr, ssim, swd, SwdSet } from '../metrics/index.js';
import { Generator, keep, tidy, type Tensor } from '../tensor/index.js';
import type { RgbImage } from '../util/png.js';
import type { FmboostConfig } from './config/index.js';
import { valLoader } from './loop/data.js';
import type { TrainTask } from './loop/task.js';

export interface ValidationResult {
  /** Means over the images: val/psnr, val/ssim, val/mse, val/colour_shift. */
  metrics: Record<string, number>;
  images: number;
  /** hr | lr | pred rows of the first train.val.num_images images, or null when none. */
  grid: RgbImage | null;
  seconds: number;
}

/** Runs validation on `src` (the trainer passes the held-out split, else the training set) with generator seed `seed`. */
export async function runValidation(config: FmboostConfig, task: TrainTask, src: DataSource, seed: number): Promise<ValidationResult> {
  const v = config.train.val;
  const loader = valLoader(src, config.data);
  const useEma = config.train.ema.use_for_sampling;
  const net = useEma ? task.emaModel : task.model;
  if (!useEma) net.eval();
  const g = new Generator(seed);
  const t0 = performance.now();
  const per = { psnr: [] as number[], ssim: [] as number[], mse: [] as number[], colour: [] as number[] };
  // unpaired (an unconditional model's samples): the two image sets' SWD ×1e3 instead of per-pair metrics
  const sets = { real: new SwdSet(), fake: new SwdSet() };
  let unpaired = false, n = 0;
  const rows: Tensor[][] = [];
  try {
    const batches = Math.min(v.limit_batches, Math.ceil(src.length / config.data.batch_size));
    for (let b = 0; b < batches; b++) {
      const batch = await loader.next();
      try {
        const imgs = await task.valImages(batch, net, g);
        try {
          unpaired = Boolean(imgs.unpaired);
          if (unpaired) {
            for (let i = 0; i < imgs.hr.shape[0]; i++, n++) {
              tidy(() => { sets.real.add(imgs.hr.select(0, i), n); sets.fake.add(imgs.pred.select(0, i), n); });
            }
          } else {
            per.psnr.push(...psnr(imgs.pred, imgs.hr, { reduction: 'none' }));
            per.ssim.push(...ssim(imgs.pred, imgs.hr, { reduction: 'none' }));
            per.mse.push(...mse(imgs.pred, imgs.hr, { reduction: 'none' }));
            per.colour.push(...colourShift(imgs.pred, imgs.hr, { reduction: 'none' }));
          }
          const shown = unpaired ? [imgs.hr, imgs.pred] : [imgs.hr, imgs.lr, imgs.pred];
          for (let i = 0; i < imgs.hr.shape[0] && rows.length < v.num_images; i++) {
            rows.push(tidy(() => shown.map((x) => keep(x.select(0, i).clone()))));
          }
        } finally {
          for (const x of [imgs.hr, imgs.lr, imgs.pred]) x.dispose();
        }
      } finally {
        batch.dispose();
      }
      await yieldNow();
    }
  } finally {
    if (!useEma) net.train();
    await loader.close();
  }
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
  const metrics: Record<string, number> = unpaired
    ? { 'val/swd': swd(sets.real, sets.fake).swd }
    : { 'val/psnr': mean(per.psnr), 'val/ssim': mean(per.ssim), 'val/mse': mean(per.mse), 'val/colour_shift': mean(per.colour) };
  let grid: RgbImage | null = null;
  try {
    if (rows.length) grid = imageGrid(rows);
  } finally {
    for (const r of rows) for (const x of r) x.dispose();
  }
  return { metrics, images: unpaired ? n : per.psnr.length, grid, seconds: (performance.now() - t0) / 1000 };
}
