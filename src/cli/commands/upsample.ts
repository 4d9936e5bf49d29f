// `fmboost upsample INPUT... [-o FILE|DIR|-] [--name TEMPLATE] [--format png|jpg|webp] [--quality Q]
//   [--overwrite | --skip-existing] [--recursive] [--json] [--model PATH] [--steps N] [--solver NAME] [--scale K] …`
// Inputs are images, folders of images (--recursive: and their sub-folders), base-model latents (.npy /
// .safetensors), or `-` for an image on stdin. Every output path is decided, and checked for collisions and
// existing files, before the model loads. A bad input is reported and skipped; the others are still processed and
// the exit code is 2 at the end (cli/errors.ts). Outputs keep the input's ICC profile and EXIF (orientation
// applied) and carry the run's parameters (PNG text, or XMP in jpg/webp) unless --strip-metadata; alpha is kept
// (flattened onto --background for jpg). Writes are atomic. --json prints one line per input on stdout.
import { mkdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Command } from 'commander';
import { F, cat, getNumThreads, startOpProfile, stopOpProfile, tidy, type Tensor } from '../../tensor/index.js';
import { addColumnLabels, checkBackground, checkQuality, encodeTensorImage, type ImageParts } from '../../data/index.js';
import { MAX_SOLVER_STEPS, NOISE_STEP_MAX, NOISE_STEP_MIN, SOLVER_NAMES, type SolverName } from '../../flow/index.js';
import { writeFileAtomic, cleanStaleTemps } from '../../io/index.js';
import { Upsampler } from '../../pipeline/upsampler.js';
import { MAX_SCALE } from '../../pipeline/scale_plan.js';
import type { UpsampleOptions } from '../../pipeline/types.js';
import type { UpsampleResult } from '../../pipeline/result.js';
import { EXIT, UsageError, exitCodeFor, fail } from '../errors.js';
import { deviceOption, intOption, memoryOption, PRECISION_HELP, precisionOption, solverOption, threadsOption } from '../options.js';
import type { PrecisionOption } from '../../tensor/index.js';
import { expandInputs } from '../upsample/inputs.js';
import { applyExisting, DEFAULT_NAME, NAME_FIELDS, planOutputs, type ExistingPolicy } from '../upsample/outputs.js';
import { BatchProgress } from '../upsample/progress.js';

/** Largest image accepted on stdin. */
const MAX_STDIN_BYTES = 512 * 2 ** 20;

interface CliOptions {
  out?: string;
  name?: string;
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
  maxMemory?: number;
  format?: string;
  quality?: number;
  overwrite?: boolean;
  skipExisting?: boolean;
  recursive?: boolean;
  json?: boolean;
  stripMetadata?: boolean;
  background?: string;
  compare?: boolean;
  latentScaled?: boolean;
  threads?: number;
  precision?: PrecisionOption;
  profile?: boolean;
  device?: string;
  quiet?: boolean;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of process.stdin) {
    n += (c as Buffer).length;
    if (n > MAX_STDIN_BYTES) throw new UsageError(`stdin holds more than ${MAX_STDIN_BYTES / 2 ** 20} MiB`);
    chunks.push(c as Buffer);
  }
  if (!n) throw new UsageError('stdin (-) is empty');
  return Buffer.concat(chunks);
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

/** One line of --json output. */
interface JsonLine {
  input: string;
  output: string | null;
  status: 'done' | 'skipped' | 'failed';
  error?: string;
  width?: number;
  height?: number;
  scale?: number;
  steps?: number;
  solver?: string;
  seed?: number;
  model?: string;
  seconds?: number;
}

export async function runUpsample(inputs: string[], o: CliOptions): Promise<number> {
  if (o.overwrite && o.skipExisting) throw new UsageError('give at most one of --overwrite and --skip-existing');
  if (o.quality !== undefined) checkQuality(o.quality, '--quality');
  if (o.background !== undefined) checkBackground(o.background, '--background');
  if (inputs.filter((i) => i === '-').length > 1) throw new UsageError('stdin (-) can be given once');
  const items = expandInputs(inputs, { recursive: o.recursive });
  if (!items.length) throw new UsageError(`no input images found in ${inputs.join(', ')}${o.recursive ? '' : ' (add --recursive for sub-folders)'}`);
  const toStdout = o.out === '-';
  if (toStdout && o.json) throw new UsageError('--json and -o - both write to stdout: give an output file or folder');
  const progress = new BatchProgress(items.length, Boolean(process.stderr.isTTY), Boolean(o.quiet));
  // stdin is read before the model loads, so a pipe that fails costs nothing
  const stdinBytes = items.some((i) => i.path === '-') ? await readStdin() : undefined;

  const up = await Upsampler.load({ model: o.model, vae: o.vae, threads: o.threads, precision: o.precision, device: o.device });
  // after the model load, so the table shows the images' work only
  if (o.profile) startOpProfile();
  const controller = new AbortController();
  const onSigint = () => {
    progress.line('fmboost: interrupted: stopping after the current step', true);
    controller.abort(new Error('SIGINT'));
  };
  process.once('SIGINT', onSigint);
  const failed: string[] = [];
  const emit = (l: JsonLine) => { if (o.json) process.stdout.write(JSON.stringify(l) + '\n'); };
  try {
    const plan = up.plan(o.scale); // a scale the models cannot give fails here, before any image work
    const first = up.stages[0].flow;
    const run = { scale: plan.scale, model: up.modelName, steps: o.steps ?? first.steps - 1, solver: o.solver ?? first.solver, seed: o.seed };
    const outputs = planOutputs(items, run, { out: o.out, name: o.name, format: o.format, compare: o.compare });
    const policy: ExistingPolicy = o.overwrite ? 'overwrite' : o.skipExisting ? 'skip' : 'refuse';
    const { run: todo, skipped } = applyExisting(outputs, policy);
    for (const s of skipped) {
      progress.line(`${s.item.path}: skipped (${s.path} exists)`);
      emit({ input: s.item.path, output: s.path, status: 'skipped' });
    }
    for (const dir of new Set(todo.filter((p) => p.path !== '-').map((p) => dirname(p.path)))) {
      mkdirSync(dir, { recursive: true });
      cleanStaleTemps(dir);
    }
    const save = { quality: o.quality, stripMetadata: o.stripMetadata, background: o.background };
    for (let i = 0; i < todo.length; i++) {
      const p = todo[i];
      const label = p.item.path === '-' ? 'stdin' : basename(p.item.path);
      progress.begin(i, label);
      const opts: UpsampleOptions = {
        steps: o.steps, solver: o.solver, noiseStep: o.noiseStep, seed: o.seed, scale: o.scale,
        tileSize: o.tile, tileOverlap: o.tileOverlap, vaeTiling: o.vaeTiling, maxMemory: o.maxMemory, signal: controller.signal,
        onProgress: (stage, step, total, d) => progress.stage(stage, step, total, d),
      };
      let parts: ImageParts | undefined;
      let r: UpsampleResult | undefined;
      try {
        if (p.item.kind === 'latent') {
          r = await up.upsampleLatent(p.item.path, { ...opts, scaled: o.latentScaled });
        } else {
          // decoded here once: the model and --compare both need it; a picture too large for the memory budget is
          // refused from its header, before decoding
          parts = await up.readImage(p.item.path === '-' ? (stdinBytes as Buffer) : p.item.path, opts, p.item.path === '-' ? { name: 'stdin' } : {});
          r = await up.upsampleImage(parts, opts);
        }
        // latents name themselves (the Upsampler read the file); a decoded image is named here
        const how = { ...save, format: p.format, ...(parts ? { metadata: { 'fmboost:input': label } } : {}) };
        if (p.path === '-') {
          process.stdout.write(await r.toBuffer(how));
        } else {
          await r.save(p.path, how);
          if (p.comparePath && parts) {
            const cmp = compareImage(parts.rgb, r.image);
            try {
              const W = r.info.outputSize[1];
              const png = await encodeTensorImage(cmp, { format: 'png', name: p.comparePath });
              const labels = [{ x: 0, width: W, text: 'bicubic (input enlarged)' }, { x: W + Math.min(4, W), width: W, text: `fmboost, ${r.info.solver} ${r.info.steps} step${r.info.steps === 1 ? '' : 's'}` }];
              writeFileAtomic(p.comparePath, await addColumnLabels(png, labels, { format: p.format, quality: o.quality }));
            } finally {
              cmp.dispose();
            }
          }
        }
        const [h, w] = r.info.outputSize;
        progress.end();
        progress.result(`${progress.prefix} → ${p.path === '-' ? 'stdout' : p.path} (${w}x${h}, ${r.info.seconds.toFixed(2)} s)`);
        emit({ input: p.item.path, output: p.path, status: 'done', width: w, height: h, scale: r.info.scale, steps: r.info.steps, solver: r.info.solver, seed: r.info.seed, model: r.info.model, seconds: r.info.seconds });
      } catch (e) {
        if (controller.signal.aborted) throw e;
        progress.end();
        failed.push(p.item.path);
        progress.line(`fmboost: ${p.item.path}: ${(e as Error).message}`, true);
        emit({ input: p.item.path, output: null, status: 'failed', error: (e as Error).message });
        // a failure of the run itself (libtorch, NaN) is worse than a bad file: it decides the exit code
        if (exitCodeFor(e) === EXIT.failure) process.exitCode = EXIT.failure;
      } finally {
        r?.dispose();
        parts?.rgb.dispose();
        parts?.alpha?.dispose();
      }
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    up.dispose();
    if (o.profile) {
      const prof = stopOpProfile(`fmboost upsample --profile (${up.precision}, ${getNumThreads()} threads)`);
      process.stderr.write(prof.format({ per: Math.max(1, items.length), perLabel: 'image', top: 20 }) + '\n');
    }
  }
  if (failed.length) progress.line(`fmboost: ${failed.length} of ${items.length} input(s) failed: ${failed.join(', ')}`, true);
  return failed.length ? (process.exitCode === EXIT.failure ? EXIT.failure : EXIT.badInput) : EXIT.ok;
}


export function register(program: Command): void {
  program
    .command('upsample')
    .description('upscale images (or base-model latents) with a CFM model: PSU latent → ODE → VAE decode')
    .argument('<inputs...>', 'image files, folders of images, latents (.npy / .safetensors), or - for an image on stdin')
    .option('-o, --out <path>', 'output: a file (one input, an image extension), a folder (default: upscaled), or - for stdout')
    .option('--name <template>', `output file names in the folder; fields ${Object.keys(NAME_FIELDS).map((k) => `{${k}}`).join(' ')} (default: ${DEFAULT_NAME})`)
    .option('--format <fmt>', 'output format: png, jpg, webp (default: -o\'s extension, else png)')
    .option('--quality <q>', 'jpg / webp quality, 1 to 100 (default 95)', intOption('quality', 1, 100))
    .option('--overwrite', 'replace outputs that exist (default: refuse before any work)')
    .option('--skip-existing', 'leave outputs that exist and do the rest (resumes a batch)')
    .option('-r, --recursive', 'also read the sub-folders of input folders (their layout is kept under the output folder)')
    .option('--json', 'print one JSON line per input on stdout (input, output, status, size, seconds)')
    .option('--strip-metadata', 'do not copy the input\'s ICC profile and EXIF, nor write the run\'s parameters')
    .option('--background <colour>', 'colour transparent pixels are flattened onto for jpg (default: white)')
    .option('--model <path>', 'CFM model bundle or training checkpoint; repeat for a cascade of stages (default: the bundled model)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--vae <path>', 'VAE weights for a training checkpoint whose config names none')
    .option('--steps <n>', `ODE solver steps, 1 to ${MAX_SOLVER_STEPS} (default: the model's)`, intOption('steps', 1, MAX_SOLVER_STEPS))
    .option('--solver <name>', `ODE solver: ${SOLVER_NAMES.join(', ')} (default: the model's)`, solverOption)
    .option('--noise-step <s>', 'noise augmentation step of the source, of 1000 (-1: none; default: the model\'s)', intOption('noise-step', NOISE_STEP_MIN, NOISE_STEP_MAX))
    .option('--scale <k>', `overall scale, any integer from 2 to ${MAX_SCALE}: powers of the model's factor run that many passes, other scales the next power then an antialiased shrink (default: one pass)`, intOption('scale', 2, MAX_SCALE))
    .option('--seed <n>', 'random seed (same seed, same output)', intOption('seed', 0, Number.MAX_SAFE_INTEGER), 0)
    .option('--tile <px>', 'process in tiles of this many output pixels (default: the whole image, or the largest tiles that fit --max-memory)', intOption('tile', 1))
    .option('--max-memory <size>', 'memory budget of the run, e.g. 8G or 512M (default: a quarter of the free memory, 1–4 GB): tiles are chosen to fit it by estimate, and a run that cannot fit is refused', memoryOption)
    .option('--tile-overlap <px>', 'tile overlap in output pixels (default: a quarter of the tile)', intOption('tile-overlap', 0))
    .option('--vae-tiling <mode>', 'when tiled: exact (VAE equals untiled, memory linear in the image; default) or blend (VAE tiles blended, memory bounded by the tile; chosen automatically when exact cannot fit)')
    .option('--compare', 'also write a side-by-side image: bicubic | fmboost')
    .option('--latent-scaled', 'latent inputs are already multiplied by the scale factor (default: the file\'s metadata, else scaled)')
    .option('--latent-unscaled', 'latent inputs are raw VAE means (not multiplied by the scale factor)')
    .option('--device <d>', 'cpu (default), cuda or cuda:N', deviceOption)
    .option('--threads <n>', 'libtorch threads (default: all cores)', threadsOption)
    .option('--precision <p>', `${PRECISION_HELP}; default fp32`, precisionOption)
    .option('--profile', 'print where the time went at the end: libtorch op time by class (conv, norm, copies, …) and the top ops, per image')
    .option('-q, --quiet', 'only print errors')
    .action(async (inputs: string[], opts: CliOptions & { latentUnscaled?: boolean }) => {
      try {
        if (opts.latentScaled && opts.latentUnscaled) throw new UsageError('give at most one of --latent-scaled and --latent-unscaled');
        if (opts.vaeTiling !== undefined && opts.vaeTiling !== 'exact' && opts.vaeTiling !== 'blend') throw new UsageError(`--vae-tiling must be exact or blend, got '${opts.vaeTiling}'`);
        const latentScaled = opts.latentUnscaled ? false : opts.latentScaled ? true : undefined;
        const code = await runUpsample(inputs, { ...opts, latentScaled });
        process.exitCode = code;
      } catch (e) {
        fail(e);
      }
    });
}
