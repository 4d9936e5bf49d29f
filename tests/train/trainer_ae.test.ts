// The Trainer in-process, autoencoder mode: on a fixed batch (2 images, batch size 2, no augmentation,
// decoding the posterior mean) the loss goes down; the KL and reconstruction terms are logged; every
// tensor the run created is freed; a checkpoint from this run can serve as the VAE of flow training.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { getNumThreads, liveTensors, setNumThreads } from '../../src/tensor_library.js';
import { loadCheckpoint, readMetricsCsv, resolveConfig, Trainer } from '../../src/train/index.js';
import { maxAbsDiff } from '../helpers.js';
import { makeFixture, type Fixture } from './e2e_fixtures.js';

let f: Fixture;
let threads = 0;
// One intra-op thread: tiny models gain nothing from two, and on a loaded machine two spin-wait.
before(async () => { threads = getNumThreads(); setNumThreads(1); f = await makeFixture(2, { corrupt: false }); });
after(() => { setNumThreads(threads); rmSync(f.dir, { recursive: true, force: true }); });

const sink = { text: '', write(s: string) { this.text += s; return true; } };

function config(mode: 'autoencoder' | 'flow', extra: string[] = []) {
  return resolveConfig(`
mode: ${mode}
model:
  unet: {in_channels: 8, model_channels: 32, out_channels: 4, num_res_blocks: 1, channel_mult: [1, 2], attention_resolutions: [2], num_heads: 2, dim_head: 16}
  vae: {preset: vae_small, path: null, ch: 32, ch_mult: [1, 1, 1, 1], num_res_blocks: 1}
data:
  sources: [{type: images, path: ${f.images}}]
  image_size: 64
  low_res_size: 32
  batch_size: 2
  workers: 0
  val_split: 0
  random_crop: false
  random_flip: false
train:
  lr: 2.0e-3
  lr_schedule: constant
  max_steps: 12
  checkpoint_every: 0
  ema: {update_after_step: 0}
  val: {every: 12, num_steps: 2, limit_batches: 1, crop_size: 64, num_images: 1}
  log: {every: 1, tensorboard: false}
  autoencoder: {sample_posterior: false, kl_weight: 1.0e-6}
`, extra).config;
}

test('autoencoder mode: the loss decreases on a fixed batch, terms logged, no tensors left behind', async () => {
  const live0 = liveTensors();
  const exp = join(f.dir, 'ae');
  const r = await new Trainer({ config: config('autoencoder'), expDir: exp, out: sink, handleSignals: false }).run();
  assert.equal(r.status, 'finished');
  assert.equal(r.step, 12);
  assert.equal(liveTensors(), live0, 'tensors leaked by the run');
  const rows = readMetricsCsv(join(exp, 'metrics.csv')).rows.filter((x) => x['train/loss'] !== undefined);
  const loss = rows.map((x) => x['train/loss']!);
  assert.equal(loss.length, 12);
  assert.ok(loss[11] < 0.85 * loss[0], `loss ${loss[0]} → ${loss[11]}`);
  // loss = rec + kl_weight · KL / (C·H·W) with C·H·W = 3·64·64
  for (const x of rows) {
    assert.ok(x['train/kl']! > 0);
    assert.ok(Math.abs(x['train/loss']! - (x['train/rec_loss']! + 1e-6 * x['train/kl']! / (3 * 64 * 64))) < 1e-6);
  }
  assert.ok(r.lastVal && r.lastVal['val/psnr'] > 0, 'validation ran');
  assert.match(sink.text, /mode autoencoder/);

  // The trained autoencoder (EMA weights of its checkpoint) is usable as the frozen VAE of flow mode.
  const flow = config('flow', [`model.vae.path=${join(exp, 'checkpoints/last.safetensors')}`, 'train.max_steps=2', 'train.val.every=0']);
  const r2 = await new Trainer({ config: flow, expDir: join(f.dir, 'flow'), out: sink, handleSignals: false }).run();
  assert.equal(r2.status, 'finished');
  assert.match(sink.text, /VAE \(frozen\): vae_small, weights .*last\.safetensors \(EMA weights of an autoencoder run at step 12\)/);
  assert.equal(liveTensors(), live0);
});

test("the reference's call order: the EMA update comes before the optimizer step (EMA at step k = weights after step k − 1)", async () => {
  const exp = join(f.dir, 'order');
  const c = config('flow', [`model.vae.path=${f.vae}`, 'train.max_steps=3', 'train.checkpoint_every=1', 'train.val.every=0', 'train.ema.update_after_step=10']);
  const r = await new Trainer({ config: c, expDir: exp, out: sink, handleSignals: false }).run();
  assert.equal(r.status, 'finished');
  const ck = [1, 2, 3].map((s) => loadCheckpoint(join(exp, `checkpoints/step-00000000${s}.safetensors`)));
  try {
    for (const s of [1, 2]) {
      let changed = 0;
      for (const [k, ema] of ck[s].ema) {
        const prev = ck[s - 1].model.get(k)!;
        assert.equal(maxAbsDiff(ema, prev), 0, `ema.${k} at step ${s + 1} differs from model.${k} at step ${s}`);
        if (maxAbsDiff(ema, ck[s].model.get(k)!) > 0) changed++;
      }
      assert.ok(changed > 10, 'the online weights moved past the EMA copy');
    }
  } finally {
    for (const x of ck) for (const m of [x.model, x.ema, x.rng, x.optimizer!.tensors]) for (const t of m.values()) t.dispose();
  }
});

test('a linear-shortcut autoencoder starts from PCA of its training crops; resuming does not redo it', async () => {
  const live0 = liveTensors();
  const exp = join(f.dir, 'ae-pca');
  const c = config('autoencoder', ['model.vae.shortcut=linear', 'train.autoencoder.pca_batches=2', 'train.max_steps=2', 'train.val.every=2', 'train.lr=1e-5']);
  const before = sink.text.length;
  const r = await new Trainer({ config: c, expDir: exp, out: sink, handleSignals: false }).run();
  assert.equal(r.status, 'finished');
  assert.match(sink.text.slice(before), /linear shortcut initialised by PCA of 256 patches of 8×8 px \(2 batches\): the top 4 components keep \d+\.\d+ % of the variance/);
  // PCA of 8×8 patches with 4 components on these smooth test images: far above an untrained plain VAE.
  const plain = await new Trainer({ config: config('autoencoder', ['train.max_steps=2', 'train.val.every=2', 'train.lr=1e-5']), expDir: join(f.dir, 'ae-plain'), out: sink, handleSignals: false }).run();
  assert.ok(r.lastVal!['val/psnr'] > plain.lastVal!['val/psnr'] + 5, `PCA start ${r.lastVal!['val/psnr']} dB vs random ${plain.lastVal!['val/psnr']} dB`);
  const mark = sink.text.length;
  const r2 = await new Trainer({ config: config('autoencoder', ['model.vae.shortcut=linear', 'train.autoencoder.pca_batches=2', 'train.max_steps=3', 'train.val.every=0']), expDir: exp, out: sink, handleSignals: false, resumeCheckpoint: join(exp, 'checkpoints') }).run();
  assert.equal(r2.step, 3);
  assert.doesNotMatch(sink.text.slice(mark), /initialised by PCA/);
  assert.equal(liveTensors(), live0);
});

test('flow mode: degradations drawn per sample from data.degradations; scale_by_std measured once, kept on resume', async () => {
  const exp = join(f.dir, 'degr');
  const extra = [`model.vae.path=${f.vae}`, 'data.degradations=[bilinear, area, bicubic_aa]', 'model.flow.scale_by_std=true', 'train.val.every=2'];
  const mark = sink.text.length;
  const r = await new Trainer({ config: config('flow', [...extra, 'train.max_steps=2']), expDir: exp, out: sink, handleSignals: false }).run();
  assert.equal(r.status, 'finished');
  assert.ok(r.lastVal && Number.isFinite(r.lastVal['val/psnr']));
  const m = sink.text.slice(mark).match(/scale_by_std: latent std (\S+) over 8 batches → scale_factor (\S+)/);
  assert.ok(m, 'scale_by_std reported');
  assert.ok(Math.abs(Number(m[2]) * Number(m[1]) - 1) < 1e-3);
  const ck = loadCheckpoint(join(exp, 'checkpoints/last.safetensors'));
  const sf = (ck.config as any).model.flow.scale_factor;
  for (const x of [ck.model, ck.ema, ck.rng, ck.optimizer!.tensors]) for (const t of x.values()) t.dispose();
  assert.ok(Math.abs(sf - Number(m[2])) / sf < 1e-3 && sf !== 0.18215, `checkpoint scale_factor ${sf}`);
  const mark2 = sink.text.length;
  const c2 = config('flow', [...extra, 'train.max_steps=3']);
  const r2 = await new Trainer({ config: c2, expDir: exp, out: sink, handleSignals: false, resumeCheckpoint: join(exp, 'checkpoints') }).run();
  assert.equal(r2.step, 3);
  assert.doesNotMatch(sink.text.slice(mark2), /scale_by_std/);
  assert.equal(c2.model.flow.scale_factor, sf);
  assert.throws(() => config('flow', ['data.degradations=[bilinaer]']), /did you mean "bilinear"/);
});

test('flow mode: model.flow.t_zero_fraction trains a share of samples at t = 0; out-of-range values are refused', async () => {
  const extra = [`model.vae.path=${f.vae}`, 'model.flow.noising_step=-1', 'train.val.every=0', 'train.log.every=1'];
  assert.throws(() => config('flow', ['model.flow.t_zero_fraction=1.5']), /t_zero_fraction/);
  const run = async (frac: number, name: string) => {
    const r = await new Trainer({ config: config('flow', [...extra, `model.flow.t_zero_fraction=${frac}`, 'train.max_steps=2']), expDir: join(f.dir, name), out: sink, handleSignals: false }).run();
    assert.equal(r.status, 'finished');
    return readMetricsCsv(join(f.dir, name, 'metrics.csv')).rows.map((x) => x['train/loss']).filter((v) => v !== undefined);
  };
  const a = await run(0, 'tz0'), b = await run(1, 'tz1');
  // Same data, weights and x0; only t differs (all 0 with fraction 1). The fresh UNet's output is 0 (zero-initialised
  // out conv) and the linear path's target x1 − x0 has no t, so step 1's losses are equal; after one update they differ.
  assert.equal(a.length, 2);
  assert.ok([...a, ...b].every((v) => Number.isFinite(v)));
  assert.equal(a[0], b[0]);
  assert.notEqual(a[1], b[1]);
});
