// `fmboost eval --model M --images DIR [--match RE] [--out DIR] [--limit N] [--rows SPEC] [--seed N] [--grid N]
// [--esrgan] [--cache DIR]`: PSNR / SSIM / SWD / time / nfe of baselines and CFM sampling settings on a folder
// of high-res test images;
// writes eval.md, eval.json, eval_psnr_nfe.png and eval_grid.png into --out.
import type { Command } from 'commander';
import { setNumThreads } from '../../tensor/index.js';
import { DEFAULT_ROWS, disposeGrid, runEval, writeEvalReport } from '../../eval/index.js';
import { fail } from '../errors.js';
import { intOption, PRECISION_HELP, precisionOption, threadsOption } from '../options.js';
import type { PrecisionOption } from '../../tensor/index.js';
import { DEGRADATIONS, type Degradation } from '../../data/degradation_names.js';

interface CliOptions {
  degradation?: Degradation;
  model: string;
  images: string;
  out: string;
  match?: string;
  limit?: number;
  rows?: string;
  cache?: string;
  vae?: string;
  seed: number;
  grid: number;
  gridRow?: string;
  esrgan?: boolean;
  esrganModules?: string;
  threads?: number;
  precision?: PrecisionOption;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('evaluate a CFM model against baselines (bicubic, lanczos, VAE / coupling ceilings) at several solvers and step counts')
    .requiredOption('--model <path>', 'CFM model bundle or training checkpoint')
    .requiredOption('--images <dir>', 'folder of high-res test images (low-res inputs are made by bilinear downsampling)')
    .option('--out <dir>', 'output directory', 'eval')
    .option('--match <regex>', 'only image file names matching this regular expression (e.g. _r0c0: one tile per photo)')
    .option('--limit <n>', 'evaluate only the first N images (sorted by name)', intOption('limit', 1))
    .option('--rows <spec>', `comma-separated rows: bicubic, lanczos, esrgan-slim, esrgan-medium, vae, psu-rt, lsu-rt, <solver>[:<points>][:psu|lsu][:n<noise>] (default: ${DEFAULT_ROWS}, plus the model's own solver and steps when not among them)`)
    .option('--vae <path>', 'VAE weights for a training checkpoint whose config names none')
    .option('--seed <n>', 'seed of the source noise (same for every image and row)', intOption('seed', 0), 0)
    .option('--grid <n>', 'images in the comparison grid', intOption('grid', 0), 4)
    .option('--grid-row <label>', 'CFM row shown as "ours" in the grid (default: the model\'s own settings, else the first CFM row)')
    .option('--esrgan', 'add the ESRGAN rows whose packages are installed: esrgan-slim, esrgan-medium (@upscalerjs/esrgan-*, @tensorflow/tfjs; slow)')
    .option('--cache <dir>', 'reuse / store the ESRGAN rows\' outputs (and their measured seconds) in this folder')
    .option('--esrgan-modules <dir>', 'folder whose node_modules hold the ESRGAN packages (default: FMBOOST_ESRGAN_MODULES, else fmboost\'s)')
    .option('--degradation <name>', `how each test image is made low-res: ${DEGRADATIONS.join(', ')}`, 'bilinear')
    .option('--threads <n>', 'libtorch threads (default: all cores)', threadsOption)
    .option('--precision <p>', `${PRECISION_HELP}; default fp32`, precisionOption)
    .option('--quiet', 'no progress lines')
    .action(async (opts: CliOptions) => {
      try {
        if (opts.threads !== undefined) setNumThreads(opts.threads);
        const r = await runEval({
          model: opts.model, images: opts.images, match: opts.match, limit: opts.limit, rows: opts.rows, esrgan: opts.esrgan, cache: opts.cache, esrganModules: opts.esrganModules, vae: opts.vae, seed: opts.seed, gridImages: opts.grid, gridRow: opts.gridRow, degradation: opts.degradation, precision: opts.precision,
          onProgress: opts.quiet ? undefined : (l) => process.stderr.write(l + '\n'),
        });
        try {
          const files = await writeEvalReport(r, opts.out);
          process.stdout.write(`wrote ${[files.md, files.json, files.plot, files.grid].filter(Boolean).join(', ')}\n`);
        } finally {
          disposeGrid(r);
        }
      } catch (e) {
        fail(e);
      }
    });
}
