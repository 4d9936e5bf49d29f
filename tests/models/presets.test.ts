// Presets: the paper UNet and the SD VAE have exactly the reference's state_dict (keys, order, shapes, parameter
// count, from ../shared/fixtures/parity/*_state_dict.json); documented counts and costs are the real ones
// (MACs checked against PyTorch hook counts in tests/goldens/models_macs.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { liveTensors } from '../../src/tensor_library.js';
import { models } from '../../src/index.js';
import { PARITY_DIR, golden } from '../helpers.js';

const shapes = (m: { stateDict(): Map<string, { shape: number[] }> }) => Object.fromEntries([...m.stateDict()].map(([k, t]) => [k, t.shape]));

test('paper UNet: the 408 keys and shapes of unet_paper_state_dict.json, in order; 305,806,340 parameters', () => {
  const ref = JSON.parse(readFileSync(join(PARITY_DIR, 'unet_paper_state_dict.json'), 'utf8'));
  const before = liveTensors();
  const net = models.createUNet('paper');
  try {
    const got = shapes(net);
    assert.equal(Object.keys(got).length, 408);
    assert.deepEqual(Object.keys(got), Object.keys(ref.keys));
    assert.deepEqual(got, ref.keys);
    assert.equal(net.numParameters(), 305_806_340);
    assert.equal(net.numParameters(), ref.params);
    // The reference's snake_case config builds the same model description.
    assert.deepEqual(models.resolveUNetConfig(ref.config), net.config);
  } finally {
    net.dispose();
  }
  assert.equal(liveTensors(), before);
});

test('sd VAE: the 248 keys and shapes of vae_sd_state_dict.json, in order; 83,653,863 parameters', () => {
  const ref = JSON.parse(readFileSync(join(PARITY_DIR, 'vae_sd_state_dict.json'), 'utf8'));
  const vae = models.createVAE('sd');
  try {
    const got = shapes(vae);
    assert.equal(Object.keys(got).length, 248);
    assert.deepEqual(Object.keys(got), Object.keys(ref.keys));
    assert.deepEqual(got, ref.keys);
    assert.equal(vae.numParameters(), 83_653_863);
    assert.deepEqual(models.resolveVAEConfig({ ddconfig: ref.ddconfig, embed_dim: 4 }), vae.config);
  } finally {
    vae.dispose();
  }
});

test('small presets: documented parameter counts and costs are what the models have', () => {
  for (const [name, p] of Object.entries(models.UNET_PRESETS)) {
    for (const [k, v] of Object.entries(p.cost)) assert.equal(models.unetMacs(p.config, Number(k.split('@')[1])), v, `${name} ${k}`);
    if (name === 'paper') continue; // built above
    const net = models.createUNet(name as models.UNetPresetName);
    assert.equal(net.numParameters(), p.params, name);
    net.dispose();
  }
  for (const [name, p] of Object.entries(models.VAE_PRESETS)) {
    for (const [k, v] of Object.entries(p.cost)) {
      const [kind, size] = k.split('@');
      assert.equal(models.vaeMacs(p.config, Number(size))[kind as 'encode' | 'decode'], v, `${name} ${k}`);
    }
    if (name === 'sd') continue;
    const vae = models.createVAE(name as models.VAEPresetName);
    assert.equal(vae.numParameters(), p.params, name);
    assert.equal(vae.config.zChannels, p.config.zChannels);
    vae.dispose();
  }
  const small = models.UNET_PRESETS.unet_small.params;
  assert.ok(small >= 5e6 && small <= 20e6);
});

test('analytic MACs equal PyTorch hook counts (paper UNet, tiny, 4 levels, patchify + linear attention, VAE with attention)', () => {
  const g = golden<{ cases: Record<string, any> }>('models_macs.json').cases;
  assert.ok(Object.keys(g).length >= 5);
  for (const [name, c] of Object.entries(g)) {
    if (c.kind === 'unet') assert.equal(models.unetMacs(c.config, c.size), c.macs, name);
    else {
      const r = models.vaeMacs({ ddconfig: c.ddconfig, embed_dim: c.embed_dim, norm_groups: c.norm_groups }, c.size);
      assert.deepEqual([r.encode, r.decode], [c.encode_macs, c.decode_macs], name);
    }
  }
});

test('unknown preset names are rejected with the known ones listed', () => {
  assert.throws(() => models.createUNet('huge' as models.UNetPresetName), /unknown UNet preset 'huge' \(known: paper, unet_small, unet_tiny\)/);
  assert.throws(() => models.createVAE('xl' as models.VAEPresetName), /unknown VAE preset 'xl'/);
});
