// The Upsampler end to end on tiny random models. Closed forms: a fresh UNet's velocity is exactly 0 (ADM
// zero-initialises its output conv), so the output is decode(q_sample(encode(resize(x)))) with the noise drawn
// from Generator(seed); with a perturbed UNet and one Euler step the output is decode(x0 + v(0, x0)).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { F, Generator, cudaAvailable, full, liveTensors, manualSeed, noGrad, rand, randn, resolvePrecision, tidy, type Tensor } from '../../src/tensor/index.js';
import { writeSafetensors } from '../../src/io/index.js';
import { writeImage } from '../../src/data/index.js';
import { NoiseAugmenter, AbortError } from '../../src/flow/index.js';
import { Upsampler, DefaultModelMissingError, PipelineError } from '../../src/index.js';
import { loadModel, disposeModel, npyBytes, encodeTiled, decodeTiled, flowTiled, type CfmModel } from '../../src/pipeline/index.js';
import { maxAbsDiff } from '../helpers.js';
import { tmpDir, writeTinyBundle } from './tiny.js';

let dir: string, cleanup: () => void;
let zeroPath: string, livePath: string, lsuPath: string;
let img: Tensor;

before(() => {
  ({ dir, cleanup } = tmpDir());
  zeroPath = writeTinyBundle(join(dir, 'zero.safetensors'), { steps: 3 }, 0, 'zero', 0);
  livePath = writeTinyBundle(join(dir, 'live.safetensors'), { steps: 3 }, 1, 'live', 0.05);
  lsuPath = writeTinyBundle(join(dir, 'lsu.safetensors'), { steps: 3, source: 'lsu' }, 2, 'lsu', 0.05);
  manualSeed(5);
  // A smooth 16×16 test image in [−1, 1].
  img = tidy(() => F.interpolate(rand([1, 3, 4, 4]), { size: [16, 16], mode: 'bilinear', alignCorners: false }).mul(2).sub(1).squeeze(0));
});
after(() => {
  img.dispose();
  cleanup();
});

/** The pipeline written out by hand with the model's networks (untiled). */
function manual(m: CfmModel, x: Tensor, seed: number, noiseStep: number, oneEulerStep: boolean): Tensor {
  return noGrad(() => tidy(() => {
    const H = x.shape[1] * 2, W = x.shape[2] * 2, s = m.flow.scaleFactor;
    const up = F.interpolate(x.unsqueeze(0), { size: [H, W], mode: 'bilinear', alignCorners: false });
    const post = m.vae.encode(up);
    const z = post.mean.mul(s);
    post.dispose();
    const { signal, noise } = new NoiseAugmenter().coefficients(noiseStep);
    const eps = randn(z.shape, { generator: new Generator(seed) });
    let x0 = z.mul(signal).add(eps.mul(noise));
    if (oneEulerStep) x0 = x0.add(m.unet.forward(x0, full([1], 0), z));
    return m.vae.decode(x0.div(s)).clamp(-1, 1).squeeze(0);
  }));
}

test('zero-velocity model: output = decode(q_sample(encode(bilinear 2×)), seeded noise) exactly', async () => {
  const m = loadModel(zeroPath);
  const up = await Upsampler.load({ model: zeroPath });
  const live = liveTensors();
  const v = noGrad(() => tidy(() => m.unet.forward(randn([1, 4, 8, 8]), full([1], 0.3), randn([1, 4, 8, 8])).abs().max().item()));
  assert.equal(v, 0, 'a fresh UNet has zero output');
  const r = await up.upsampleImage(img, { seed: 11, noiseStep: 400 });
  assert.deepEqual(r.image.shape, [3, 32, 32]);
  assert.deepEqual(r.info.outputSize, [32, 32]);
  assert.deepEqual([r.info.steps, r.info.solver, r.info.seed, r.info.nfe], [2, 'euler', 11, 2], 'the bundle\'s 3 grid points are 2 solver steps');
  const want = manual(m, img, 11, 400, false);
  assert.ok(maxAbsDiff(r.image, want) < 1e-5, `max diff ${maxAbsDiff(r.image, want)}`);
  want.dispose();
  r.image.dispose();
  assert.equal(liveTensors(), live, 'no tensors leak');
  up.dispose();
  disposeModel(m);
});

test('one Euler step with a live UNet: output = decode(x0 + v(0, x0; context))', async () => {
  const m = loadModel(livePath);
  const up = await Upsampler.load({ model: livePath });
  const r = await up.upsampleImage(img, { seed: 3, steps: 1, noiseStep: 250 });
  const want = manual(m, img, 3, 250, true);
  const zero = manual(m, img, 3, 250, false);
  assert.ok(maxAbsDiff(r.image, want) < 1e-5, `max diff ${maxAbsDiff(r.image, want)}`);
  assert.ok(maxAbsDiff(r.image, zero) > 1e-2, 'the field moved the latent');
  for (const t of [r.image, want, zero]) t.dispose();
  up.dispose();
  disposeModel(m);
});

test('entry points: path = tensor, batch item = single, same seed equal, other seed differs', async () => {
  const up = await Upsampler.load({ model: livePath });
  const p = join(dir, 'in.png');
  await writeImage(p, img);
  const { readImage } = await import('../../src/data/index.js');
  const decoded = await readImage(p);
  const a = await up.upsampleImage(p, { seed: 1 });
  const b = await up.upsampleImage(decoded, { seed: 1 });
  assert.equal(maxAbsDiff(a.image, b.image), 0);
  const batch = await up.upsampleBatch([img, decoded], { seed: 1 });
  assert.equal(batch.length, 2);
  assert.equal(maxAbsDiff(batch[1].image, b.image), 0);
  const stacked = tidy(() => img.unsqueeze(0).expand([2, 3, 16, 16]).contiguous());
  const batchT = await up.upsampleBatch(stacked, { seed: 1 });
  stacked.dispose();
  assert.equal(batchT.length, 2);
  assert.equal(maxAbsDiff(batchT[0].image, batch[0].image), 0);
  assert.equal(maxAbsDiff(batchT[1].image, batch[0].image), 0);
  for (const r of batchT) r.image.dispose();
  const again = await up.upsampleImage(img, { seed: 1 });
  assert.equal(maxAbsDiff(again.image, batch[0].image), 0, 'reproducible');
  const other = await up.upsampleImage(img, { seed: 2 });
  assert.ok(maxAbsDiff(other.image, again.image) > 1e-3, 'another seed, other noise');
  for (const r of [a, b, ...batch, again, other]) r.image.dispose();
  decoded.dispose();
  up.dispose();
});

test('odd sizes are padded and cropped back; LSU models; 4-D input accepted; bad input shapes rejected', async () => {
  const up = await Upsampler.load({ model: livePath });
  const odd = tidy(() => img.narrow(1, 0, 15).narrow(2, 0, 13));
  const r = await up.upsampleImage(odd, { seed: 0 });
  assert.deepEqual(r.image.shape, [3, 30, 26]);
  assert.ok(r.image.abs().max().item() <= 1);
  const r4 = await up.upsampleImage(tidy(() => odd.unsqueeze(0)), { seed: 0 });
  assert.equal(maxAbsDiff(r4.image, r.image), 0);
  const lsu = await Upsampler.load({ model: lsuPath });
  const rl = await lsu.upsampleImage(img, { seed: 0 });
  assert.deepEqual(rl.image.shape, [3, 32, 32]);
  await assert.rejects(up.upsampleImage(tidy(() => rand([5, 8, 8]))), (e: Error) => e instanceof PipelineError && /\[3 \| 4, H, W\]/.test(e.message));
  await assert.rejects(up.upsampleImage(img, { steps: 0 }), /steps must be an integer from 1 to 1000/);
  await assert.rejects(up.upsampleImage(img, { steps: 1e9 }), /steps must be an integer from 1 to 1000 \(solver steps\), got 1000000000/);
  await assert.rejects(up.upsampleImage(img, { solver: 'rk5' as never }), /unknown solver 'rk5'/);
  for (const t of [odd, r.image, r4.image, rl.image]) t.dispose();
  up.dispose();
  lsu.dispose();
});

test('latent entry: tensor, .npy and .safetensors, scaled and unscaled agree; = the image path on the decoded latent', async () => {
  const m = loadModel(livePath);
  const up = await Upsampler.load({ model: livePath });
  manualSeed(9);
  const z = tidy(() => randn([1, 4, 4, 4]).mul(0.5)); // a scaled latent of a 16×16 image (VAE ×4)
  const s = m.flow.scaleFactor;
  const r1 = await up.upsampleLatent({ latent: z, scaled: true }, { seed: 4 });
  const zu = tidy(() => z.div(s));
  const r2 = await up.upsampleLatent({ latent: zu, scaled: false }, { seed: 4 });
  assert.ok(maxAbsDiff(r1.image, r2.image) < 1e-5);
  writeFileSync(join(dir, 'z.npy'), npyBytes(zu.toFloat32Array(), [4, 4, 4]));
  const r3 = await up.upsampleLatent(join(dir, 'z.npy'), { seed: 4, scaled: false });
  writeSafetensors(join(dir, 'z.safetensors'), { latent: z }, { scaled: 'true' });
  const r4 = await up.upsampleLatent(join(dir, 'z.safetensors'), { seed: 4 });
  assert.equal(maxAbsDiff(r3.image, r2.image), 0);
  assert.equal(maxAbsDiff(r4.image, r1.image), 0);
  const decoded = noGrad(() => tidy(() => m.vae.decode(z.div(s)).clamp(-1, 1).squeeze(0)));
  const viaImage = await up.upsampleImage(decoded, { seed: 4 });
  assert.equal(maxAbsDiff(viaImage.image, r1.image), 0);
  assert.deepEqual(r1.image.shape, [3, 32, 32]);
  await assert.rejects(up.upsampleLatent(tidy(() => randn([1, 3, 4, 4]))), /latent must be \[4, h, w\]/);
  for (const t of [z, zu, decoded, r1.image, r2.image, r3.image, r4.image, viaImage.image]) t.dispose();
  up.dispose();
  disposeModel(m);
});

test('cascades: scale 4 = two passes (4× size); a two-stage list equals it; bad scales are refused', async () => {
  const up = await Upsampler.load({ model: livePath });
  const r = await up.upsampleImage(img, { seed: 6, scale: 4 });
  assert.deepEqual(r.image.shape, [3, 64, 64]);
  assert.deepEqual([r.info.scale, r.info.passes, r.info.nfe], [4, 2, 4]);
  const cascade = await Upsampler.load({ model: [livePath, livePath] });
  const rc = await cascade.upsampleImage(img, { seed: 6 });
  assert.equal(maxAbsDiff(rc.image, r.image), 0);
  // Other integer scales: the covering power (4× here), then an antialiased bicubic shrink to exactly 3×.
  const r3 = await up.upsampleImage(img, { seed: 6, scale: 3 });
  assert.deepEqual(r3.image.shape, [3, 48, 48]);
  assert.deepEqual([r3.info.scale, r3.info.modelScale, r3.info.resample, r3.info.passes], [3, 4, 'bicubic_aa', 2]);
  const shrunk = tidy(() => F.interpolate(r.image.unsqueeze(0), { size: [48, 48], mode: 'bicubic', antialias: true, alignCorners: false }).clamp(-1, 1).squeeze(0));
  assert.ok(maxAbsDiff(r3.image, shrunk) < 1e-6, 'scale 3 = the 4× result shrunk');
  assert.deepEqual([r.info.modelScale, r.info.resample], [4, null]);
  const rc3 = await cascade.upsampleImage(img, { seed: 6, scale: 3 });
  assert.ok(maxAbsDiff(rc3.image, r3.image) < 1e-6, 'a cascade shrinks the same way');
  for (const bad of [1, 65, 2.5]) await assert.rejects(up.upsampleImage(img, { scale: bad }), /scale must be an integer from 2 to 64/);
  await assert.rejects(cascade.upsampleImage(img, { scale: 8 }), /scale 8 is above the cascade's 4×/);
  for (const t of [r.image, rc.image, r3.image, rc3.image, shrunk]) t.dispose();
  up.dispose();
  cascade.dispose();
});

test('tiling: a tile covering the image is exactly untiled; real tiles stay within the measured tolerance', async () => {
  const up = await Upsampler.load({ model: livePath });
  const big = tidy(() => F.interpolate(img.unsqueeze(0), { size: [32, 32], mode: 'bilinear', alignCorners: false }).squeeze(0));
  const full1 = await up.upsampleImage(big, { seed: 2, steps: 2 });
  const cover = await up.upsampleImage(big, { seed: 2, steps: 2, tileSize: 64 });
  assert.equal(cover.info.tiles, 1);
  assert.equal(maxAbsDiff(cover.image, full1.image), 0);
  // 64² output = 16² latent; 48 px tiles (12 latent) with 16 px overlap: 4 tiles per stage.
  const tiled = await up.upsampleImage(big, { seed: 2, steps: 2, tileSize: 48, tileOverlap: 16, vaeTiling: 'blend' });
  assert.equal(tiled.info.tiles, 4);
  const mean = tidy(() => tiled.image.sub(full1.image).abs().mean().item());
  // Measured 0.079 (images in [−1, 1]) on these random models: GroupNorm statistics per tile and zero padding at
  // tile edges change every stage. Bound: 2× the measurement.
  assert.ok(mean < 0.15, `mean |tiled − untiled| ${mean}`);
  assert.ok(mean > 0, 'tiles really differ from the whole image (receptive field)');
  // Exact VAE tiling (the default): only the flow's tiles differ from the whole image.
  const exact = await up.upsampleImage(big, { seed: 2, steps: 2, tileSize: 48, tileOverlap: 16 });
  const meanExact = tidy(() => exact.image.sub(full1.image).abs().mean().item());
  assert.ok(meanExact < mean && meanExact > 0, `exact VAE tiling ${meanExact} vs blended ${mean}`);
  for (const t of [big, full1.image, cover.image, tiled.image, exact.image]) t.dispose();
  up.dispose();
});

test('tiled stages vs untiled (encode, flow, decode): errors shrink with larger tiles, within the stated bounds', async () => {
  const m = loadModel(livePath);
  manualSeed(3);
  const x = tidy(() => F.interpolate(rand([1, 3, 8, 8]), { size: [64, 64], mode: 'bicubic', alignCorners: false }).mul(2).sub(1).clamp(-1, 1));
  const ctx = (tile: number | null, overlap?: number, vaeTiling: 'exact' | 'blend' = 'blend') => ({ tile, overlap, vaeTiling, pass: 0, passes: 1 });
  const flowOpts = () => ({ gridPoints: 2, solver: 'euler' as const, noiseStep: 400, generator: new Generator(1) });
  const z = await encodeTiled(m, x, ctx(null));
  const d = await decodeTiled(m, z, ctx(null));
  const f = await flowTiled(m, z, flowOpts(), ctx(null));
  const mad = (a: Tensor, b: Tensor) => tidy(() => a.sub(b).abs().mean().item());
  const errs: Record<number, number[]> = {};
  for (const tile of [8, 12]) {
    const z2 = await encodeTiled(m, x, ctx(tile, 4));
    const d2 = await decodeTiled(m, z, ctx(tile, 4));
    const f2 = await flowTiled(m, z, flowOpts(), ctx(tile, 4));
    errs[tile] = [mad(z2, z), mad(d2, d), mad(f2.latent, f.latent)];
    for (const t of [z2, d2, f2.latent]) t.dispose();
  }
  // Measured mean |Δ| (16² latent, overlap 4, this model): tile 12 → encode 0.020, decode 0.072, flow 0.088 (value
  // ranges ±0.5, ±2.5, ±2.4); tile 8 → 0.034, 0.15, 0.18. Bounds: 2× the tile-12 measurements.
  const [enc, dec, flw] = errs[12];
  assert.ok(enc < 0.04 && dec < 0.15 && flw < 0.18, JSON.stringify(errs));
  for (let i = 0; i < 3; i++) assert.ok(errs[12][i] < errs[8][i], `stage ${i}: larger tiles are closer (${JSON.stringify(errs)})`);
  // Exact VAE tiling (models/vae/tiled.ts, the default): equal to untiled up to float rounding at any tile size.
  for (const [tile, overlap] of [[4, 0], [8, 4], [12, 4], [10, 3]]) {
    const z3 = await encodeTiled(m, x, ctx(tile, overlap, 'exact'));
    const d3 = await decodeTiled(m, z, ctx(tile, overlap, 'exact'));
    const ez = maxAbsDiff(z3, z), ed = maxAbsDiff(d3, d);
    assert.ok(ez <= 1e-4 && ed <= 1e-4, `exact tiling, tile ${tile}: encode ${ez}, decode ${ed}`);
    z3.dispose();
    d3.dispose();
  }
  for (const t of [x, z, d, f.latent]) t.dispose();
  disposeModel(m);
});

test('AbortSignal stops a run during the flow; progress reports every stage; nothing leaks', async () => {
  const up = await Upsampler.load({ model: livePath });
  const live = liveTensors();
  const seen: string[] = [];
  const c = new AbortController();
  await assert.rejects(
    up.upsampleImage(img, { seed: 0, steps: 20, signal: c.signal, onProgress: (stage, step) => { seen.push(`${stage}:${step}`); if (stage === 'flow' && step === 2) c.abort(); } }),
    (e: Error) => e instanceof AbortError,
  );
  assert.deepEqual(seen, ['encode:1', 'flow:1', 'flow:2']);
  assert.equal(liveTensors(), live, 'an aborted run frees its tensors');
  const all: string[] = [];
  const fractions: number[] = [];
  const r = await up.upsampleImage(img, { steps: 2, tileSize: 16, tileOverlap: 4, onProgress: (stage, step, total, d) => { all.push(`${stage}:${step}/${total}`); fractions.push(d!.fraction); } });
  assert.deepEqual(all.filter((s) => s.startsWith('flow')), ['flow:1/2', 'flow:2/2']);
  assert.ok(fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1])), `overall fraction rises: ${fractions}`);
  assert.equal(fractions.at(-1), 1);
  const n = r.info.tiles;
  // Exact VAE tiling (default) is one band-wise pass per stage; blended VAE tiling reports every tile.
  assert.ok(n > 1 && all.includes('encode:1/1') && all.includes('decode:1/1'), all.join(' '));
  const blend: string[] = [];
  const rb = await up.upsampleImage(img, { steps: 2, tileSize: 16, tileOverlap: 4, vaeTiling: 'blend', onProgress: (stage, step, total) => blend.push(`${stage}:${step}/${total}`) });
  assert.ok(blend.includes(`encode:${n}/${n}`) && blend.includes(`decode:${n}/${n}`), blend.join(' '));
  await assert.rejects(up.upsampleImage(img, { vaeTiling: 'tiles' as 'exact' }), /vaeTiling must be 'exact' or 'blend'/);
  r.image.dispose();
  rb.image.dispose();
  const pre = new AbortController();
  pre.abort();
  await assert.rejects(up.upsampleImage(img, { signal: pre.signal }), AbortError);
  assert.equal(liveTensors(), live);
  up.dispose();
});

test('no model and no bundled default: a clear error saying how to pass one', async () => {
  const prev = process.env.FMBOOST_DEFAULT_MODEL;
  process.env.FMBOOST_DEFAULT_MODEL = join(dir, 'missing', 'fmboost-default.safetensors');
  try {
    await assert.rejects(Upsampler.load(), (e: Error) => e instanceof DefaultModelMissingError && /not installed/.test(e.message) && /--model PATH/.test(e.message) && e.message.includes('missing'));
  } finally {
    if (prev === undefined) delete process.env.FMBOOST_DEFAULT_MODEL;
    else process.env.FMBOOST_DEFAULT_MODEL = prev;
  }
});

test('precision: bf16 (channels_last weights) stays close to fp32 and is recorded; auto resolves; bad values are refused', async () => {
  const f32 = await Upsampler.load({ model: livePath });
  const b16 = await Upsampler.load({ model: livePath, precision: 'bf16' });
  const auto = await Upsampler.load({ model: livePath, precision: 'auto' });
  try {
    assert.equal(f32.precision, 'fp32');
    assert.equal(auto.precision, resolvePrecision('auto'));
    assert.ok(b16.stages[0].vae.encoder.convIn.weight.isContiguous('channels_last'));
    assert.ok(f32.stages[0].vae.encoder.convIn.weight.isContiguous());
    const a = await f32.upsampleImage(img, { seed: 1 });
    const b = await b16.upsampleImage(img, { seed: 1 });
    assert.equal(a.info.precision, 'fp32');
    assert.equal(b.info.precision, 'bf16');
    assert.equal(b.image.dtype, 'float32');
    const d = maxAbsDiff(a.image, b.image);
    assert.ok(d > 0 && d < 0.1, `bf16 vs fp32 max |Δ| ${d}`);
    a.image.dispose(); b.image.dispose();
  } finally {
    f32.dispose(); b16.dispose(); auto.dispose();
  }
  await assert.rejects(Upsampler.load({ model: livePath, precision: 'fp16' as never }), /precision must be one of fp32, bf16, auto, got 'fp16'/);
  await assert.rejects(Upsampler.load({ model: livePath, precision: 'bf16', device: 'cuda' }), cudaAvailable() ? /CPU only/ : /built without CUDA or sees no GPU/);
});
