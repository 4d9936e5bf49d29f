// CFM model bundles: write → load gives the same weights and configs; bad files and configs fail with errors
// naming the problem; training checkpoints load their EMA weights, config and VAE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { liveTensors, manualSeed, randn, tidy, type Tensor } from '../../src/tensor/index.js';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../../src/io/index.js';
import { EfficientUNet, AutoencoderKL } from '../../src/models/index.js';
import { train } from '../../src/index.js';
import { BUNDLE_FORMAT, exportBundle, loadBundle, loadModel, disposeModel, ModelLoadError, resolveFlowConfig, DEFAULT_FLOW_CONFIG } from '../../src/pipeline/index.js';
import { TINY_UNET, TINY_VAE, tmpDir, writeTinyBundle } from './tiny.js';
import { maxAbsDiff } from '../helpers.js';

function sameWeights(a: Map<string, Tensor>, b: Map<string, Tensor>): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [k, t] of a) assert.equal(maxAbsDiff(t, b.get(k)!), 0, k);
}

/** A copy of the bundle at `path`, written to `out` with its metadata and (optionally) some tensors changed. */
function rewriteBundle(path: string, out: string, edit: { metadata?: (m: Record<string, string>) => Record<string, string>; tensor?: (key: string, t: Tensor) => Tensor }): string {
  const head = readSafetensorsHeader(path);
  const { tensors } = readSafetensors(path);
  try {
    tidy(() => writeSafetensors(out, new Map([...tensors].map(([k, t]) => [k, edit.tensor ? edit.tensor(k, t) : t])), edit.metadata ? edit.metadata(head.metadata) : head.metadata));
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return out;
}

test('bundle round trip: tensors unet.* / vae.*, metadata, equal weights and configs', () => {
  const { dir, cleanup } = tmpDir();
  try {
    const path = writeTinyBundle(join(dir, 'm.safetensors'), { factor: 4, solver: 'rk4', steps: 11 }, 7, 'my-model');
    const head = readSafetensorsHeader(path);
    assert.equal(head.metadata.format, BUNDLE_FORMAT);
    assert.equal(head.metadata.name, 'my-model');
    assert.ok([...head.tensors.keys()].every((k) => k.startsWith('unet.') || k.startsWith('vae.')));
    const live = liveTensors();
    const m = loadBundle(path);
    // The same weights again from the same seed (writeTinyBundle's recipe), compared key by key.
    const { dir: d2, cleanup: c2 } = tmpDir();
    const m2 = loadBundle(writeTinyBundle(join(d2, 'again.safetensors'), {}, 7));
    c2();
    sameWeights(m.unet.stateDict(), m2.unet.stateDict());
    sameWeights(m.vae.stateDict(), m2.vae.stateDict());
    assert.equal(m.flow.factor, 4);
    assert.equal(m.flow.solver, 'rk4');
    assert.equal(m.flow.steps, 11);
    assert.equal(m.flow.scaleFactor, 0.5);
    assert.equal(m.vae.downFactor, 4);
    assert.equal(m.unet.config.modelChannels, TINY_UNET.modelChannels);
    assert.equal(m.unet.training, false);
    disposeModel(m);
    disposeModel(m2);
    assert.equal(liveTensors(), live);
  } finally {
    cleanup();
  }
});

test('bundle errors: missing file, not a bundle, wrong shapes, bad flow config', () => {
  const { dir, cleanup } = tmpDir();
  try {
    assert.throws(() => loadModel(join(dir, 'nope.safetensors')), (e: Error) => e instanceof ModelLoadError && /no such file/.test(e.message));
    const junk = join(dir, 'junk.safetensors');
    writeFileSync(junk, 'hello world, not safetensors');
    assert.throws(() => loadModel(junk), (e: Error) => e instanceof ModelLoadError && /not a CFM model/.test(e.message));
    const plain = join(dir, 'plain.safetensors');
    tidy(() => writeSafetensors(plain, { w: randn([2]) }, { format: 'other' }));
    assert.throws(() => loadModel(plain), /not a CFM model bundle .*"other"/);
    // A bundle whose VAE config does not match its weights: the error names a key.
    const path = writeTinyBundle(join(dir, 'm.safetensors'));
    const bad = rewriteBundle(path, join(dir, 'bad.safetensors'), { metadata: (m) => ({ ...m, vae: JSON.stringify({ ...TINY_VAE, ch: 16 }) }) });
    assert.throws(() => loadModel(bad), (e: Error) => e instanceof ModelLoadError && /vae weights do not fit .*vae\./.test(e.message));
    assert.throws(() => resolveFlowConfig({ factor: 1.5 }), /flow.factor must be an integer/);
    assert.throws(() => resolveFlowConfig({ solver: 'rk5' as never }), /flow.solver must be/);
    assert.throws(() => resolveFlowConfig({ sourec: 'psu' } as never), /unknown flow config key 'sourec'/);
    assert.deepEqual(resolveFlowConfig({}), DEFAULT_FLOW_CONFIG);
  } finally {
    cleanup();
  }
});

test('a bundle with a NaN weight or an absurd scaleFactor fails at load, naming the weight or the key, and frees what it built', () => {
  const { dir, cleanup } = tmpDir();
  try {
    const path = writeTinyBundle(join(dir, 'm.safetensors'));
    const name = [...readSafetensorsHeader(path).tensors.keys()].find((k) => k.startsWith('unet.') && k.endsWith('.weight'))!;
    const poisoned = rewriteBundle(path, join(dir, 'nan.safetensors'), { tensor: (k, t) => (k === name ? t.mul(Number.NaN) : t) });
    const scaled = rewriteBundle(path, join(dir, 'scale.safetensors'), { metadata: (m) => ({ ...m, flow: JSON.stringify({ ...JSON.parse(m.flow), scaleFactor: 1e308 }) }) });
    const live = liveTensors();
    assert.throws(() => loadModel(poisoned), (e: Error) => e instanceof ModelLoadError && e.message.includes(`weight ${name} has `) && /values NaN or infinite/.test(e.message));
    assert.equal(liveTensors(), live, 'the model built before the check is freed');
    assert.throws(() => loadModel(scaled), (e: Error) => e instanceof ModelLoadError && /flow\.scaleFactor must be from 1e-6 to 1e6/.test(e.message));
  } finally {
    cleanup();
  }
});

test('a bundle whose metadata asks for a huge model (modelChannels 4096: ~27 G parameters) fails on shapes before allocating it', () => {
  const { dir, cleanup } = tmpDir();
  try {
    const path = writeTinyBundle(join(dir, 'm.safetensors'));
    const bomb = rewriteBundle(path, join(dir, 'bomb.safetensors'), { metadata: (m) => ({ ...m, unet: JSON.stringify({ ...JSON.parse(m.unet), modelChannels: 4096, channelMult: [1, 2, 3, 4] }) }) });
    const live = liveTensors(), rss = process.memoryUsage.rss();
    assert.throws(() => loadModel(bomb), (e: Error) => e instanceof ModelLoadError && /unet weights do not fit its config .*expected \[4096/.test(e.message));
    // built on the meta device first: nothing of the 100 GB model was allocated, and nothing is left behind
    assert.ok(process.memoryUsage.rss() - rss < 512 * 2 ** 20, `RSS grew by ${((process.memoryUsage.rss() - rss) / 2 ** 20).toFixed(0)} MB`);
    assert.equal(liveTensors(), live);
  } finally {
    cleanup();
  }
});

test('training checkpoint: EMA UNet, flow settings from the config, VAE from model.vae.path', () => {
  const { dir, cleanup } = tmpDir();
  try {
    manualSeed(1);
    const online = new EfficientUNet(TINY_UNET), ema = new EfficientUNet(TINY_UNET), vae = new AutoencoderKL(TINY_VAE);
    const vaePath = join(dir, 'vae.safetensors');
    writeSafetensors(vaePath, vae.stateDict());
    const config = {
      name: 'run1',
      model: {
        unet: { in_channels: 8, model_channels: 16, out_channels: 4, num_res_blocks: 1, attention_resolutions: [2], dropout: 0, channel_mult: [1, 2],
          conv_resample: true, dim_head: 8, num_heads: 2, use_linear_attn: false, use_scale_shift_norm: true, pool_factor: -1, norm_groups: 4 },
        vae: { preset: 'sd', path: 'vae.safetensors', ch: 8, ch_mult: [1, 2, 2], num_res_blocks: 1, z_channels: 4, embed_dim: 4, norm_groups: 4 },
        flow: { schedule: 'linear', sigma_min: 0, noising_step: 300, source: 'psu', start_from_noise: false, scale_factor: 0.5 },
      },
      data: { image_size: 256, low_res_size: 64 },
      train: { val: { solver: 'heun', num_steps: 9 } },
    };
    const ck = join(dir, 'last.safetensors');
    train.saveCheckpoint(ck, { step: 42, model: online.stateDict(), ema: ema.stateDict(), config });
    const m = loadModel(ck);
    sameWeights(m.unet.stateDict(), ema.stateDict());
    assert.ok(maxAbsDiff(m.unet.stateDict().get('input_blocks.0.0.weight')!, online.stateDict().get('input_blocks.0.0.weight')!) > 0, 'EMA and online differ');
    sameWeights(m.vae.stateDict(), vae.stateDict());
    assert.equal(m.name, 'run1@step42');
    assert.deepEqual([m.flow.factor, m.flow.noiseStep, m.flow.solver, m.flow.steps, m.flow.scaleFactor], [4, 300, 'heun', 9, 0.5]);
    disposeModel(m);
    const m2 = loadModel(ck, { online: true });
    sameWeights(m2.unet.stateDict(), online.stateDict());
    disposeModel(m2);
    // The VAE from an autoencoder training checkpoint (its EMA weights) or from a CFM bundle's vae.*.
    manualSeed(2);
    const vaeEma = new AutoencoderKL(TINY_VAE);
    const aeCk = join(dir, 'ae.safetensors');
    train.saveCheckpoint(aeCk, { step: 5, model: vae.stateDict(), ema: vaeEma.stateDict(), config: { mode: 'autoencoder' } });
    const m3 = loadModel(ck, { vae: aeCk });
    sameWeights(m3.vae.stateDict(), vaeEma.stateDict());
    disposeModel(m3);
    const bundlePath = writeTinyBundle(join(dir, 'b.safetensors'), {}, 3);
    const fromBundle = loadModel(bundlePath);
    const m4 = loadModel(ck, { vae: bundlePath });
    sameWeights(m4.vae.stateDict(), fromBundle.vae.stateDict());
    disposeModel(m4);
    disposeModel(fromBundle);
    vaeEma.dispose();
    assert.throws(() => loadModel(aeCk), /mode "autoencoder", not of a flow model/);
    // Export: the bundle holds the same networks and settings as the checkpoint it came from.
    const exported = join(dir, 'exported.safetensors');
    exportBundle(ck, exported);
    const m5 = loadBundle(exported), m6 = loadModel(ck);
    sameWeights(m5.unet.stateDict(), m6.unet.stateDict());
    sameWeights(m5.vae.stateDict(), m6.vae.stateDict());
    assert.deepEqual(m5.flow, m6.flow);
    assert.equal(m5.name, 'run1@step42');
    // Sampling defaults chosen at export replace the run's validation sampler; a bad one names the key.
    const sampled = join(dir, 'sampled.safetensors');
    exportBundle(ck, sampled, { sampling: { solver: 'heun', steps: 3 } });
    const m8 = loadBundle(sampled);
    assert.deepEqual(m8.flow, { ...m6.flow, solver: 'heun', steps: 3 });
    disposeModel(m8);
    assert.throws(() => exportBundle(ck, join(dir, 'bad.safetensors'), { sampling: { steps: 1 } }), /flow\.steps must be an integer from 2 to 1001/);
    assert.throws(() => exportBundle(ck, join(dir, 'bad.safetensors'), { sampling: { steps: 1e9 } }), /flow\.steps must be an integer from 2 to 1001/);
    // float16 export: half the bytes, weights equal to the float32 ones after rounding to half precision.
    const half = join(dir, 'half.safetensors');
    exportBundle(ck, half, { dtype: 'float16' });
    const hh = readSafetensorsHeader(half);
    assert.equal(hh.metadata.dtype, 'float16');
    assert.ok([...hh.tensors.values()].every((e) => e.dtype === 'float16'), 'every weight stored as float16');
    assert.ok(statSync(half).size < 0.6 * statSync(exported).size, `${statSync(half).size} vs ${statSync(exported).size} bytes`);
    const m7 = loadBundle(half);
    for (const [k, t] of m5.unet.stateDict()) {
      const h = m7.unet.stateDict().get(k)!;
      assert.equal(h.dtype, 'float32', `${k} loads as float32`);
      const r = tidy(() => t.to('float16').to('float32'));
      assert.equal(maxAbsDiff(r, h), 0, k);
      r.dispose();
    }
    disposeModel(m7);
    disposeModel(m5);
    disposeModel(m6);
    // Without a VAE path the error says how to give one.
    const noVae = join(dir, 'novae.safetensors');
    train.saveCheckpoint(noVae, { step: 1, model: online.stateDict(), config: { ...config, model: { ...config.model, vae: { ...config.model.vae, path: null } } } });
    assert.throws(() => loadModel(noVae), /no model.vae.path; pass the VAE weights/);
    for (const x of [online, ema, vae]) x.dispose();
  } finally {
    cleanup();
  }
});
