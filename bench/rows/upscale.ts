// Upscaling rows (issue 6): seconds per image of the whole pipeline as `fmboost upsample` runs it on an image
// tensor — PSU resize + VAE encode, noise augmentation, Euler ODE, VAE decode — to 512² and 1024² outputs
// (256→512 and 512→1024 with a 2× model, 128→512 and 256→1024 with the 4× default) at 1, 2, 4 and 10 field
// evaluations, ours (Upsampler.upsampleImage) against the same pipeline in PyTorch
// (bench/torch_upscale.py on scripts/goldens/models_reference.py with the bundle's weights; the two agree to
// float rounding: tests/bench/upscale.test.ts). Plus a probe: peak RSS of one run to a 2048² output with 512 px tiles
// (exact VAE tiling, the pipeline's default) in a fresh process.
// The model is the bundled default (FMBOOST_BENCH_MODEL overrides it); while it is missing every row is
// reported as skipped with that reason.
import { spawn } from 'node:child_process';
import { totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keep } from '../../src/tensor/index.js';
import { Upsampler, estimatePass, formatBytes } from '../../src/pipeline/index.js';
import { register, registerProbe, type BenchRow, type OursCase, type ProbeResult, type ProbeRow } from '../registry.js';
import type { TimingPlan } from '../timing.js';
import { benchModelPath, inspectBundle, pipelineFlops, testImage, type BundleInfo } from '../upscale_setup.js';

export const GROUP = 'upscaling';
/** Field evaluations per image (Euler: nfe steps, nfe + 1 grid points). */
export const NFES = [1, 2, 4, 10];
/** Output sides (the paper's targets; the input side is output / the model's factor): the same work for any factor. */
export const OUT_SIDES = [512, 1024];
/** The memory probe: output side, tile (output px) and nfe. One step is enough: the flow's memory does not grow with steps. */
export const RSS_OUT = { out: 2048, tile: 512, nfe: 1 };

// dist/bench/rows → repository root (the Python sources are not compiled into dist/).
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'upscale_child.js');

/**
 * Rounds per row. Calls take seconds (to 512²) to tens of seconds (to 1024²), so: one warm-up call per side
 * (only on the first row of a size for the large size: the rows share shapes), then 3 (small) or 2 (large)
 * rounds of one call per side; --quick: one round. Keeps the group near 10 minutes on 2 idle cores.
 */
function plans(outSide: number, first: boolean): { plan: Partial<TimingPlan>; quickPlan: Partial<TimingPlan> } {
  const small = outSide <= 512;
  const one: Partial<TimingPlan> = { warmupCalls: small || first ? 1 : 0, warmupSec: 0, roundSec: 0, sideSec: 0, minIters: 1 };
  return {
    plan: { ...one, minRounds: small ? 3 : 2, maxRounds: small ? 3 : 2 },
    quickPlan: { ...one, warmupCalls: first ? 1 : 0, minRounds: 1, maxRounds: 1 },
  };
}

function timingRow(model: string, info: BundleInfo | null, skip: string | undefined, size: number, nfe: number, first: boolean): BenchRow {
  const factor = info?.flow.factor ?? 2;
  const steps = nfe + 1;
  const flops = info ? pipelineFlops(info, size, nfe) : undefined;
  const p = plans(size * factor, first);
  const sched = (q: Partial<TimingPlan>) => `${q.warmupCalls ? '1 warm-up + ' : ''}${q.maxRounds} round(s) of 1 call per side`;
  return {
    name: `upscale ${size}→${size * factor} euler nfe ${nfe}`,
    group: GROUP,
    async: true,
    skip,
    flops,
    ...p,
    notes: `${sched(p.plan)} (--quick: ${sched(p.quickPlan)}); s/image of Upsampler.upsampleImage on a [3,${size},${size}] tensor (PNG decode/encode not included), seed 0, ` +
      `noise step ${info?.flow.noiseStep ?? 'of the bundle'}, ${steps} grid points, untiled; torch: the same pipeline in bench/torch_upscale.py; ` +
      (flops ? `${(flops / 1e9).toFixed(1)} GFLOP/image` : 'FLOPs from the bundle'),
    async setup(): Promise<OursCase> {
      const up = await Upsampler.load({ model });
      const img = keep(testImage(size));
      return {
        run: async () => {
          // the library's steps are solver steps (nfe); torch_upscale.py takes grid points (nfe + 1)
          const r = await up.upsampleImage(img, { steps: nfe, solver: 'euler', seed: 0 });
          r.image.dispose();
        },
        dispose: () => { img.dispose(); up.dispose(); },
      };
    },
    torch: {
      setup: `import sys\nsys.path.insert(0, ${JSON.stringify(join(ROOT, 'bench'))})\nimport torch_upscale as U\nm = U.Model(${JSON.stringify(model)})\nimg = U.test_image(${size})`,
      step: `U.upsample(m, img, ${steps}, seed=0)`,
    },
  };
}

/** Runs bench/upscale_child.js; resolves to its JSON line. */
function runChild(args: string[]): Promise<{ seconds: number; peakRssMB: number; loadRssMB: number; tiles: number; nfe: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`upscale_child.js ${args.join(' ')} exited with code ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? ''));
      } catch {
        reject(new Error(`upscale_child.js printed no JSON result: ${out.slice(-200)}`));
      }
    });
  });
}

/** Why the memory probe has no PyTorch side, with this machine's numbers and our estimate of the untiled run. */
function noTorchReason(info: BundleInfo | null, outSide: number): string {
  const machine = `a ${(totalmem() / 2 ** 30).toFixed(1)} GB machine`;
  const port = 'a tiled PyTorch run would need the pipeline\'s exact VAE tiling (src/models/vae/tiled.ts) ported to Python: a re-implementation, not a baseline';
  if (!info) return `bench/torch_upscale.py runs untiled, which is other work (its attention scores are quadratic in the image) on ${machine}; ${port}`;
  const f = 2 ** (info.vae.chMult.length - 1);
  const est = estimatePass(info.unet, info.vae, f, info.vae.embedDim, outSide, outSide, null, 'exact');
  return `bench/torch_upscale.py runs untiled, which is other work: our estimate of the untiled run is ${formatBytes(est.bytes)} ` +
    `(${formatBytes(est.terms.attn)} of it attention scores, quadratic in the image; src/pipeline/memory.ts) on ${machine}; ${port}`;
}

/** run.tile 0: no tileSize, the pipeline's default (tiles chosen by estimate within the default memory budget). */
function rssProbe(model: string, info: BundleInfo | null, skip: string | undefined, run: { size: number; tile: number; nfe: number }): ProbeRow {
  const factor = info?.flow.factor ?? 2;
  const out = run.size * factor;
  const auto = run.tile === 0;
  return {
    name: auto ? `upscale peak RSS ${run.size}→${out} default (tiles by estimate, default --max-memory) euler nfe ${run.nfe}` : `upscale peak RSS ${run.size}→${out} tile ${run.tile} (exact VAE tiling) euler nfe ${run.nfe}`,
    group: GROUP,
    skip,
    quickSkip: 'one run at this size takes minutes',
    flops: info && !auto ? pipelineFlops(info, run.size, run.nfe, run.tile) : undefined,
    notes: `one Upsampler.upsampleImage call ${auto ? 'with the default tiling (pipeline/memory.ts: whole image if it fits the budget, else 512 px tiles), as `fmboost upsample`' : `with tileSize ${run.tile} (as \`fmboost upsample --tile ${run.tile}\`)`} in a fresh node process; ` +
      `peak RSS = its VmHWM (node + libtorch + weights + the run); ${run.nfe} Euler step: enough for memory (the flow runs tile by tile, ` +
      'the same working set at every step), the seconds are those of that one step',
    async measure({ threads }): Promise<ProbeResult> {
      const r = await runChild(['--model', model, '--size', String(run.size), '--nfe', String(run.nfe), ...(auto ? [] : ['--tile', String(run.tile)]), '--threads', String(threads)]);
      return {
        oursMs: r.seconds * 1e3,
        peakRssMB: { ours: r.peakRssMB },
        noTorch: noTorchReason(info, out),
        details: { tiles: r.tiles, nfe: r.nfe, 'peak RSS after model load MB': Math.round(r.loadRssMB) },
      };
    },
  };
}

export interface UpscaleRowsOptions {
  model: string;
  sizes?: number[];
  nfes?: number[];
  rss?: { size: number; tile: number; nfe: number };
}

/** Input sides of the default rows for a model of this factor. */
export function defaultSizes(factor: number): { sizes: number[]; rss: { size: number; tile: number; nfe: number } } {
  return { sizes: OUT_SIDES.map((o) => o / factor), rss: { size: RSS_OUT.out / factor, tile: RSS_OUT.tile, nfe: RSS_OUT.nfe } };
}

/** The rows for a model bundle (skipped, with the reason, when the bundle cannot be used). */
export function upscaleRows(o: UpscaleRowsOptions): { rows: BenchRow[]; probes: ProbeRow[] } {
  const inspected = inspectBundle(o.model);
  const info = 'info' in inspected ? inspected.info : null;
  const skip = 'skip' in inspected ? inspected.skip : undefined;
  const d = defaultSizes(info?.flow.factor ?? 2);
  const rows: BenchRow[] = [];
  for (const size of o.sizes ?? d.sizes) (o.nfes ?? NFES).forEach((nfe, i) => rows.push(timingRow(o.model, info, skip, size, nfe, i === 0)));
  const rss = o.rss ?? d.rss;
  return { rows, probes: [rssProbe(o.model, info, skip, rss), ...(o.rss ? [] : [rssProbe(o.model, info, skip, { ...rss, tile: 0 })])] };
}

const { rows, probes } = upscaleRows({ model: benchModelPath() });
register(...rows);
registerProbe(...probes);
