// An unconditional base model (model.flow.source noise): the trainer trains it with no low-res input and no
// context, validates it by SWD of its samples against the held-out images, `fmboost export` writes a base
// bundle, and OwnBase samples from it: seeded, sized, decoded, without leaks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { liveTensors, tidy } from '../../src/tensor/index.js';
import { OwnBase, ModelLoadError, PipelineError } from '../../src/pipeline/index.js';
import { loadConfig } from '../../src/train/config/index.js';
import { writeTinyBundle } from '../pipeline/tiny.js';
import { flowConfig, makeFixture, runCli, type Fixture } from './e2e_fixtures.js';

let f: Fixture;
const NOISE = ['model.flow.source=noise', 'model.unet.in_channels=4', 'model.flow.noising_step=-1', 'model.flow.scale_by_std=true'];

before(async () => { f = await makeFixture(6, { corrupt: false }); });
after(() => rmSync(f.dir, { recursive: true, force: true }));

test('source noise: config checks name the keys', () => {
  const cfg = flowConfig(f);
  assert.throws(() => loadConfig(cfg, ['model.flow.source=noise', 'model.flow.noising_step=-1']), /model\.unet\.in_channels: must equal out_channels with source noise.*got 8/s);
  assert.throws(() => loadConfig(cfg, ['model.flow.source=noise', 'model.unet.in_channels=4']), /source noise already starts from N\(0, I\)/);
  assert.equal(loadConfig(cfg, NOISE).config.model.flow.source, 'noise');
});

test('train a base model, validate by SWD, export it, sample it', async () => {
  const cfg = flowConfig(f, { max_steps: 6, val: '{every: 6, num_steps: 4, limit_batches: 1, crop_size: 64, num_images: 2, solver: euler}' });
  const logs = join(f.dir, 'logs');
  const r = await runCli(['train', '--config', cfg, '--name', 'base', '--logdir', logs, ...NOISE], f.dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /validation at step 6: SWD×1e3 \d+\.\d \(samples against the held-out images\)/);
  const csv = readFileSync(join(logs, 'base', 'metrics.csv'), 'utf8');
  assert.match(csv.split('\n')[0], /val\/swd/);
  assert.doesNotMatch(csv.split('\n')[0], /val\/psnr/);

  const out = join(f.dir, 'base.safetensors');
  const e = await runCli(['export', join(logs, 'base', 'checkpoints'), '--out', out], f.dir);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /wrote base model/);
  const before = liveTensors();
  const base = OwnBase.load(out);
  try {
    assert.equal(base.needsPrompt, false);
    assert.deepEqual(base.defaultSize, [64, 64]);
    assert.equal(base.spec.steps, 3, 'the run\'s validation grid (4 points) = 3 solver steps');
    const stored = loadConfig(join(logs, 'base', 'config.yaml')).config.model.flow.scale_factor;
    assert.equal(base.spec.scaleFactor, stored, 'scale_by_std\'s value travels with the bundle');
    const a = await base.sample({ seed: 3 }), b = await base.sample({ seed: 3 }), c = await base.sample({ seed: 4, size: [32, 48] });
    assert.deepEqual(a.shape, [1, 4, 8, 8], 'vae_small downsamples 8×: 64² px → 8² latents');
    assert.deepEqual(c.shape, [1, 4, 4, 6]);
    tidy(() => {
      assert.equal(a.sub(b).abs().max().item(), 0, 'same seed, same latent');
      assert.ok(a.abs().max().item() > 0, 'a latent is not all zeros');
      const img = base.decode(a);
      assert.deepEqual(img.shape, [1, 3, 64, 64]);
      assert.ok(img.amax([0, 1, 2, 3]).item() <= 1 && img.amin([0, 1, 2, 3]).item() >= -1);
    });
    const steps: number[] = [];
    const d = await base.sample({ seed: 3, steps: 2, sampler: 'heun', onStep: (s) => steps.push(s) });
    assert.deepEqual(steps, [1, 2]);
    await assert.rejects(base.sample({ size: [30, 30] }), (err: Error) => err instanceof PipelineError && /size 30×30 must be positive multiples of 16 px/.test(err.message));
    await assert.rejects(base.sample({ sampler: 'ddim' }), /unknown sampler 'ddim'/);
    await assert.rejects(base.sample({ steps: 0 }), /steps must be an integer from 1/);
    for (const t of [a, b, c, d]) t.dispose();
  } finally {
    base.dispose();
  }
  assert.equal(liveTensors(), before, 'OwnBase leaves no tensors behind');
  await assert.rejects(base.sample({}), /disposed/);
});

test('a CFM bundle is not a base model, nor a missing file', () => {
  const cfm = writeTinyBundle(join(f.dir, 'cfm.safetensors'));
  assert.throws(() => OwnBase.load(cfm), (e: Error) => e instanceof ModelLoadError && /not an fmboost base model \(metadata format "fmboost-cfm-model"/.test(e.message));
  assert.throws(() => OwnBase.load(join(f.dir, 'missing.safetensors')), ModelLoadError);
  assert.ok(existsSync(cfm));
});
