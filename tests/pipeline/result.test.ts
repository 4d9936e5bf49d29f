// The library as an upscaler's user meets it: inputs as a path, Buffer, Uint8Array, sharp instance or RGBA tensor;
// results that encode and save themselves (alpha, metadata); unknown options with a suggestion; the abort reason
// carried; NaN / Inf inputs named instead of a black image.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { F, cat, full, liveTensors, manualSeed, rand, tidy, type Tensor } from '../../src/tensor/index.js';
import { readImageText, writeImage } from '../../src/data/index.js';
import { AbortError } from '../../src/flow/index.js';
import { NonFiniteError, PipelineError, Upsampler } from '../../src/pipeline/index.js';
import { maxAbsDiff } from '../helpers.js';
import { tmpDir, writeTinyBundle } from './tiny.js';

let dir: string, cleanup: () => void, up: Upsampler, img: Tensor, png: string;

before(async () => {
  ({ dir, cleanup } = tmpDir('fmboost-result-'));
  const model = writeTinyBundle(join(dir, 'tiny.safetensors'), { steps: 3 }, 4, 'tiny-result');
  up = await Upsampler.load({ model });
  manualSeed(5);
  img = tidy(() => F.interpolate(rand([1, 3, 4, 4]), { size: [16, 16], mode: 'bilinear', alignCorners: false }).mul(2).sub(1).squeeze(0));
  png = join(dir, 'in.png');
  await writeImage(png, img);
});
after(() => { img.dispose(); up.dispose(); cleanup(); });

test('a path, a Buffer, a Uint8Array and a sharp instance give the same result', async () => {
  const bytes = readFileSync(png);
  const rs = [
    await up.upsampleImage(png, { seed: 1 }),
    await up.upsampleImage(bytes, { seed: 1 }),
    await up.upsampleImage(new Uint8Array(bytes), { seed: 1 }),
    await up.upsampleImage(sharp(bytes), { seed: 1 }),
  ];
  for (const r of rs.slice(1)) assert.equal(maxAbsDiff(r.image, rs[0].image), 0);
  assert.equal(rs[0].info.input, png);
  await assert.rejects(up.upsampleImage(Buffer.from('not an image')), /unsupported image format/);
  await assert.rejects(up.upsampleImage(42 as never), /image must be a file path, a Buffer/);
  for (const r of rs) r.dispose();
});

test('RGBA: alpha is upscaled apart and comes back; toBuffer and save encode RGBA with the run in the metadata', async () => {
  const live = liveTensors();
  const alpha = tidy(() => cat([full([1, 16, 8], -1), full([1, 16, 8], 1)], 2));
  const rgba = tidy(() => cat([img, alpha], 0));
  const r = await up.upsampleImage(rgba, { seed: 1 });
  const plain = await up.upsampleImage(img, { seed: 1 });
  assert.equal(maxAbsDiff(r.image, plain.image), 0, 'the colour does not depend on the alpha');
  assert.deepEqual(r.alpha!.shape, [1, 32, 32]);
  assert.ok(tidy(() => r.alpha!.narrow(2, 0, 12).max().item()) <= -0.99 && tidy(() => r.alpha!.narrow(2, 20, 12).min().item()) >= 0.99);
  const buf = await r.toBuffer({ format: 'webp', quality: 90 });
  const m = await sharp(buf).metadata();
  assert.deepEqual([m.format, m.width, m.height, m.hasAlpha], ['webp', 32, 32, true]);
  assert.equal((await readImageText(buf))['fmboost:steps'], '2');
  const out = join(dir, 'out.png');
  await r.save(out);
  assert.equal((await sharp(out).metadata()).channels, 4);
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'atomic: no temp file left');
  await r.save(join(dir, 'strip.png'), { stripMetadata: true });
  assert.deepEqual(await readImageText(join(dir, 'strip.png')), {});
  await assert.rejects(r.save(join(dir, 'x.gif')), /unknown image extension '\.gif'/);
  assert.ok(!existsSync(join(dir, 'x.gif')));
  for (const t of [alpha, rgba]) t.dispose();
  r.dispose();
  plain.dispose();
  await assert.rejects(r.toBuffer(), /disposed/);
  assert.equal(liveTensors(), live, 'results own their tensors and free them');
});

test('unknown option keys are refused with a suggestion; bad seeds; the abort reason is the cause', async () => {
  await assert.rejects(up.upsampleImage(img, { stepz: 3 } as never), (e: Error) => e instanceof PipelineError && /unknown option 'stepz' \(did you mean 'steps'\?\)/.test(e.message));
  await assert.rejects(up.upsampleImage(img, { seed: 2 ** 53 + 2 }), /seed must be an integer from 0 to 2\^53/);
  const c = new AbortController();
  const reason = new Error('user pressed cancel');
  c.abort(reason);
  await assert.rejects(up.upsampleImage(img, { signal: c.signal }), (e: Error) => e instanceof AbortError && e.cause === reason);
});

test('NaN or Inf in an input image or latent is a NonFiniteError naming the stage, not a black image', async () => {
  const bad = tidy(() => img.clone());
  const row = bad.narrow(1, 3, 1);
  row.fill_(NaN);
  row.dispose();
  await assert.rejects(up.upsampleImage(bad), (e: Error) => e instanceof NonFiniteError && /input image: 48 of 768 values are NaN or infinite/.test(e.message));
  const z = tidy(() => rand([4, 4, 4]).mul(1e30).mul(1e30));
  await assert.rejects(up.upsampleLatent(z), (e: Error) => e instanceof NonFiniteError && /input latent/.test(e.message));
  bad.dispose();
  z.dispose();
});
