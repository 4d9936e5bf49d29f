// The config's names must match what the other modules implement, and its UNet/VAE options must
// build the intended models.
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { unetModelConfig, vaeModelOverrides, loadConfig } from '../../src/train/config/index.js';
import { SOLVERS, SOLVERS_ASYNC, SOLVER_NAMES } from '../../src/flow/solvers/index.js';
import { UNET_PRESET_NAMES, VAE_PRESET_NAMES } from '../../src/models/preset_names.js';
import { UNET_PRESETS, VAE_PRESETS, createUNet, createVAE } from '../../src/models/index.js';
import { ROOT } from '../helpers.js';

test('config enums equal the implemented solvers and VAE presets', () => {
  assert.deepEqual(Object.keys(SOLVERS).sort(), [...SOLVER_NAMES].sort());
  assert.deepEqual(Object.keys(SOLVERS_ASYNC).sort(), [...SOLVER_NAMES].sort());
  assert.deepEqual([...VAE_PRESET_NAMES].sort(), Object.keys(VAE_PRESETS).sort());
  assert.deepEqual([...UNET_PRESET_NAMES].sort(), Object.keys(UNET_PRESETS).sort());
});

test('configs/small.yaml builds the unet_small / vae_small models; paper.yaml maps to the paper UNet config', () => {
  const small = loadConfig(join(ROOT, 'configs', 'small.yaml')).config;
  const unet = createUNet(unetModelConfig(small.model.unet));
  assert.equal(unet.numParameters(), UNET_PRESETS.unet_small.params);
  unet.dispose();
  const vae = createVAE(small.model.vae.preset, vaeModelOverrides(small.model.vae));
  assert.equal(vae.numParameters(), VAE_PRESETS.vae_small.params);
  vae.dispose();
  const paper = loadConfig(join(ROOT, 'configs', 'paper.yaml')).config;
  assert.deepEqual(unetModelConfig(paper.model.unet), UNET_PRESETS.paper.config);
  assert.deepEqual(vaeModelOverrides({ ...paper.model.vae, ch: 64, ch_mult: [1, 2] }), { ch: 64, chMult: [1, 2] });
});
