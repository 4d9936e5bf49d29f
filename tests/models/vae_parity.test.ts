// AutoencoderKL against the reference: shared vae_tiny (made by CompVis/fm-boosting's code) and local fixtures
// (scripts/goldens/models_fixtures.py) that add attention levels, 3 levels, avg-pool resampling, KL and seeded samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { liveTensors } from '../../src/tensor_library.js';
import { models } from '../../src/index.js';
import { ROOT, PARITY_DIR } from '../helpers.js';

const LOCAL = join(ROOT, 'tests', 'fixtures', 'models');

function checkVAE(path: string, outputs: string[], params: number) {
  const before = liveTensors();
  const r = models.runParity(path);
  assert.equal(r.model, 'AutoencoderKL');
  assert.equal(r.params, params);
  assert.deepEqual(Object.keys(r.outputs).sort(), [...outputs].sort());
  for (const [k, e] of Object.entries(r.outputs)) assert.ok(e.maxAbs <= 1e-4, `${k}: max abs error ${e.maxAbs}`);
  assert.ok(r.ok);
  assert.equal(liveTensors(), before);
}

test('vae_tiny (reference fixture): posterior mean/logvar, scaled latent, decoded ≤ 1e-4', () => {
  checkVAE(join(PARITY_DIR, 'vae_tiny.safetensors'), ['mean', 'logvar', 'latent_scaled', 'decoded'], 658_375);
});

test('ch_mult [1,2,4] with attention at resolution 16, KL and a seeded posterior sample', () => {
  checkVAE(join(LOCAL, 'vae_attn_3levels.safetensors'), ['mean', 'logvar', 'latent_scaled', 'decoded', 'kl', 'sample'], 177_071);
});

test('avg-pool / plain nearest resampling, embed_dim ≠ z_channels, 1 → 2 channels', () => {
  checkVAE(join(LOCAL, 'vae_noconv_resample.safetensors'), ['mean', 'logvar', 'latent_scaled', 'decoded', 'kl', 'sample'], 51_909);
});
