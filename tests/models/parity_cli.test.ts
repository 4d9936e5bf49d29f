// `fmboost parity` as a subprocess: exit 0 and a JSON report on the reference fixtures; non-zero when a weight
// is perturbed or the tolerance is impossible; a clear message for a missing fixture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad, readSafetensors, writeSafetensors, dispose } from '../../src/tensor_library.js';
import { models } from '../../src/index.js';
import { ROOT, PARITY_DIR } from '../helpers.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'parity', ...args], { encoding: 'utf8' });

test('fmboost parity on unet_tiny: exit 0, JSON with outputs and gradient summary', () => {
  const p = run(join(PARITY_DIR, 'unet_tiny.safetensors'));
  assert.equal(p.status, 0, p.stderr);
  const r = JSON.parse(p.stdout);
  assert.equal(r.ok, true);
  assert.equal(r.model, 'EfficientUNet');
  assert.ok(r.outputs.output.maxAbs <= 1e-4);
  assert.equal(r.grads.checked, 128 + 1); // every parameter and the input
  assert.equal(r.grads.failed, 0);
  assert.ok(r.grads.worst.rel <= 1e-3);
});

test('fmboost parity on vae_tiny: exit 0', () => {
  const p = run(join(PARITY_DIR, 'vae_tiny.safetensors'));
  assert.equal(p.status, 0, p.stderr);
  const r = JSON.parse(p.stdout);
  assert.equal(r.ok, true);
  assert.deepEqual(Object.keys(r.outputs).sort(), ['decoded', 'latent_scaled', 'logvar', 'mean']);
});

test('a perturbed weight makes parity fail with a non-zero exit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-parity-'));
  try {
    const { tensors, metadata } = readSafetensors(join(PARITY_DIR, 'vae_tiny.safetensors'));
    noGrad(() => tensors.get('param.decoder.conv_out.bias')!.add_(1e-2));
    writeSafetensors(join(dir, 'vae_bad.safetensors'), tensors, metadata);
    dispose(tensors);
    copyFileSync(join(PARITY_DIR, 'vae_tiny.json'), join(dir, 'vae_bad.json'));
    const p = run(join(dir, 'vae_bad.safetensors'));
    assert.equal(p.status, 1, p.stderr);
    const r = JSON.parse(p.stdout);
    assert.equal(r.ok, false);
    assert.equal(r.outputs.decoded.ok, false);
    assert.ok(r.outputs.decoded.maxAbs > 5e-3 && r.outputs.decoded.maxAbs < 2e-2, `decoded error ${r.outputs.decoded.maxAbs}`);
    assert.equal(r.outputs.mean.ok, true, 'the encoder is untouched');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an impossible tolerance fails (the check is real), a missing fixture is a clear error', () => {
  const p = run(join(PARITY_DIR, 'unet_tiny.safetensors'), '--grad-rtol', '1e-12');
  assert.equal(p.status, 1);
  const r = JSON.parse(p.stdout);
  assert.ok(r.grads.failed > 0);
  assert.throws(() => models.runParity(join(ROOT, 'no_such_fixture.safetensors')), (e: Error) => e instanceof models.ParityFixtureError && /fixture not found: .*no_such_fixture/.test(e.message));
});

test('library: perturbing one UNet weight is caught in the output and the gradients', () => {
  const f = models.loadParityFixture(join(PARITY_DIR, 'unet_tiny.safetensors'));
  try {
    noGrad(() => f.tensors.get('param.middle_block.1.qkv.weight')!.mul_(1.01));
    const r = models.runParity(f);
    assert.equal(r.ok, false);
    assert.ok(Object.values(r.grads).some((e) => !e.ok));
  } finally {
    dispose(f.tensors);
  }
});
