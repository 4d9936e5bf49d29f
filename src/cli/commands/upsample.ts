// `fmboost upsample INPUT... [--out DIR] [--model PATH] [--steps N] [--solver NAME] [--noise-step S]
//   [--scale 2..64] [--seed N] [--tile PX] [--vae-tiling exact|blend] [--format png|jpg|webp] [--compare]`
// Inputs are images, directories of images, or base-model latents (.npy / .safetensors). A bad input is
// reported and skipped; the others are still processed and the exit code is 1 at the end. Outputs carry
// the run's parameters: PNG text chunks, or a .json sidecar for jpg/webp (which cannot hold text here).
import { readdirSync, statSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { F, cat, tidy, type Tensor } from '../../tensor/index.js';
import { IMAGE_EXTENSIONS, encodeTensorImage, readImage } from '../../data/index.js';
import { MAX_GRID_POINTS, SOLVER_NAMES, type SolverName } from '../../flow/index.js';
import { Upsampler } from '../../pipeline/upsampler.js';
import { MAX_SCALE } from '../../pipeline/scale_plan.js';
import type { UpsampleInfo, UpsampleOptions, UpsampleStage } from '../../pipeline/types.js';
import { reportError } from '../errors.js';
import { intOption, PRECISION_HELP, precisionOption, solverOption, threadsOption } from '../options.js';
import type { PrecisionOption } from '../../tensor/index.js';

const LATENT_EXTENSIONS = ['.npy', '.safetensors'];
const FORMATS = { png: 'png', jpg: 'jpeg', jpeg: 'jpeg', webp: 'webp' } as const;

interface CliOptions {
  out: string;
  model?: string[];
  vae?: string;
  steps?: number;
  solver?: SolverName;
  noiseStep?: number;
  scale?: number;
  seed: number;
  tile?: number;
  tileOverlap?: number;
  vaeTiling?: 'exact' | 'blend';
  format: string;
  compare?: boolean;
  latentScaled?: boolean;
  threads?: number;
  precision?: PrecisionOption;
  quiet?: boolean;
}

/** Expands directories (their image / latent files, sorted, not recursive); missing paths stay, to be reported. */
export function expandInputs(inputs: string[]): string[] {
  const out: string[] = [];
  for (const p of inputs) {
    let st;
    try {
      st = statSync(p);
    } catch {
      out.push(p);
      continue;
    }
    if (!st.isDirectory()) {
      out.push(p);
      continue;
    }
    const names = readdirSync(p).filter((n) => {
      const e = extname(n).toLowerCase();
      return (IMAGE_EXTENSIONS as readonly string[]).includes(e) || LATENT_EXTENSIONS.includes(e);
    }).sort();
    for (const n of names) out.push(join(p, n));
  }
  return out;
}

/** Progress display: one rewritten line per image on a TTY, plain lines otherwise. */
class Progress {
  private last = '';
  constructor(private readonly tty: boolean, private readonly quiet: boolean) {}

  stage(prefix: string, stage: UpsampleStage, step: number, total: number, pass: string): void {
    if (this.quiet) return;
    if (this.tty) {
      const w = 20, frac = total > 0 ? Math.min(1, step / total) : 0, filled = Math.round(frac * w);
      this.write(`${prefix} ${pass}${stage.padEnd(6)} ${'█'.repeat(filled)}${'░'.repeat(w - filled)} ${step}/${total}`);
    } else if (step === total) {
      process.stderr.write(`${prefix} ${pass}${stage} done (${total} ${stage === 'flow' ? 'steps' : 'tiles'})\n`);
    }
  }

  line(text: string): void {
    if (this.quiet && !text.startsWith('error')) return;
    if (this.tty && this.last) process.stderr.write('\r\x1b[2K');
    this.last = '';
    process.stderr.write(`${text}\n`);
  }

  private write(text: string): void {
    process.stderr.write(`\r\x1b[2K${text}`);
    this.last = text;
  }
}

/** The run's parameters as text metadata. */
function metadata(info: UpsampleInfo, input: string): Record<string, string> {
  return {
    Software: 'fmboost',
    'fmboost:model': info.model,
    'fmboost:steps': String(info.steps),
    'fmboost:solver': info.solver,
    'fmboost:noise_step': String(info.noiseStep),
    'fmboost:seed': String(info.seed),
    'fmboost:precision': info.precision,
    'fmboost:scale': String(info.scale),
    ...(info.resample ? { 'fmboost:model_scale': String(info.modelScale), 'fmboost:resample': info.resample } : {}),
    'fmboost:input': basename(input),
    'fmboost:input_size': `${info.inputSize[1]}x${info.inputSize[0]}`,
  };
}

async function writeOutput(path: string, img: Tensor, fmt: 'png' | 'jpeg' | 'webp', meta: Record<string, string>): Promise<void> {
  const buf = await encodeTensorImage(img, { format: fmt, metadata: fmt === 'png' ? meta : undefined, name: path });
  writeFileSync(path, buf);
  if (fmt !== 'png') writeFileSync(`${path}.json`, JSON.stringify(meta, null, 1) + '\n');
}

/** Side by side: the input resized with bicubic interpolation | ours (same size). */
function compareImage(input: Tensor, ours: Tensor): Tensor {
  return tidy(() => {
    const [H, W] = [ours.shape[1], ours.shape[2]];
    const base = F.interpolate(input.unsqueeze(0), { size: [H, W], mode: 'bicubic', alignCorners: false }).clamp(-1, 1).squeeze(0);
    const gap = base.narrow(2, 0, Math.min(4, W)).mul(0).add(1); // a white 4 px separator
    return cat([base, gap, ours], 2);
  });
}

export async function runUpsample(inputs: string[], o: CliOptions): Promise<number> {
  const fmt = FORMATS[o.format.toLowerCase() as keyof typeof FORMATS];
  if (!fmt) throw new Error(`--format must be png, jpg or webp, got '${o.format}'`);
  const files = expandInputs(inputs);
  if (!files.length) throw new Error('no input images found');
  const progress = new Progress(Boolean(process.stderr.isTTY), Boolean(o.quiet));
  const up = await Upsampler.load({ model: o.model, vae: o.vae, threads: o.threads, precision: o.precision });
  const controller = new AbortController();
  const onSigint = () => {
    progress.line('interrupted: stopping after the current step');
    controller.abort(new Error('SIGINT'));
  };
  process.once('SIGINT', onSigint);
  mkdirSync(o.out, { recursive: true });
  const ext = fmt === 'jpeg' ? 'jpg' : fmt;
  const failed: string[] = [];
  try {
    for (let i = 0; i < files.length; i++) {
      const file = files[i];
      const prefix = `[${i + 1}/${files.length}] ${basename(file)}`;
      const opts: UpsampleOptions = {
        steps: o.steps, solver: o.solver, noiseStep: o.noiseStep, seed: o.seed, scale: o.scale,
        tileSize: o.tile, tileOverlap: o.tileOverlap, vaeTiling: o.vaeTiling, signal: controller.signal,
        onProgress: (stage, step, total, d) => progress.stage(prefix, stage, step, total, d && d.passes > 1 ? `pass ${d.pass + 1}/${d.passes} ` : ''),
      };
      const isLatent = LATENT_EXTENSIONS.includes(extname(file).toLowerCase());
      let input: Tensor | null = null;
      try {
        let r;
        if (isLatent) {
          r = await up.upsampleLatent(file, { ...opts, scaled: o.latentScaled });
        } else {
          input = await readImage(file);
          r = await up.upsampleImage(input, opts);
        }
        const stem = basename(file, extname(file));
        const outPath = resolve(o.out, `${stem}_x${r.info.scale}.${ext}`);
        const meta = metadata(r.info, file);
        try {
          await writeOutput(outPath, r.image, fmt, meta);
          if (o.compare && input) {
            const cmp = compareImage(input, r.image);
            try {
              await writeOutput(resolve(o.out, `${stem}_x${r.info.scale}_compare.${ext}`), cmp, fmt, { ...meta, 'fmboost:layout': 'bicubic | fmboost' });
            } finally {
              cmp.dispose();
            }
          }
        } finally {
          r.image.dispose();
        }
        progress.line(`${prefix} → ${outPath} (${r.info.outputSize[1]}x${r.info.outputSize[0]}, ${r.info.seconds.toFixed(2)} s)`);
      } catch (e) {
        if (controller.signal.aborted) throw e;
        failed.push(file);
        progress.line(`error: ${file}: ${(e as Error).message}`);
      } finally {
        input?.dispose();
      }
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    up.dispose();
  }
  if (failed.length) progress.line(`error: ${failed.length} of ${files.length} input(s) failed: ${failed.join(', ')}`);
  return failed.length ? 1 : 0;
}

export function register(program: Command): void {
  program
    .command('upsample')
    .description('upscale images (or base-model latents) with a CFM model: PSU latent → noise → ODE → VAE decode')
    .argument('<inputs...>', 'image files, directories of images, or latents (.npy / .safetensors)')
    .option('--out <dir>', 'output directory', 'upscaled')
    .option('--model <path>', 'CFM model bundle or training checkpoint; repeat for a cascade of stages (default: the bundled model)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--vae <path>', 'VAE weights for a training checkpoint whose config names none')
    .option('--steps <n>', 'ODE grid points (steps − 1 solver steps; default: the model\'s)', intOption('steps', 2, MAX_GRID_POINTS))
    .option('--solver <name>', `ODE solver: ${SOLVER_NAMES.join(', ')} (default: the model's)`, solverOption)
    .option('--noise-step <s>', 'noise augmentation step of the source, of 1000 (-1: none; default: the model\'s)', intOption('noise-step', -1))
    .option('--scale <k>', `overall scale, 2 to ${MAX_SCALE}: powers of the model's factor run that many passes, other scales the next power then an antialiased shrink (default: one pass)`, intOption('scale', 2, MAX_SCALE))
    .option('--seed <n>', 'random seed (same seed, same output)', intOption('seed', 0), 0)
    .option('--tile <px>', 'process in tiles of this many output pixels (bounds memory; default: whole image)', intOption('tile', 1))
    .option('--tile-overlap <px>', 'tile overlap in output pixels (default: a quarter of the tile)', intOption('tile-overlap', 0))
    .option('--vae-tiling <mode>', 'with --tile: exact (VAE equals untiled, memory linear in the image) or blend (VAE tiles blended, memory bounded by the tile)', 'exact')
    .option('--format <fmt>', 'output format: png, jpg, webp', 'png')
    .option('--compare', 'also write a side-by-side image: bicubic | fmboost')
    .option('--latent-scaled', 'latent inputs are already multiplied by the scale factor (default: the file\'s metadata, else scaled)')
    .option('--latent-unscaled', 'latent inputs are raw VAE means (not multiplied by the scale factor)')
    .option('--threads <n>', 'libtorch threads (default: all cores)', threadsOption)
    .option('--precision <p>', `${PRECISION_HELP}; default fp32`, precisionOption)
    .option('--quiet', 'only print errors')
    .action(async (inputs: string[], opts: CliOptions & { latentUnscaled?: boolean }) => {
      if (opts.latentScaled && opts.latentUnscaled) throw new Error('give at most one of --latent-scaled and --latent-unscaled');
      const latentScaled = opts.latentUnscaled ? false : opts.latentScaled ? true : undefined;
      try {
        process.exitCode = await runUpsample(inputs, { ...opts, latentScaled });
      } catch (e) {
        reportError(e);
        process.exitCode = 1;
      }
    });
}
