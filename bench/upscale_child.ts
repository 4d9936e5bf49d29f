// One upscaling run in a fresh process, for the memory probe of bench/rows/upscale.ts (a process's peak RSS
// cannot be reset, so each measurement needs its own process):
//   node dist/bench/upscale_child.js --model B.safetensors --size 1024 --nfe 1 [--tile 512] [--threads N]
// Prints one JSON line: seconds of the pipeline call (model load excluded), peak RSS (VmHWM) before and after it,
// tiles, nfe and the output size.
import { readFileSync } from 'node:fs';
import { setNumThreads, getNumThreads } from '../src/tensor/index.js';
import { Upsampler } from '../src/pipeline/index.js';
import { testImage } from './upscale_setup.js';

/** VmHWM (peak resident set) of this process in MB. */
function peakRssMB(): number {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('upscale_child: /proc/self/status has no VmHWM line');
  return Number(m[1]) / 1024;
}

function parse(argv: string[]): { model: string; size: number; nfe: number; tile?: number; threads?: number } {
  const get = (k: string) => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (k: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`upscale_child: ${k} needs a positive integer, got ${v}`);
    return n;
  };
  const model = get('--model');
  if (!model) throw new Error('upscale_child: --model PATH is required');
  const tile = get('--tile'), threads = get('--threads');
  return {
    model, size: int('--size', get('--size')), nfe: int('--nfe', get('--nfe') ?? '1'),
    tile: tile === undefined ? undefined : int('--tile', tile), threads: threads === undefined ? undefined : int('--threads', threads),
  };
}

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  if (a.threads) setNumThreads(a.threads);
  const up = await Upsampler.load({ model: a.model });
  const img = testImage(a.size);
  const loadRssMB = peakRssMB();
  const t0 = performance.now();
  // Exact VAE tiling is the pipeline's default with a tile size (as `fmboost upsample --tile`).
  const r = await up.upsampleImage(img, { steps: a.nfe, solver: 'euler', seed: 0, tileSize: a.tile }); // euler: one evaluation per step
  const seconds = (performance.now() - t0) / 1e3;
  const out = { seconds, peakRssMB: peakRssMB(), loadRssMB, tiles: r.info.tiles, nfe: r.info.nfe, outputSize: r.info.outputSize, threads: getNumThreads() };
  r.image.dispose();
  img.dispose();
  up.dispose();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
