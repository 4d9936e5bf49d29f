// The trainer's and the pipeline's VAE loading go through models/load.ts: every format it reads loads into
// a VAE built from a config and reproduces PyTorch's outputs; errors name the file and the keys at fault.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad, tidy, liveTensors, readSafetensors, type Tensor } from '../../src/tensor_library.js';
import { models } from '../../src/index.js';
import { saveCheckpoint } from '../../src/train/index.js';
import { loadVaeWeights, ModelSetupError } from '../../src/train/loop/models.js';
import { readAnyVaeStateDict as pipelineReadVae } from '../../src/pipeline/bundle.js';
import { ModelLoadError as PipelineLoadError } from '../../src/pipeline/errors.js';
import { ROOT, maxAbsDiff } from '../helpers.js';

const DIR = join(ROOT, 'tests', 'fixtures', 'models', 'ckpt');
const G = readSafetensors(join(DIR, 'goldens.safetensors')).tensors;
const g = (k: string): Tensor => G.get(k)!;
const TMP = mkdtempSync(join(tmpdir(), 'fmboost-vae-weights-'));
after(() => {
  rmSync(TMP, { recursive: true, force: true });
  for (const t of G.values()) t.dispose();
});
// The fixture VAE's architecture, as a training config would give it (4 GroupNorm groups).
const w0 = models.readVaeWeights(join(DIR, 'vae_plain.ckpt'), { config: { norm_groups: 4 } });
const CONFIG = w0.config;
for (const t of w0.stateDict.values()) t.dispose();

function encodeDiff(vae: models.AutoencoderKL): number {
  return noGrad(() => tidy(() => {
    const post = vae.encode(g('vae.image'));
    try {
      return Math.max(maxAbsDiff(post.mean, g('vae.mean')), maxAbsDiff(vae.decode(post.mean), g('vae.decoded')));
    } finally {
      post.dispose();
    }
  }));
}

test('trainer: loadVaeWeights reads every format of models/load.ts into a config-built VAE', () => {
  const live0 = liveTensors();
  for (const file of ['vae_plain.ckpt', 'vae_ldm_full.ckpt', 'vae_diffusers.safetensors', 'vae_diffusers_old.safetensors', 'unet_lightning.ckpt']) {
    const vae = new models.AutoencoderKL(CONFIG);
    try {
      assert.equal(loadVaeWeights(vae, join(DIR, file)), join(DIR, file));
      const d = encodeDiff(vae);
      assert.ok(d <= 1e-4, `${file}: differs from PyTorch by ${d}`);
    } finally {
      vae.dispose();
    }
  }
  assert.equal(liveTensors(), live0, 'tensors leaked');
});

test('trainer: an autoencoder training checkpoint gives its EMA weights and says so; errors name the file and key', () => {
  const w = models.readVaeWeights(join(DIR, 'vae_plain.ckpt'), { config: { norm_groups: 4 } });
  const shifted = new Map([...w.stateDict].map(([k, t]) => [k, t.add(1)]));
  const ck = join(TMP, 'ae.safetensors');
  saveCheckpoint(ck, { step: 9, model: shifted, ema: w.stateDict, config: { mode: 'autoencoder' } as never });
  const flowCk = join(TMP, 'flow.safetensors');
  saveCheckpoint(flowCk, { step: 1, model: new Map([['input_blocks.0.0.weight', shifted.get('quant_conv.weight')!]]), config: { mode: 'flow' } as never });
  for (const m of [w.stateDict, shifted]) for (const t of m.values()) t.dispose();
  const vae = new models.AutoencoderKL(CONFIG);
  try {
    assert.equal(loadVaeWeights(vae, ck), `${ck} (EMA weights of an autoencoder run at step 9)`);
    assert.ok(encodeDiff(vae) <= 1e-4, 'the EMA copy is the unshifted one');
    assert.throws(() => loadVaeWeights(vae, join(DIR, 'vae_wrong_shape.ckpt')),
      (e: Error) => e instanceof models.ModelLoadError && e.message.includes('vae_wrong_shape.ckpt') && /encoder\.mid\.block_1\.conv1\.weight/.test(e.message));
    assert.throws(() => loadVaeWeights(vae, join(DIR, 'vae_missing_key.ckpt')), /vae_missing_key\.ckpt.*missing keys: decoder\.up\.0\.block\.0\.conv2\.bias/);
    assert.throws(() => loadVaeWeights(vae, flowCk), (e: Error) => e.message.includes(flowCk) && /holds a UNet \(flow mode\), not a VAE/.test(e.message));
    assert.throws(() => loadVaeWeights(vae, join(TMP, 'nope.ckpt')), (e: Error) => e instanceof ModelSetupError && /not found: .*nope\.ckpt/.test(e.message));
  } finally {
    vae.dispose();
  }
});

test("pipeline: readAnyVaeStateDict takes other files through models/load.ts; its errors name the file once", () => {
  const live0 = liveTensors();
  const sd = pipelineReadVae(join(DIR, 'vae_diffusers_old.safetensors'), CONFIG.chMult.length);
  const vae = new models.AutoencoderKL(CONFIG);
  try {
    vae.loadStateDict(sd, { strict: true });
    assert.ok(encodeDiff(vae) <= 1e-4);
  } finally {
    vae.dispose();
    for (const t of sd.values()) t.dispose();
  }
  const bad = join(DIR, 'vae_missing_key.ckpt');
  const sd2 = pipelineReadVae(bad, CONFIG.chMult.length); // reading is not strict: the missing key shows when loading
  assert.ok(!sd2.has('decoder.up.0.block.0.conv2.bias') && sd2.has('decoder.up.0.block.0.conv1.bias'));
  for (const t of sd2.values()) t.dispose();
  const unetOnly = join(TMP, 'unet_only.safetensors');
  saveCheckpoint(unetOnly, { step: 1, model: new Map([['input_blocks.0.0.weight', g('vae.mean')]]), config: { mode: 'flow' } as never });
  assert.throws(() => pipelineReadVae(unetOnly, 2), (e: Error) => e instanceof PipelineLoadError
    && e.message === `${unetOnly}: VAE weights (fmboost-checkpoint): this training checkpoint holds a UNet (flow mode), not a VAE`);
  assert.equal(liveTensors(), live0, 'tensors leaked');
});
