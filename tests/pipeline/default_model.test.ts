// The bundled default model (models/default/fmboost-default.safetensors): the README's main job works on a fresh
// clone — `fmboost upsample` with no --model loads it and upscales a bundled sample 4× — and the bundle is what
// the recipe says (4×, PSU, float16 weights, the configs/default shapes), it keeps colour and gives every offered
// scale its size. Quality is measured by `fmboost eval` (docs/eval/{bilinear,bicubic_aa}/eval.md), not here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensorsHeader } from '../../src/io/index.js';
import { tidy } from '../../src/tensor/index.js';
import { probeImage, readImage, readImageText } from '../../src/data/index.js';
import { UNET_PRESETS, VAE_PRESETS } from '../../src/models/index.js';
import { defaultModelPath, Upsampler } from '../../src/pipeline/upsampler.js';
import { ROOT } from '../helpers.js';
import { tmpDir } from './tiny.js';

test('the bundled default model: float16 bundle of the configs/default UNet (16 in, 8 out) + vae_f4c8, 4× PSU', () => {
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
  // unet_small's layout with 16 input (x_t 8 + context 8) and 8 output channels: configs/default/cfm.yaml
  assert.equal(unet, 15_334_952);
  assert.ok(unet > UNET_PRESETS.unet_small.params, 'wider in/out convs than unet_small (4-channel latents)');
  assert.equal(vae, VAE_PRESETS.vae_f4c8.params);
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

test('the bundled model keeps colour and gives each offered scale (2, 3, 4, 8) its size', async () => {
  const up = await Upsampler.load({ model: defaultModelPath() });
  const full = await readImage(join(ROOT, 'samples', 'city_128x128_crop.png'));
  const img = full.narrow(1, 32, 48).narrow(2, 16, 48);
  try {
    for (const scale of [2, 3, 4, 8]) {
      const { image, info } = await up.upsampleImage(img, { scale });
      try {
        assert.deepEqual(image.shape, [3, 48 * scale, 48 * scale], `scale ${scale}`);
        assert.equal(info.scale, scale);
        // a resize keeps each channel's mean: the largest shift, in 8-bit levels of [0, 255]
        const shift = tidy(() => Math.max(...[0, 1, 2].map((c) => Math.abs(image.select(0, c).mean().item() - img.select(0, c).mean().item())))) * 127.5;
        assert.ok(shift <= 2, `scale ${scale}: channel mean shifted by ${shift.toFixed(2)}/255`);
      } finally {
        image.dispose();
      }
    }
  } finally {
    img.dispose();
    full.dispose();
    up.dispose();
  }
});

test('the bundled model at bf16 (channels_last, autocast) is ≥ 40 dB PSNR from its fp32 output on the samples', async () => {
  const f32 = await Upsampler.load({ model: defaultModelPath() });
  const b16 = await Upsampler.load({ model: defaultModelPath(), precision: 'bf16' });
  try {
    for (const name of ['city_128x128_crop.png', 'forest_128x128_crop.png']) {
      const a = await f32.upsampleImage(join(ROOT, 'samples', name));
      const b = await b16.upsampleImage(join(ROOT, 'samples', name));
      try {
        // PSNR of the bf16 output against the fp32 one, both in [-1, 1] (peak-to-peak 2)
        const mse = tidy(() => b.image.sub(a.image).square().mean().item());
        const db = 10 * Math.log10(4 / mse);
        assert.ok(db >= 40, `${name}: bf16 vs fp32 ${db.toFixed(2)} dB`);
        assert.ok(mse > 0, 'bf16 really ran in reduced precision');
      } finally {
        a.image.dispose();
        b.image.dispose();
      }
    }
  } finally {
    f32.dispose();
    b16.dispose();
  }
});
