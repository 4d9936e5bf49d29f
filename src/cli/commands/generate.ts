// `fmboost generate "PROMPT" --base MODEL [--tokenizer DIR] [--model CFM | --boost none] [--size WxH|N] [--steps N]
//   [--guidance G] [--sampler NAME] [--seed S] [--scale K] [--negative-prompt T] [-o FILE] [--overwrite]`
// The paper's pipeline: a base model (SD 1.x / LCM-SD1.5 today: a diffusers folder, or one original checkpoint plus
// --tokenizer) samples a picture, and the CFM (the bundled one by default) boosts it through pixels (PSU). The output
// path is checked (refused when it exists, unless --overwrite) before any model loads; the write is atomic.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { writeImage, formatFromPath } from '../../data/index.js';
import { SOLVER_NAMES, MAX_SOLVER_STEPS, type SolverName } from '../../flow/index.js';
import { Upsampler } from '../../pipeline/upsampler.js';
import { MAX_SCALE } from '../../pipeline/scale_plan.js';
import { SDBase } from '../../pipeline/sd_base.js';
import { OwnBase, defaultBasePath } from '../../pipeline/own_base.js';
import { openArtifact } from '../../artifacts/open.js';
import { generate, checkBoostFits, type GenerateInfo } from '../../pipeline/generate.js';
import type { BaseModel } from '../../pipeline/base_model.js';
import { UsageError, fail } from '../errors.js';
import { intOption, solverOption, threadsOption } from '../options.js';
import { setNumThreads } from '../../tensor/index.js';

interface CliOptions {
  base?: string;
  tokenizer?: string;
  model?: string;
  boost?: string;
  size?: [number, number];
  steps?: number;
  guidance?: number;
  sampler?: string;
  seed: number;
  scale?: number;
  boostSteps?: number;
  boostSolver?: SolverName;
  negativePrompt?: string;
  out: string;
  overwrite?: boolean;
  threads?: number;
  quiet?: boolean;
}

/** --size: WxH or N (square), in pixels. Returns [height, width]. */
export function sizeOption(v: string): [number, number] {
  const m = /^(\d+)(?:[x×](\d+))?$/i.exec(v.trim());
  const w = m ? Number(m[1]) : NaN, h = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || !(w >= 1 && h >= 1) || w > 16384 || h > 16384) throw new Error(`--size must be WxH or N in pixels (1 to 16384), got '${v}'`);
  return [h, w];
}

function guidanceOption(v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < 0 || x > 100) throw new Error(`--guidance must be a number from 0 to 100, got '${v}'`);
  return x;
}

/** The base model --base names: one of our base bundles (the bundled one by default), or SD 1.x / LCM. */
function loadBase(o: CliOptions): BaseModel {
  if (!o.base) {
    const p = defaultBasePath();
    if (!existsSync(p)) throw new UsageError(`the bundled base model is not installed (looked for ${p}); give --base: a diffusers Stable Diffusion 1.x / LCM folder, or a single .safetensors / .ckpt with --tokenizer DIR`);
    return OwnBase.load(p);
  }
  let kind: string | null = null;
  try { kind = openArtifact(o.base).kind; } catch { kind = null; /* a folder, or not ours: SDBase says what is wrong */ }
  return kind === 'base' ? OwnBase.load(o.base) : SDBase.load(o.base, { tokenizer: o.tokenizer });
}

export async function runGenerate(prompt: string | undefined, o: CliOptions): Promise<void> {
  const say = (line: string) => { if (!o.quiet) process.stderr.write(line + '\n'); };
  const noBoost = o.boost !== undefined;
  if (noBoost && o.boost !== 'none') throw new UsageError(`--boost takes only 'none' (to skip the CFM), got '${o.boost}'; give the CFM with --model`);
  if (noBoost && (o.model || o.scale !== undefined || o.boostSteps !== undefined || o.boostSolver)) {
    throw new UsageError('--boost none skips the CFM: --model, --scale, --boost-steps and --boost-solver do not apply');
  }
  const out = resolve(o.out);
  formatFromPath(out); // an unknown extension fails here
  if (existsSync(out) && !o.overwrite) throw new UsageError(`${o.out} exists (give --overwrite to replace it)`);
  if (o.threads) setNumThreads(o.threads);

  // Everything that can be refused is refused before the base samples (which can take minutes on a CPU).
  let boost: Upsampler | null = null;
  const base = loadBase(o);
  try {
    if (base.needsPrompt && (prompt === undefined || prompt === '')) throw new UsageError(`the base ${base.name} is a text-to-image model: give a prompt, e.g. fmboost generate "a lighthouse at dusk" --base ${o.base}`);
    if (!base.needsPrompt && prompt) {
      say(`note: the base ${base.name} is unconditional: the prompt is ignored`);
      prompt = undefined; // nor stored in the picture's metadata
    }
    if (o.sampler !== undefined && !base.samplers.includes(o.sampler)) throw new UsageError(`--sampler '${o.sampler}' is not one of ${base.name}'s: ${base.samplers.join(', ')}`);
    if (!noBoost) {
      boost = await Upsampler.load({ model: o.model, threads: o.threads });
      try {
        checkBoostFits(base, boost);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    const size = o.size ?? base.defaultSize;
    say(`fmboost: base ${base.name} (${base.kind}) at ${size[1]}x${size[0]}${boost ? `, boost ${boost.modelName}` : ', no boost'}`);
    const controller = new AbortController();
    const onSigint = () => { say('fmboost: interrupted: stopping after the current step'); controller.abort(new Error('SIGINT')); };
    process.once('SIGINT', onSigint);
    let r;
    try {
      r = await generate(base, boost, {
        prompt, negativePrompt: o.negativePrompt, steps: o.steps, guidance: o.guidance, sampler: o.sampler, seed: o.seed, size,
        scale: o.scale, boostSteps: o.boostSteps, boostSolver: o.boostSolver, signal: controller.signal,
        onStep: (i, n) => say(`base: step ${i}/${n}`),
        onBoostProgress: (stage, i, n) => { if (stage === 'flow') say(`boost: ${stage} ${i}/${n}`); },
      });
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
    try {
      mkdirSync(dirname(out), { recursive: true });
      await writeImage(out, r.image, { metadata: generateMetadata(r.info) });
      const [h, w] = r.info.outputSize;
      say(`fmboost: → ${o.out} (${w}x${h}, base ${r.info.baseSeconds.toFixed(2)} s, total ${r.info.seconds.toFixed(2)} s)`);
    } finally {
      r.base.dispose();
      r.image.dispose();
    }
  } finally {
    boost?.dispose();
    base.dispose();
  }
}

/** The run's parameters as PNG text / XMP. */
function generateMetadata(i: GenerateInfo): Record<string, string> {
  const m: Record<string, string> = { Software: 'fmboost', 'fmboost:base': i.base, 'fmboost:base_kind': i.baseKind, 'fmboost:seed': String(i.seed), 'fmboost:base_size': `${i.baseSize[1]}x${i.baseSize[0]}` };
  if (i.prompt !== undefined) m['fmboost:prompt'] = i.prompt;
  if (i.negativePrompt !== undefined) m['fmboost:negative_prompt'] = i.negativePrompt;
  if (i.sampler) m['fmboost:sampler'] = i.sampler;
  if (i.steps !== undefined) m['fmboost:base_steps'] = String(i.steps);
  if (i.guidance !== undefined) m['fmboost:guidance'] = String(i.guidance);
  if (i.boost) {
    Object.assign(m, { 'fmboost:model': i.boost.model, 'fmboost:steps': String(i.boost.steps), 'fmboost:solver': i.boost.solver, 'fmboost:scale': String(i.boost.scale) });
  }
  return m;
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('an image from a base model (the bundled unconditional one, or SD 1.x / LCM with a prompt), boosted by the CFM: base latent → base VAE decode → PSU → CFM → decode')
    .argument('[prompt]', 'the text prompt (a base that needs none accepts none)')
    .option('--base <path>', 'base model: an fmboost base model (default: the bundled one, unconditional 64² px), a diffusers SD 1.x / LCM folder (model_index.json), or one original .safetensors / .ckpt (then give --tokenizer)')
    .option('--tokenizer <dir>', 'CLIP tokenizer folder (vocab.json + merges.txt) for a single-file base')
    .option('--model <path>', 'CFM model bundle or training checkpoint for the boost (default: the bundled model)')
    .option('--boost <none>', "'none': skip the boost, write the base's picture")
    .option('-o, --out <file>', 'output image (png, jpg or webp)', 'generated.png')
    .option('--overwrite', 'replace the output if it exists (default: refuse before any work)')
    .option('--size <WxH|N>', "base resolution in pixels (default: the base's, 512 for SD 1.5)", sizeOption)
    .option('--steps <n>', 'base sampler steps (default: 25, LCM 4)', intOption('steps', 1, 1000))
    .option('--guidance <g>', 'guidance scale (default: 7.5, LCM 8.5)', guidanceOption)
    .option('--sampler <name>', 'base sampler: ddim (default), euler, euler_a; LCM models: lcm')
    .option('--negative-prompt <text>', 'what the classifier-free guidance steers away from (SD; LCM has no CFG)')
    .option('--seed <n>', 'random seed (same seed, same picture)', intOption('seed', 0, Number.MAX_SAFE_INTEGER), 0)
    .option('--scale <k>', `boost scale, an integer from 2 to ${MAX_SCALE} (default: one pass of the CFM)`, intOption('scale', 2, MAX_SCALE))
    .option('--boost-steps <n>', `CFM solver steps, 1 to ${MAX_SOLVER_STEPS} (default: the model's)`, intOption('boost-steps', 1, MAX_SOLVER_STEPS))
    .option('--boost-solver <name>', `CFM ODE solver: ${SOLVER_NAMES.join(', ')} (default: the model's)`, solverOption)
    .option('--threads <n>', 'libtorch threads (default: all cores)', threadsOption)
    .option('-q, --quiet', 'only print errors')
    .action(async (prompt: string | undefined, opts: CliOptions) => {
      try {
        await runGenerate(prompt, opts);
      } catch (e) {
        fail(e);
      }
    });
}
