// The bundled default model (models/default/fmboost-default.safetensors): the README's main job works on a fresh
// clone — `fmboost upsample` with no --model loads it and upscales a bundled sample 4× — and the bundle is what
// the recipe says (4×, PSU, float16 weights, unet_small + vae_small shapes). Quality is measured by `fmboost eval`
// (docs/eval/eval.md), not here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensorsHeader } from '../../src/io/index.js';
import { probeImage, readImageText } from '../../src/data/index.js';
import { UNET_PRESETS, VAE_PRESETS } from '../../src/models/index.js';
import { defaultModelPath } from '../../src/pipeline/upsampler.js';
import { ROOT } from '../helpers.js';
import { tmpDir } from './tiny.js';

test('the bundled default model: float16 bundle of unet_small + vae_small, 4× PSU', () => {
  const path = defaultModelPath();
  assert.ok(existsSync(path), `${path} is committed`);
  const h = readSafetensorsHeader(path);
  assert.equal(h.metadata.format, 'fmboost-cfm-model');
  assert.equal(h.metadata.dtype, 'float16');
  const flow = JSON.parse(h.metadata.flow) as { factor: number; source: string };
  assert.equal(flow.factor, 4);
  assert.equal(flow.source, 'psu');
  let unet = 0, vae = 0;
  for (const [k, e] of h.tensors) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (k.startsWith('unet.')) unet += n; else vae += n;
  }
  assert.equal(unet, UNET_PRESETS.unet_small.params);
  assert.equal(vae, VAE_PRESETS.vae_small.params);
});

test('main job: `fmboost upsample` with no --model upscales a bundled sample 4×', async () => {
  const { dir, cleanup } = tmpDir('fmboost-default-');
  try {
    const p = spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'upsample', join(ROOT, 'samples', 'city_128x128_crop.png'), '--out', dir],
      { encoding: 'utf8', env: { ...process.env, FMBOOST_DEFAULT_MODEL: '' } });
    assert.equal(p.status, 0, p.stderr);
    const out = join(dir, 'city_128x128_crop_x4.png');
    const info = await probeImage(out);
    assert.deepEqual([info.width, info.height], [512, 512]);
    const text = await readImageText(out);
    assert.match(JSON.stringify(text), /fmboost-default/);
  } finally {
    cleanup();
  }
});
