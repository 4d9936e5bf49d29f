// `fmboost precompute`: latent shards + manifest from an image folder (corrupt file skipped and
// counted), stored values = VAE posterior means of the centre crop and of its PSU image (recomputed
// here from the image file), a second run resumes (skips the items already in the manifest), and
// `fmboost train` runs on the shards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { centerCrop, LatentShardSource, readImage } from '../../src/data/index.js';
import { loadWeights } from '../../src/io/index.js';
import { createVAE } from '../../src/models/index.js';
import { F, getNumThreads, noGrad, setNumThreads, tidy } from '../../src/tensor_library.js';
import { assertClose } from '../helpers.js';
import { flowConfig, makeFixture, runCli, TINY_VAE, type Fixture } from './e2e_fixtures.js';

let f: Fixture;
let threads = 0;
before(async () => { threads = getNumThreads(); setNumThreads(1); f = await makeFixture(10); });
after(() => { setNumThreads(threads); rmSync(f.dir, { recursive: true, force: true }); });

interface Manifest { format: string; keys: string[]; shards: { file: string; count: number; ids: string[] }[]; info: Record<string, unknown> }

test('precompute writes shards + manifest, skips the corrupt image, resumes, and train reads the shards', async () => {
  const out = join(f.dir, 'latents');
  const cfg = flowConfig(f, { max_steps: 2, checkpoint_every: 0, val: '{every: 2, num_steps: 2, limit_batches: 1, crop_size: 64, num_images: 1}' });
  const r = await runCli(['precompute', '--config', cfg, '--out', out, '--shard_size', '4', '--batch_size', '3'], f.dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /skipped .*bad\.png/);
  assert.match(r.stderr, /done: 10 encoded now, 0 already done, 1 skipped/);
  const mpath = join(out, 'manifest.json');
  const m = JSON.parse(readFileSync(mpath, 'utf8')) as Manifest;
  assert.equal(m.format, 'fmboost-latents');
  assert.deepEqual(m.keys, ['latent', 'latent_lowres']);
  assert.deepEqual(m.shards.map((s) => s.count), [4, 4, 2]);
  const ids = m.shards.flatMap((s) => s.ids);
  assert.deepEqual(ids, Array.from({ length: 10 }, (_, k) => `im${String(k).padStart(2, '0')}`));
  assert.equal(m.info.complete, true);
  assert.equal(m.info.skipped, 1);
  assert.equal(m.info.image_size, 64);

  // values: posterior means (unscaled) of the 64 px centre crop and of its PSU image
  const vae = createVAE('vae_small', TINY_VAE);
  const w = loadWeights(f.vae);
  vae.loadStateDict(w);
  for (const t of w.values()) t.dispose();
  const src = new LatentShardSource(mpath);
  assert.equal(src.length, 10);
  for (const i of [0, 9]) {
    const item = src.item(i);
    const img = await readImage(join(f.images, `${item.key}.png`), { resizeShorter: 64 });
    noGrad(() => tidy(() => {
      const x = centerCrop(img, 64).unsqueeze(0);
      // the PSU image by its definition: the reference's bilinear down (no antialias), bilinear back up
      const bilinear = (y: typeof x, n: number) => F.interpolate(y, { size: [n, n], mode: 'bilinear', alignCorners: false });
      const psu = bilinear(bilinear(x, 32), 64);
      const enc = (y: typeof x) => { const p = vae.encode(y); try { return p.mean.squeeze(0).clone(); } finally { p.dispose(); } };
      assert.deepEqual(item.tensors!.latent.shape, [4, 8, 8]);
      assertClose(item.tensors!.latent, enc(x), { atol: 1e-5 });
      assertClose(item.tensors!.latent_lowres, enc(psu), { atol: 1e-5 });
    }));
    img.dispose();
    for (const t of Object.values(item.tensors!)) t.dispose();
  }
  vae.dispose();

  // latent statistics over every shard (LDM's scale_by_std), against a direct computation
  const all: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const item = src.item(i);
    all.push(...item.tensors!.latent.toFloat32Array());
    for (const t of Object.values(item.tensors!)) t.dispose();
  }
  const mean = all.reduce((a, b) => a + b, 0) / all.length;
  const std = Math.sqrt(all.reduce((a, b) => a + (b - mean) ** 2, 0) / all.length);
  assert.ok(Math.abs((m.info.latent_mean as number) - mean) < 1e-6, `${m.info.latent_mean} vs ${mean}`);
  assert.ok(Math.abs((m.info.latent_std as number) / std - 1) < 1e-6, `${m.info.latent_std} vs ${std}`);
  assert.ok(Math.abs((m.info.suggested_scale_factor as number) * std - 1) < 1e-6);
  assert.match(r.stderr, /suggested model.flow.scale_factor = [0-9.]+/);

  // resume: as if the run had stopped after two shards
  const lastShard = m.shards[2];
  writeFileSync(mpath, JSON.stringify({ ...m, shards: m.shards.slice(0, 2), info: { ...m.info, complete: false } }));
  unlinkSync(join(out, lastShard.file));
  const r2 = await runCli(['precompute', '--config', cfg, '--out', out, '--shard_size', '4', '--batch_size', '3'], f.dir);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, /resuming: 8 items already in 2 shard\(s\), 2 to go/);
  assert.match(r2.stderr, /done: 2 encoded now, 8 already done/);
  const m2 = JSON.parse(readFileSync(mpath, 'utf8')) as Manifest;
  assert.deepEqual(m2.shards.map((s) => s.count), [4, 4, 2]);
  assert.deepEqual(m2.shards[2].ids, lastShard.ids);
  assert.equal(m2.info.complete, true);
  // other settings into the same folder are refused
  const r3 = await runCli(['precompute', '--config', cfg, '--out', out, 'data.image_size=128', 'data.low_res_size=64'], f.dir);
  assert.notEqual(r3.code, 0);
  assert.match(r3.stderr, /made with image_size = 64, this run has 128/);

  // flow training from the shards (validation decodes the stored latents for the references)
  const t = await runCli(['train', '--config', cfg, '--name', 'lat', '--logdir', join(f.dir, 'logs'), `data.sources=[{type: latents, path: ${out}}]`], f.dir);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stderr, /latents:.*10 usable items \(train 8, validation 2\)/);
  assert.match(t.stderr, /validation at step 2: PSNR/);
});

test('precompute on a folder with no images fails (exit 2) naming the problem, and writes nothing', async () => {
  const { mkdirSync, existsSync } = await import('node:fs');
  const empty = join(f.dir, 'empty-images');
  mkdirSync(empty, { recursive: true });
  const out = join(f.dir, 'lat-empty');
  const cfg = flowConfig(f, { checkpoint_every: 0, max_steps: 1 });
  const r = await runCli(['precompute', '--config', cfg, '--out', out, `data.sources=[{type: images, path: ${empty}}]`], f.dir);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^fmboost: .*(no images|nothing to precompute|no usable)/m);
  assert.ok(!existsSync(join(out, 'manifest.json')));
});
