// Data-parallel training probe: what `fmboost train --nproc 2` buys on one machine. The bundled model's flow
// recipe (configs/default/cfm.yaml: 15.3 M UNet, f4c8 VAE, bf16, 128² crops) at a global batch of 8, run as
// `fmboost train` subprocesses on synthetic photos with a randomly initialised VAE (speed does not depend on
// the weights):
//   A  1 process × 2 threads, batch 8          (the default)
//   B  2 processes × 1 thread, batch 4 each    (Gloo over loopback, gradients all-reduced during backward)
//   C  1 process × 1 thread, batch 4           (B's per-rank work alone, no communication)
// steps/s from the trainer's own meter over the last 20 steps (a 4-step warm-up before them). The overhead
// share of B, 1 − time(C) / time(B), is the time a rank spends beyond its own work: the all-reduces, waiting
// for the other rank, and the two processes' contention for the memory system.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeImageU8 } from '../../src/data/index.js';
import { createVAE } from '../../src/models/index.js';
import { saveWeights } from '../../src/io/index.js';
import { manualSeed } from '../../src/tensor/index.js';
import { registerProbe, type ProbeResult } from '../registry.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const STEPS = 24;

/** 48 smooth-plus-noise 256² photos-like images and a random vae_f4c8 checkpoint. */
async function fixture(dir: string): Promise<{ images: string; vae: string }> {
  const images = join(dir, 'img');
  mkdirSync(images);
  const S = 256;
  for (let k = 0; k < 48; k++) {
    const px = new Uint8Array(S * S * 3);
    let s = k * 2654435761 >>> 0;
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) {
      s = (s * 1664525 + 1013904223) >>> 0;
      const v = 128 + 90 * Math.sin((x * (c + 1) + y * (k % 5 + 1)) / 17 + k) + ((s >>> 24) - 128) / 6;
      px[(y * S + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
    }
    writeFileSync(join(images, `p${k}.png`), await encodeImageU8(px, S, S));
  }
  manualSeed(0);
  const vae = createVAE('vae_f4c8');
  const path = join(dir, 'vae.safetensors');
  saveWeights(path, vae.stateDict());
  vae.dispose();
  return { images, vae: path };
}

function train(dir: string, name: string, args: string[], threads: number): Promise<{ itPerS: number; rssMB: number }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'train', '--config', join(ROOT, 'configs/default/cfm.yaml'), '--name', name, '--logdir', join(dir, 'logs'), ...args], {
      cwd: dir, env: { ...process.env, FMBOOST_THREADS: String(threads) }, maxBuffer: 64 << 20,
    }, (err, _out, stderr) => {
      if (err) return reject(new Error(`fmboost train ${name} failed: ${stderr.split('\n').filter(Boolean).slice(-3).join(' | ')}`));
      const csv = readFileSync(join(dir, 'logs', name, 'metrics.csv'), 'utf8').trim().split('\n');
      const head = csv[0].split(',');
      const last = csv[csv.length - 1].split(',');
      resolve({ itPerS: Number(last[head.indexOf('perf/it_per_s')]), rssMB: Number(last[head.indexOf('mem/rss_mb')]) });
    });
  });
}

registerProbe({
  name: 'data-parallel flow train step, bundled recipe bf16, global batch 8: 1 proc × 2 threads vs 2 procs × 1 thread',
  group: 'training',
  quickSkip: 'three training runs of ~30 steps each',
  notes: 'fmboost train subprocesses on synthetic 256² images, random vae_f4c8; ours = 2 procs × 1 thread (Gloo, loopback), ' +
    'details: steps/s of each layout and the overhead share; RSS = rank 0\'s at the last step (mem/rss_mb), per process; no PyTorch side (its DDP counterpart is not part of this bench)',
  async measure({ threads }): Promise<ProbeResult> {
    const dir = mkdtempSync(join(tmpdir(), 'fmboost-bench-dp-'));
    try {
      const f = await fixture(dir);
      const common = [`data.sources=[{type: images, path: ${f.images}}]`, `model.vae.path=${f.vae}`, 'model.flow.scale_by_std=false', `train.max_steps=${STEPS}`,
        'train.val.every=0', 'train.checkpoint_every=0', `train.log.every=${STEPS}`, 'train.warmup_steps=0', 'data.val_split=0', 'data.workers=1'];
      const A = await train(dir, 'a', [...common, 'data.batch_size=8'], Math.max(2, threads));
      const B = await train(dir, 'b', [...common, '--nproc', '2', 'data.batch_size=4'], 1);
      const C = await train(dir, 'c', [...common, 'data.batch_size=4'], 1);
      const [a, b, c] = [A.itPerS, B.itPerS, C.itPerS];
      return {
        oursMs: 1e3 / b,
        peakRssMB: { ours: B.rssMB },
        noTorch: 'a layout comparison of our own trainer (PyTorch DDP not run here)',
        details: {
          '1×2 threads steps/s': Number(a.toFixed(3)),
          '2×1 thread steps/s': Number(b.toFixed(3)),
          '2×1 / 1×2': Number((b / a).toFixed(3)),
          'per-rank work alone (1×1, batch 4) steps/s': Number(c.toFixed(3)),
          '1×2 threads RSS MB': Math.round(A.rssMB),
          'overhead share of 2×1 (comm + wait + contention)': Number((1 - b / c).toFixed(3)),
        },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
