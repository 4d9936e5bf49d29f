// SDBase (src/pipeline/sd_base.ts) on the tiny SD-like fixture of scripts/goldens/sd_base_fixture.py, written there in
// both layouts: the diffusers folder and the single original checkpoint must give the same model and the same
// latent for a seed; CFG at guidance 1 is the conditional model alone; the LCM path is sampleLCM with the guidance
// embedding; the generate() pipeline; every refusal names what is at fault. No real SD weights are ever loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, liveTensors, manualSeed, noGrad, randn, tidy } from '../../src/tensor/index.js';
import { SDUNet } from '../../src/models/sd/index.js';
import { sampleDDIM, sampleLCM, lcmGuidanceEmbedding } from '../../src/diffusion/index.js';
import { SDBase, generate, Upsampler, type BaseModel } from '../../src/pipeline/index.js';
import { ROOT, maxAbsDiff } from '../helpers.js';
import { tmpDir, writeTinyBundle } from './tiny.js';

const FX = join(ROOT, 'tests', 'fixtures', 'pipeline', 'sd_tiny');
const DIFFUSERS = join(FX, 'diffusers');
const SINGLE = join(FX, 'tiny_sd.safetensors');
const TOKENIZER = join(DIFFUSERS, 'tokenizer');
// What the single file's shapes cannot show (heads, GroupNorm groups); SD 1.5 needs none of it (8 heads, 32 groups).
const OVER = JSON.parse(readFileSync(join(FX, 'tiny.json'), 'utf8')).single_file_overrides as { unet: Record<string, unknown>; vae: Record<string, unknown> };
const single = () => SDBase.load(SINGLE, { tokenizer: TOKENIZER, unet: OVER.unet, vae: OVER.vae });

test('SDBase: the diffusers folder and the single checkpoint load the same model and give the same latent for a seed', async () => {
  const live = liveTensors();
  const a = SDBase.load(DIFFUSERS), b = single();
  try {
    assert.equal(a.kind, 'sd');
    assert.deepEqual(a.samplers, ['ddim', 'euler', 'euler_a']);
    assert.deepEqual(a.unet.config, b.unet.config, 'config.json and the shapes (plus heads / groups) agree');
    assert.deepEqual(a.vae.config, b.vae.config);
    assert.equal(a.scaleFactor, 0.18215);
    tidy(() => { const sb = b.unet.stateDict(); for (const [k, t] of a.unet.stateDict()) assert.equal(maxAbsDiff(t, sb.get(k)!), 0, k); });
    for (const sampler of ['ddim', 'euler_a']) {
      const o = { prompt: 'a red fox in the snow', negativePrompt: 'blurry', seed: 7, steps: 4, guidance: 4, sampler, size: [16, 24] as [number, number] };
      const za = await a.sample(o), zb = await b.sample(o), zc = await a.sample({ ...o, seed: 8 });
      assert.deepEqual(za.shape, [1, 4, 8, 12], 'latent = size / the VAE factor 2');
      assert.equal(maxAbsDiff(za, zb), 0, `${sampler}: same seed, same latent in both layouts`);
      assert.ok(maxAbsDiff(za, zc) > 1e-3, `${sampler}: another seed, another latent`);
      const img = a.decode(za);
      assert.deepEqual(img.shape, [1, 3, 16, 24]);
      tidy(() => assert.ok(img.min().item() >= -1 && img.max().item() <= 1));
      for (const t of [za, zb, zc, img]) t.dispose();
    }
  } finally {
    a.dispose();
    b.dispose();
  }
  assert.equal(liveTensors(), live, 'no tensors leak');
});

test('SDBase: guidance 1 is the conditional model alone; the latent is the sampler output / scale factor', async () => {
  const a = SDBase.load(DIFFUSERS);
  try {
    const o = { prompt: 'a lighthouse', seed: 2, steps: 4, guidance: 1 };
    const z = await a.sample(o);
    const ref = noGrad(() => tidy(() => {
      const xT = randn([1, 4, 8, 8], { generator: new Generator(2) });
      const cond = a.encodeText('a lighthouse');
      return sampleDDIM((x, t) => a.unet.forward(x, t, cond), xT, { steps: 4, schedule: a.schedule }).x.div(0.18215);
    }));
    assert.ok(maxAbsDiff(z, ref) < 1e-5, `|Δ| ${maxAbsDiff(z, ref)}`);
    const g5 = await a.sample({ ...o, guidance: 5 });
    assert.ok(maxAbsDiff(z, g5) > 1e-3, 'guidance changes the latent');
    const neg = await a.sample({ ...o, guidance: 5, negativePrompt: 'fog' });
    assert.ok(maxAbsDiff(neg, g5) > 1e-4, 'the negative prompt is the unconditional branch');
    for (const t of [z, ref, g5, neg]) t.dispose();
  } finally {
    a.dispose();
  }
});

test('SDBase: an LCM UNet (cond_proj) samples with sampleLCM and the guidance embedding, no CFG', async () => {
  const live = liveTensors();
  const src = SDBase.load(DIFFUSERS);
  manualSeed(11);
  const unet = new SDUNet({ ...src.unet.config, timeCondProjDim: 8 });
  const sd = new Map(src.unet.stateDict());
  const w = tidy(() => randn([8, 8]).mul(0.3));
  sd.set('time_embed.cond_proj.weight', w);
  unet.loadStateDict(sd);
  w.dispose();
  src.unet.dispose();
  const lcm = new SDBase({ name: 'tiny-lcm', unet: unet.eval(), text: src.text, tokenizer: src.tokenizer, vae: src.vae, lcm: { originalInferenceSteps: 50 } });
  try {
    assert.equal(lcm.kind, 'lcm');
    assert.deepEqual(lcm.samplers, ['lcm']);
    await assert.rejects(lcm.sample({ prompt: 'x', sampler: 'ddim' }), /unknown sampler 'ddim' for an LCM model \(available: lcm\)/);
    const z = await lcm.sample({ prompt: 'a cat', seed: 4, steps: 3, guidance: 6 });
    // the base draws xT and then the LCM's fresh noise from one generator seeded with the seed: replayed here
    const ref2 = noGrad(() => tidy(() => {
      const g = new Generator(4);
      const xT = randn([1, 4, 8, 8], { generator: g });
      const cond = lcm.encodeText('a cat');
      const emb = lcmGuidanceEmbedding(6, 1, 8);
      return sampleLCM((x, t) => unet.forward(x, t, cond, emb), xT, { steps: 3, generator: g, schedule: lcm.schedule }).x.div(0.18215);
    }));
    assert.ok(maxAbsDiff(z, ref2) < 1e-5, `|Δ| ${maxAbsDiff(z, ref2)}`);
    const z2 = await lcm.sample({ prompt: 'a cat', seed: 4, steps: 3, guidance: 2 });
    assert.ok(maxAbsDiff(z, z2) > 1e-4, 'the guidance embedding changes the latent');
    for (const t of [z, ref2, z2]) t.dispose();
  } finally {
    lcm.dispose();
  }
  assert.equal(liveTensors(), live, 'no tensors leak');
});

test('generate: base → decode → PSU boost: output = base size × scale; no boost stops at the base size', async () => {
  const { dir, cleanup } = tmpDir();
  const a = SDBase.load(DIFFUSERS);
  const boost = await Upsampler.load({ model: writeTinyBundle(join(dir, 'cfm.safetensors'), { steps: 3 }, 1) });
  const live = liveTensors();
  try {
    const o = { prompt: 'a boat', seed: 1, steps: 2, size: [32, 32] as [number, number] };
    const r0 = await generate(a, null, o);
    assert.deepEqual(r0.image.shape, [3, 32, 32]);
    assert.equal(maxAbsDiff(r0.image, r0.base), 0);
    const r = await generate(a, boost, { ...o, scale: 2 });
    assert.deepEqual(r.base.shape, [3, 32, 32]);
    assert.deepEqual(r.image.shape, [3, 64, 64]);
    assert.deepEqual(r.info.outputSize, [64, 64]);
    assert.equal(maxAbsDiff(r.base, r0.base), 0, 'the boost starts from the same base picture');
    // the boost is Upsampler.upsampleImage of the base picture
    const ref = await boost.upsampleImage(r.base, { seed: 1 });
    assert.ok(maxAbsDiff(ref.image, r.image) < 1e-5);
    ref.dispose();
    for (const t of [r0.base, r0.image, r.base, r.image]) t.dispose();
    await assert.rejects(generate(a, null, { seed: 1 }), /needs a prompt/);
    assert.equal(liveTensors(), live, 'no tensors leak');
  } finally {
    boost.dispose();
    a.dispose();
    cleanup();
  }
});

test('generate: an LSU CFM is refused for a base with another VAE', async () => {
  const { dir, cleanup } = tmpDir();
  const boost = await Upsampler.load({ model: writeTinyBundle(join(dir, 'lsu.safetensors'), { source: 'lsu' }, 1) });
  const base: BaseModel = {
    name: 'fake', kind: 'test', defaultSize: [16, 16], samplers: ['x'], needsPrompt: false, vaeConfig: { ch: 4 },
    sample: async () => { throw new Error('must not sample'); }, decode: (z) => z, dispose: () => {},
  };
  try {
    await assert.rejects(generate(base, boost, {}), /flow source 'lsu'.*VAE differs from the base fake's/);
  } finally {
    boost.dispose();
    cleanup();
  }
});

test('SDBase: refusals name the file or option at fault', async () => {
  assert.throws(() => SDBase.load(SINGLE), /tiny_sd\.safetensors is a single checkpoint and holds no tokenizer: .*--tokenizer/);
  assert.throws(() => SDBase.load(join(FX, 'nope')), /nope.*does not exist/);
  assert.throws(() => SDBase.load(FX), /without model_index\.json/);
  // Without the overrides the single file is taken for SD 1.5's 8 heads / 32 groups, which this tiny model cannot have.
  assert.throws(() => SDBase.load(SINGLE, { tokenizer: TOKENIZER }), (e: Error) => e.name === 'ModelLoadError' && /tiny_sd\.safetensors/.test(e.message));
  const { dir, cleanup } = tmpDir();
  try {
    const v = join(dir, 'v');
    cpSync(DIFFUSERS, v, { recursive: true });
    const f = join(v, 'scheduler', 'scheduler_config.json');
    writeFileSync(f, JSON.stringify({ ...JSON.parse(readFileSync(f, 'utf8')), prediction_type: 'v_prediction' }));
    assert.throws(() => SDBase.load(v), (e: Error) => e.name === 'ModelLoadError' && /scheduler_config\.json.*prediction_type 'v_prediction' is not supported: only epsilon/.test(e.message));
    const u = join(v, 'unet', 'config.json');
    writeFileSync(f, JSON.stringify({ ...JSON.parse(readFileSync(f, 'utf8')), prediction_type: 'epsilon' }));
    writeFileSync(u, JSON.stringify({ ...JSON.parse(readFileSync(u, 'utf8')), use_linear_projection: true }));
    assert.throws(() => SDBase.load(v), /unet[/\\]config\.json.*use_linear_projection is true/);
  } finally {
    cleanup();
  }
  const a = SDBase.load(DIFFUSERS);
  try {
    await assert.rejects(a.sample({ prompt: 'x', sampler: 'plms' }), /unknown sampler 'plms' for an SD model \(available: ddim, euler, euler_a\)/);
    await assert.rejects(a.sample({}), /needs a prompt/);
    await assert.rejects(a.sample({ prompt: 'x', size: [18, 16] }), /multiples of 4/);
  } finally {
    a.dispose();
  }
});
