// Checkpoint formats → models: each file in tests/fixtures/models/ckpt (made by scripts/goldens/models_checkpoints.py
// from PyTorch modules) loads strictly and reproduces PyTorch's outputs; broken files name the keys at fault;
// `fmboost convert` writes safetensors that load back to the same outputs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad, tidy, liveTensors, readSafetensors, readSafetensorsHeader, saveWeights, type Tensor } from '../../src/tensor_library.js';
import { models } from '../../src/index.js';
import { saveCheckpoint } from '../../src/train/index.js';
import { ROOT, PARITY_DIR, maxAbsDiff } from '../helpers.js';

const DIR = join(ROOT, 'tests', 'fixtures', 'models', 'ckpt');
const G = readSafetensors(join(DIR, 'goldens.safetensors')).tensors;
const g = (k: string): Tensor => {
  const t = G.get(k);
  assert.ok(t, `golden ${k} missing`);
  return t;
};
const TMP = mkdtempSync(join(tmpdir(), 'fmboost-loaders-'));
after(() => {
  rmSync(TMP, { recursive: true, force: true });
  for (const t of G.values()) t.dispose();
});
// The tiny test VAE uses 4 GroupNorm groups (the one option the shapes do not show); the rest is inferred.
const VAE_OPTS = { config: { norm_groups: 4 } };
const ATOL = 1e-4;

function checkVae(vae: models.AutoencoderKL, what: string): void {
  noGrad(() => tidy(() => {
    const post = vae.encode(g('vae.image'));
    try {
      assert.ok(maxAbsDiff(post.mean, g('vae.mean')) <= ATOL, `${what}: mean differs by ${maxAbsDiff(post.mean, g('vae.mean'))}`);
      assert.ok(maxAbsDiff(post.logvar, g('vae.logvar')) <= ATOL, `${what}: logvar differs`);
      const dec = vae.decode(post.mean);
      assert.ok(maxAbsDiff(dec, g('vae.decoded')) <= ATOL, `${what}: decoded differs by ${maxAbsDiff(dec, g('vae.decoded'))}`);
    } finally {
      post.dispose();
    }
  }));
}

function unetOut(net: models.EfficientUNet): Tensor {
  return noGrad(() => net.forward(g('unet.x'), g('unet.t'), g('unet.context')));
}

function checkUnet(net: models.EfficientUNet, golden: string, what: string): void {
  const out = unetOut(net);
  try {
    const d = maxAbsDiff(out, g(golden));
    assert.ok(d <= ATOL, `${what}: output differs from ${golden} by ${d}`);
  } finally {
    out.dispose();
  }
}

function withVae(file: string, opts: models.LoadVaeOptions, fn: (v: models.AutoencoderKL) => void): void {
  const vae = models.loadVae(join(DIR, file), opts);
  try {
    fn(vae);
  } finally {
    vae.dispose();
  }
}

test('the golden outputs distinguish the EMA and the online UNet', () => {
  assert.ok(maxAbsDiff(g('unet.out_ema'), g('unet.out_online')) > 1e-2);
});

test('plain LDM state dict (sd_ae.ckpt layout, with loss.* keys): config inferred from the shapes, outputs equal PyTorch', () => {
  const live = liveTensors();
  const w = models.readVaeWeights(join(DIR, 'vae_plain.ckpt'), VAE_OPTS);
  assert.equal(w.format, 'ldm');
  assert.equal(w.configSource, 'inferred+option');
  assert.equal(w.fileKeys, w.takenKeys + 2, 'the loss.* keys of the training loss are left out');
  assert.deepEqual({ ch: w.config.ch, chMult: w.config.chMult, nrb: w.config.numResBlocks, attn: w.config.attnResolutions, z: w.config.zChannels, e: w.config.embedDim },
    { ch: 8, chMult: [1, 2], nrb: 1, attn: [128], z: 4, e: 4 });
  const vae = models.buildVae(w, 'vae_plain.ckpt');
  checkVae(vae, 'vae_plain.ckpt');
  vae.dispose();
  assert.equal(liveTensors(), live, 'loading leaves no tensors behind');
});

test("the config inferred from SD's VAE key shapes (reference state_dict listing) is SD's KL-f8 config", () => {
  const ref = JSON.parse(readFileSync(join(PARITY_DIR, 'vae_sd_state_dict.json'), 'utf8')) as { keys: Record<string, number[]> };
  // inferVaeConfig reads only shapes and key presence.
  const shapes = new Map(Object.entries(ref.keys).map(([k, shape]) => [k, { shape } as unknown as Tensor]));
  assert.deepEqual(models.resolveVAEConfig(models.inferVaeConfig(shapes)), models.SD_VAE_DEFAULTS);
});

test('whole LDM checkpoint: only the first_stage_model.* keys are taken', () => {
  const w = models.readVaeWeights(join(DIR, 'vae_ldm_full.ckpt'), VAE_OPTS);
  assert.equal(w.format, 'ldm-checkpoint');
  assert.equal(w.fileKeys, w.takenKeys + 3, 'the UNet and text-encoder keys are left out');
  models.buildVae(w, 'vae_ldm_full.ckpt').dispose();
  withVae('vae_ldm_full.ckpt', VAE_OPTS, (v) => checkVae(v, 'vae_ldm_full.ckpt'));
});

test('diffusers AutoencoderKL safetensors (to_q/to_k/to_v/to_out.0, Linear attention weights)', () => {
  const h = readSafetensorsHeader(join(DIR, 'vae_diffusers.safetensors'));
  const q = h.tensors.get('decoder.mid_block.attentions.0.to_q.weight');
  assert.ok(q && q.shape.length === 2, 'the fixture stores attention as Linear [C, C]');
  assert.ok(h.tensors.has('decoder.up_blocks.0.upsamplers.0.conv.weight'));
  withVae('vae_diffusers.safetensors', VAE_OPTS, (v) => checkVae(v, 'vae_diffusers.safetensors'));
});

test('diffusers safetensors with the older attention names (query/key/value/proj_attn)', () => {
  const h = readSafetensorsHeader(join(DIR, 'vae_diffusers_old.safetensors'));
  assert.ok(h.tensors.has('encoder.mid_block.attentions.0.proj_attn.weight'));
  assert.ok(h.tensors.has('encoder.down_blocks.1.attentions.0.query.bias'));
  const w = models.readVaeWeights(join(DIR, 'vae_diffusers_old.safetensors'), VAE_OPTS);
  assert.equal(w.format, 'diffusers');
  models.buildVae(w, 'x').dispose();
  withVae('vae_diffusers_old.safetensors', VAE_OPTS, (v) => checkVae(v, 'vae_diffusers_old.safetensors'));
});

test('Lightning checkpoint: EMA UNet by default, online on request, config from hyper_parameters', () => {
  const live = liveTensors();
  const path = join(DIR, 'unet_lightning.ckpt');
  const w = models.readUnetWeights(path);
  assert.equal(w.format, 'lightning');
  assert.equal(w.weights, 'ema');
  assert.equal(w.configSource, 'file');
  assert.equal(w.config.modelChannels, 8);
  const ema = models.buildUnet(w, path);
  checkUnet(ema, 'unet.out_ema', 'default (EMA)');
  ema.dispose();
  const online = models.loadUnet(path, { weights: 'online' });
  checkUnet(online, 'unet.out_online', 'online');
  online.dispose();
  const explicitEma = models.loadUnet(path, { weights: 'ema' });
  checkUnet(explicitEma, 'unet.out_ema', 'weights: ema');
  explicitEma.dispose();
  assert.equal(liveTensors(), live);
});

test('fmboost training checkpoint (model.* / ema.*, config in metadata): EMA by default, online on request', () => {
  const path = join(DIR, 'unet_lightning.ckpt');
  const online = models.readUnetWeights(path, { weights: 'online' });
  const ema = models.readUnetWeights(path, { weights: 'ema' });
  const out = join(TMP, 'train_ckpt.safetensors');
  saveCheckpoint(out, { step: 7, model: online.stateDict, ema: ema.stateDict, config: { model: { unet: models.configForMetadata('unet', online.config) as never } } });
  for (const w of [online, ema]) for (const t of w.stateDict.values()) t.dispose();
  const r = models.readUnetWeights(out);
  assert.equal(r.format, 'fmboost-checkpoint');
  assert.equal(r.weights, 'ema');
  assert.equal(r.configSource, 'file');
  const net = models.buildUnet(r, out);
  checkUnet(net, 'unet.out_ema', 'training checkpoint, default');
  net.dispose();
  const net2 = models.loadUnet(out, { weights: 'online' });
  checkUnet(net2, 'unet.out_online', 'training checkpoint, online');
  net2.dispose();
  assert.throws(() => models.loadVae(out), /holds a UNet \(flow mode\), not a VAE/);
  // A bare state dict needs a config: a whole training config (ours or the reference's layout) also serves.
  const bare = join(TMP, 'bare_unet.safetensors');
  const ws = models.readUnetWeights(path);
  saveWeights(bare, ws.stateDict);
  for (const t of ws.stateDict.values()) t.dispose();
  assert.throws(() => models.loadUnet(bare), /holds no UNet config: pass one/);
  const netCfg = JSON.parse(readFileSync(join(DIR, 'configs.json'), 'utf8')).unet as Record<string, unknown>;
  for (const config of [{ model: { unet: netCfg } }, { model: { target: 'fmboost.trainer.TrainerFMBoost', params: { fm_cfg: { target: 'fmboost.flow.FlowModel', params: { net_cfg: { target: 'fmboost.models.unet.model.EfficientUNet', params: netCfg } } } } } }]) {
    const n = models.loadUnet(bare, { config });
    checkUnet(n, 'unet.out_ema', 'bare state dict + training config');
    n.dispose();
  }
});

test('fmboost autoencoder training checkpoint: EMA VAE by default, online on request, config = preset + overrides', () => {
  const w = models.readVaeWeights(join(DIR, 'vae_plain.ckpt'), VAE_OPTS);
  const shifted = new Map([...w.stateDict].map(([k, t]) => [k, t.add(1)]));
  const out = join(TMP, 'vae_train_ckpt.safetensors');
  const config = { mode: 'autoencoder', model: { vae: { preset: 'vae_small', path: null, ch: 8, ch_mult: [1, 2], num_res_blocks: 1, z_channels: null, embed_dim: null } } };
  saveCheckpoint(out, { step: 3, model: shifted, ema: w.stateDict, config: config as never });
  for (const m of [w.stateDict, shifted]) for (const t of m.values()) t.dispose();
  // attention placement and GroupNorm groups are not in the training config's VAE section: given as options.
  const opts = { config: { norm_groups: 4, attn_resolutions: [128] } };
  const r = models.readVaeWeights(out, opts);
  assert.equal(r.format, 'fmboost-checkpoint');
  assert.equal(r.weights, 'ema');
  assert.equal(r.configSource, 'file+option');
  assert.equal(r.config.ch, 8);
  const vae = models.buildVae(r, out);
  checkVae(vae, 'autoencoder training checkpoint (EMA)');
  vae.dispose();
  const online = models.loadVae(out, { ...opts, weights: 'online' });
  noGrad(() => tidy(() => {
    const post = online.encode(g('vae.image'));
    assert.ok(maxAbsDiff(post.mean, g('vae.mean')) > 1e-2, 'the online copy is the shifted one');
    post.dispose();
  }));
  online.dispose();
  assert.throws(() => models.loadUnet(out), /no UNet weights found.*looks like a VAE/);
  assert.throws(() => models.loadVae(join(DIR, 'vae_plain.ckpt'), { ...VAE_OPTS, weights: 'ema' }), /applies to training checkpoints only/);
});

test('Lightning checkpoint: its VAE (first_stage.*) loads too', () => {
  const w = models.readVaeWeights(join(DIR, 'unet_lightning.ckpt'), VAE_OPTS);
  assert.equal(w.format, 'lightning');
  models.buildVae(w, 'x').dispose();
  withVae('unet_lightning.ckpt', VAE_OPTS, (v) => checkVae(v, 'unet_lightning.ckpt first_stage'));
});

test('a missing key and a wrong shape: strict loading fails naming the key', () => {
  assert.throws(() => models.loadVae(join(DIR, 'vae_missing_key.ckpt'), VAE_OPTS),
    (e: Error) => e instanceof models.ModelLoadError && /vae_missing_key\.ckpt/.test(e.message) && /missing keys: decoder\.up\.0\.block\.0\.conv2\.bias/.test(e.message));
  assert.throws(() => models.loadVae(join(DIR, 'vae_wrong_shape.ckpt'), VAE_OPTS),
    /shape mismatches: encoder\.mid\.block_1\.conv1\.weight: expected \[16, 16, 3, 3\], got \[16, 16, 1, 1\]/);
  // A config that does not fit the weights: the unexpected keys are named.
  assert.throws(() => models.loadUnet(join(DIR, 'unet_lightning.ckpt'), { config: { num_res_blocks: 2 } }), /missing keys: .*input_blocks\.2\./);
});

test('wrong kind of file or no config: clear errors', () => {
  assert.throws(() => models.loadUnet(join(DIR, 'vae_plain.ckpt')), /no UNet weights found.*looks like a VAE checkpoint/);
  assert.throws(() => models.loadUnet(join(DIR, 'vae_plain.ckpt'), { weights: 'ema' }), /no ema UNet weights/);
  assert.throws(() => models.loadVae(join(DIR, 'vae_plain.ckpt')), /not divisible by 32 GroupNorm groups.*give norm_groups/);
  assert.throws(() => models.loadVae(join(DIR, 'vae_plain.ckpt'), { config: 'nope' }), /unknown VAE preset 'nope'/);
});

test('convert: Lightning → safetensors (EMA and online) and diffusers → safetensors load back to the same outputs', () => {
  const lightning = join(DIR, 'unet_lightning.ckpt');
  assert.throws(() => models.convertWeights(lightning, join(TMP, 'x.safetensors')), /holds both a UNet and a VAE/);
  for (const weights of ['ema', 'online'] as const) {
    const out = join(TMP, `unet_${weights}.safetensors`);
    const r = models.convertWeights(lightning, out, { kind: 'unet', weights });
    assert.equal(r.format, 'lightning');
    assert.equal(r.weights, weights);
    assert.equal(r.keys, 128);
    assert.equal(r.params, 46_980);
    const meta = readSafetensorsHeader(out).metadata;
    assert.equal(meta.format, models.WEIGHTS_FORMAT);
    assert.equal(meta.kind, 'unet');
    assert.equal(meta.source_format, 'lightning');
    assert.equal(JSON.parse(meta.config).norm_groups, 4);
    const net = models.loadUnet(out); // no options: the config comes from the file
    checkUnet(net, weights === 'ema' ? 'unet.out_ema' : 'unet.out_online', `converted ${weights}`);
    net.dispose();
  }
  const vout = join(TMP, 'vae.safetensors');
  const r = models.convertWeights(join(DIR, 'vae_diffusers.safetensors'), vout, { config: { norm_groups: 4 } });
  assert.equal(r.kind, 'vae');
  assert.equal(r.format, 'diffusers');
  const h = readSafetensorsHeader(vout);
  assert.deepEqual(h.tensors.get('decoder.mid.attn_1.q.weight')?.shape, [16, 16, 1, 1], 'written in LDM names, attention as 1×1 convs');
  assert.equal(models.readVaeWeights(vout).format, 'fmboost');
  const vae = models.loadVae(vout); // config from the file's metadata
  checkVae(vae, 'converted diffusers VAE');
  vae.dispose();
});

test('fmboost convert (CLI): prints format, keys and parameters; the output loads', () => {
  const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  const out = join(TMP, 'cli_vae.safetensors');
  const p = spawnSync(process.execPath, [CLI, 'convert', join(DIR, 'vae_ldm_full.ckpt'), '--out', out, '--config', '{norm_groups: 4}'], { encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /ldm-checkpoint \(torch\) — vae; 154 of 157 tensors/);
  assert.match(p.stdout, /wrote .*cli_vae\.safetensors: 154 tensors, 47,071 parameters/);
  const vae = models.loadVae(out);
  checkVae(vae, 'CLI-converted');
  vae.dispose();
  const bad = spawnSync(process.execPath, [CLI, 'convert', join(DIR, 'vae_missing_key.ckpt'), '--out', join(TMP, 'bad.safetensors'), '--config', '{norm_groups: 4}'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /missing keys: decoder\.up\.0\.block\.0\.conv2\.bias/);
});
