// EfficientUNet against the reference: the shared fixture made by CompVis/fm-boosting's own code
// (../shared/fixtures/parity/unet_tiny) and more configs made by scripts/goldens/models_fixtures.py
// (a PyTorch re-implementation that the script first checks against the shared fixtures).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { liveTensors, readSafetensorsHeader } from '../../src/tensor_library.js';
import { models } from '../../src/index.js';
import { ROOT, PARITY_DIR } from '../helpers.js';

const LOCAL = join(ROOT, 'tests', 'fixtures', 'models');

function checkUNet(path: string, expect: { params: number }) {
  const before = liveTensors();
  const r = models.runParity(path);
  assert.equal(r.model, 'EfficientUNet');
  assert.equal(r.params, expect.params);
  assert.ok(r.outputs.output, 'the fixture has an output');
  assert.ok(r.outputs.output.maxAbs <= 1e-4, `output max abs error ${r.outputs.output.maxAbs}`);
  assert.ok(r.outputs['output.loss'].ok, `loss error ${r.outputs['output.loss'].maxAbs}`);
  // Every parameter's gradient and the input gradient were compared, each within 1e-3 of its largest value.
  const paramKeys = [...readSafetensorsHeader(path).tensors.keys()].filter((k) => k.startsWith('param.')).map((k) => k.slice(6));
  assert.deepEqual(Object.keys(r.grads).sort(), [...paramKeys, 'input.x'].sort());
  for (const [k, e] of Object.entries(r.grads)) assert.ok(e.ok && e.rel! <= 1e-3, `${k}: rel error ${e.rel} (max abs ${e.maxAbs}, ref max ${e.refMax})`);
  assert.ok(r.ok);
  assert.equal(liveTensors(), before, 'parity leaves no tensors behind');
  return r;
}

test('unet_tiny (reference fixture): outputs ≤ 1e-4, every gradient ≤ 1e-3 relative', () => {
  const r = checkUNet(join(PARITY_DIR, 'unet_tiny.safetensors'), { params: 724_740});
  // Only gradients that are zero in exact arithmetic (a conv bias before a one-channel-per-group GroupNorm)
  // are judged against the floor; all others against their own largest value.
  const zeroish = Object.entries(r.grads).filter(([, e]) => e.numericallyZero).map(([k]) => k);
  for (const k of zeroish) assert.match(k, /(in_layers\.2|out_layers\.3|skip_connection)\.bias$/);
  assert.ok(zeroish.length <= 6, `too many numerically-zero gradients: ${zeroish.join(', ')}`);
});

test('4 levels [1,2,2,4], attention at factors 2 and 4', () => {
  checkUNet(join(LOCAL, 'unet_levels4_attn.safetensors'), { params: 51_364});
});

test('additive time embedding (no scale-shift), 2 res blocks, avg-pool / nearest resampling', () => {
  checkUNet(join(LOCAL, 'unet_add_emb_nrb2.safetensors'), { params: 57_179});
});

test('pool_factor 2 (patchify in, transposed conv out) with linear attention', () => {
  checkUNet(join(LOCAL, 'unet_pool2_linear.safetensors'), { params: 48_580});
});
