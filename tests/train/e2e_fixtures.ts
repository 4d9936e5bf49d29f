// Shared fixtures of the training end-to-end tests: a folder of small synthetic images (plus one
// corrupt file), a tiny randomly initialised KL-f8 VAE saved as safetensors, a tiny-UNet config, and
// a runner for the CLI in a subprocess (FMBOOST_THREADS=1, so runs are bit-reproducible).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeImage } from '../../src/data/index.js';
import { createVAE } from '../../src/models/index.js';
import { saveWeights } from '../../src/io/index.js';
import { manualSeed } from '../../src/tensor_library.js';
import { ROOT } from '../helpers.js';

export const CLI = join(ROOT, 'dist/src/cli/main.js');

/** The tiny VAE: vae_small's layout at one width level (f8, 4 latent channels), 0.37 M parameters. */
export const TINY_VAE = { ch: 32, chMult: [1, 1, 1, 1], numResBlocks: 1 };

export interface Fixture {
  dir: string;
  images: string;
  vae: string;
  /** Good images written (the corrupt one is extra). */
  count: number;
}

/** n smooth colour-stripe images of 72×80 (varied frequencies), and `bad.png` which is not an image. */
export async function makeFixture(n = 10, opts: { corrupt?: boolean } = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-train-'));
  const images = join(dir, 'img');
  mkdirSync(images);
  const H = 72, W = 80;
  for (let k = 0; k < n; k++) {
    const d = new Float32Array(3 * H * W);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) d[c * H * W + y * W + x] = 0.8 * Math.sin((x * (k + 1) + y * (c + 2)) / 9 + k);
    }
    writeFileSync(join(images, `im${String(k).padStart(2, '0')}.png`), await encodeImage(d, 3, H, W, { format: 'png' }));
  }
  if (opts.corrupt ?? true) writeFileSync(join(images, 'bad.png'), 'this is not a PNG file');
  manualSeed(0);
  const vae = createVAE('vae_small', TINY_VAE);
  const vaePath = join(dir, 'vae.safetensors');
  saveWeights(vaePath, vae.stateDict());
  vae.dispose();
  return { dir, images, vae: vaePath, count: n };
}

/** A flow-mode config for the fixture: tiny UNet (unet_tiny layout), 64 px images, 32 px low-res. */
export function flowConfig(f: Fixture, train: Record<string, unknown> = {}, extra = ''): string {
  const t = {
    lr: 1e-3, warmup_steps: 2, max_steps: 12, checkpoint_every: 3, seed: 7,
    ema: '{update_after_step: 2}', val: '{every: 6, num_steps: 3, limit_batches: 1, crop_size: 64, num_images: 2, solver: euler}', log: '{every: 1}',
    ...train,
  };
  const path = join(f.dir, `cfg-${Math.random().toString(36).slice(2, 8)}.yaml`);
  writeFileSync(path, `name: tiny
model:
  unet: {in_channels: 8, model_channels: 32, out_channels: 4, num_res_blocks: 1, channel_mult: [1, 2], attention_resolutions: [2], num_heads: 2, dim_head: 16}
  vae: {preset: vae_small, path: ${f.vae}, ch: 32, ch_mult: [1, 1, 1, 1], num_res_blocks: 1}
  flow: {noising_step: 400}
data:
  sources: [{type: images, path: ${f.images}}]
  image_size: 64
  low_res_size: 32
  batch_size: 2
  workers: 1
  val_split: 0.2
train:
${Object.entries(t).map(([k, v]) => `  ${k}: ${v}`).join('\n')}
${extra}`);
  return path;
}

export interface RunResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

export function spawnCli(args: string[], cwd: string, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, FMBOOST_THREADS: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function collect(p: ChildProcess): Promise<RunResult> {
  let stdout = '', stderr = '';
  p.stdout!.on('data', (d) => (stdout += d));
  p.stderr!.on('data', (d) => (stderr += d));
  return new Promise((res, rej) => {
    p.on('error', rej);
    p.on('close', (code, signal) => res({ code, signal, stdout, stderr }));
  });
}

export function runCli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<RunResult> {
  return collect(spawnCli(args, cwd, env));
}
