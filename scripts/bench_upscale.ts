// Upscaling speed and memory (not a bench/ row: those pair each measurement with PyTorch code, and the
// reference never had an inference pipeline). Random weights: speed does not depend on the values.
//   node dist/scripts/bench_upscale.js [--arch small|paper] [--sizes 256,512] [--steps 2,11,26]
//   node dist/scripts/bench_upscale.js --rss 1024 --tile 512 [--arch small]   (one run; prints peak RSS)
// Prints one line per measurement: size, steps, seconds per image and the encode / flow / decode split.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { F, manualSeed, rand, tidy, getNumThreads } from '../src/tensor/index.js';
import { createUNet, createVAE } from '../src/models/index.js';
import { Upsampler, writeBundle } from '../src/pipeline/index.js';
import type { UpsampleStage } from '../src/pipeline/index.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const arch = opt('--arch', 'small');
const rss = args.includes('--rss') ? Number(opt('--rss', '1024')) : 0;
const tile = args.includes('--tile') ? Number(opt('--tile', '512')) : undefined;
const sizes = opt('--sizes', '256,512').split(',').map(Number);
const stepsList = opt('--steps', '2,11,26').split(',').map(Number);

const dir = mkdtempSync(join(tmpdir(), 'fmboost-bench-'));
const model = join(dir, 'model.safetensors');
manualSeed(0);
const unet = createUNet(arch === 'paper' ? 'paper' : 'unet_small');
const vae = createVAE(arch === 'paper' ? 'sd' : 'vae_small');
writeBundle(model, { unet, vae, name: `random-${arch}`, flow: { factor: 2, steps: 11, solver: 'euler', noiseStep: 400 } });
unet.dispose();
vae.dispose();
const up = await Upsampler.load({ model });

function image(size: number) {
  return tidy(() => F.interpolate(rand([1, 3, size / 8, size / 8]), { size: [size, size], mode: 'bicubic', alignCorners: false }).mul(2).sub(1).clamp(-1, 1).squeeze(0));
}

async function timed(size: number, steps: number, tileSize?: number) {
  const img = image(size);
  const stageEnd: Partial<Record<UpsampleStage, number>> = {};
  const t0 = performance.now();
  const r = await up.upsampleImage(img, { steps, seed: 0, tileSize, onProgress: (s) => { stageEnd[s] = performance.now(); } });
  const total = (performance.now() - t0) / 1000;
  const enc = (stageEnd.encode! - t0) / 1000, flow = (stageEnd.flow! - stageEnd.encode!) / 1000, dec = (stageEnd.decode! - stageEnd.flow!) / 1000;
  r.image.dispose();
  img.dispose();
  return { total, enc, flow, dec, tiles: r.info.tiles };
}

console.log(`# arch ${arch}, threads ${getNumThreads()}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} (2 cores)`);
if (rss) {
  const r = await timed(rss, 3, tile);
  const peak = process.resourceUsage().maxRSS / 1024;
  console.log(`${rss}→${rss * 2} tile ${tile ?? 'none'} (${r.tiles} tiles), 2 Euler steps: ${r.total.toFixed(2)} s (encode ${r.enc.toFixed(2)}, flow ${r.flow.toFixed(2)}, decode ${r.dec.toFixed(2)}); peak RSS ${peak.toFixed(0)} MB`);
} else {
  await timed(sizes[0], 2); // warm-up
  for (const size of sizes) {
    for (const steps of stepsList) {
      const r = await timed(size, steps);
      console.log(`${size}→${size * 2} steps ${steps} (${steps - 1} Euler): ${r.total.toFixed(2)} s/image (encode ${r.enc.toFixed(2)}, flow ${r.flow.toFixed(2)} = ${(r.flow / (steps - 1)).toFixed(3)}/step, decode ${r.dec.toFixed(2)})`);
    }
  }
}
up.dispose();
rmSync(dir, { recursive: true, force: true });
