// Source and context construction: PSU (resize in pixels, encode, scale) and noise upsampling
// against PyTorch goldens, LSU by hand, and the coupling / start-from-noise / augmentation wiring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, Generator, F, liveTensors, type Tensor } from '../../src/tensor_library.js';
import { flow } from '../../src/index.js';
import { assertClose, golden, fromGolden } from '../helpers.js';

const { upsampleLatent, buildSourceAndContext, NoiseAugmenter, SD_SCALE_FACTOR, FlowError } = flow;
const G = golden('flow_reference.json');
const encode = (x: Tensor) => F.avgPool2d(x, 4);

for (const mode of ['bilinear', 'bicubic'] as const) {
  test(`PSU (${mode}): resize the low-res image in pixel space, encode, × 0.18215 — matches PyTorch`, () => {
    const img = fromGolden(G.psu_image);
    const lowLatent = tensor(new Float32Array(2 * 3 * 2 * 2), { shape: [2, 3, 2, 2] });
    const out = upsampleLatent({ lowresLatent: lowLatent, zSize: 4, lowresImage: img, imSize: 16 }, { mode: 'psu', encode, pixelResize: mode });
    assertClose(out, G['psu_' + mode].data, { atol: 1e-6 });
    assert.equal(SD_SCALE_FACTOR, 0.18215);
    // Without the image, the reference decodes the latent first, unscaled: with lowresLatent = lat·s
    // the (stand-in) decoder must receive lat, so the result equals PSU from the image decode(lat).
    const lat = F.avgPool2d(img, 4);
    const decode = (zz: Tensor) => F.interpolate(zz.mul(2), { size: 8, mode: 'nearest' });
    const viaDecode = upsampleLatent({ lowresLatent: lat.mul(SD_SCALE_FACTOR), zSize: 4, imSize: 16 }, { mode: 'psu', encode, decode, pixelResize: mode });
    const img2 = decode(lat);
    const direct = upsampleLatent({ lowresLatent: lat, zSize: 4, imSize: 16, lowresImage: img2 }, { mode: 'psu', encode, pixelResize: mode });
    assertClose(viaDecode, direct, { atol: 1e-6 });
    for (const v of [lat, viaDecode, img2, direct]) v.dispose();
    // A precomputed PSU latent (already high-res) is used as is.
    const pre = upsampleLatent({ lowresLatent: out, zSize: 4 }, { mode: 'psu' });
    assert.ok(pre.equal(out));
    for (const v of [img, lowLatent, out, pre]) v.dispose();
  });
}

test('LSU nearest / bilinear by hand; identity copies', () => {
  const z = tensor([[[[1, 2], [3, 4]]]]);
  const near = upsampleLatent({ lowresLatent: z, zSize: 4 }, { mode: 'nearest' });
  assert.deepEqual(near.tolist(), [[[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]]);
  const bil = upsampleLatent({ lowresLatent: z, zSize: 4 }, { mode: 'bilinear' });
  // align_corners = false: output row 1 samples input row 0.25 → 1·0.75 + 3·0.25 in column 0.
  assert.ok(Math.abs((bil.tolist() as number[][][][])[0][0][1][0] - 1.5) < 1e-6);
  assert.ok(Math.abs((bil.tolist() as number[][][][])[0][0][0][0] - 1) < 1e-6);
  const bic = upsampleLatent({ lowresLatent: z, zSize: [4, 6] }, { mode: 'bicubic' });
  assert.deepEqual(bic.shape, [1, 1, 4, 6]);
  const id = upsampleLatent({ lowresLatent: z, zSize: 4 }, { mode: 'identity' });
  assert.ok(id.equal(z) && !id.isSame(z));
  for (const v of [z, near, bil, bic, id]) v.dispose();
});

test('noise_upsampling keeps every s-th pixel and fills the rest with N(0, 1) — matches PyTorch', () => {
  const low = fromGolden(G.noise_upsampling.low);
  const out = upsampleLatent({ lowresLatent: low, zSize: 6 }, { mode: 'noise_upsampling', generator: new Generator(G.noise_upsampling.seed) });
  assertClose(out, G.noise_upsampling.out.data, { atol: 1e-6 });
  const kept = out.slice(2, 0, null, 2).slice(3, 0, null, 2);
  assert.ok(kept.equal(low));
  // Shrinking falls back to nearest.
  const down = upsampleLatent({ lowresLatent: out, zSize: 3 }, { mode: 'noise_upsampling' });
  assert.deepEqual(down.shape, [2, 3, 3, 3]);
  assert.throws(() => upsampleLatent({ lowresLatent: low, zSize: 7 }, { mode: 'noise_upsampling' }), FlowError);
  for (const v of [low, out, kept, down]) v.dispose();
});

test('coupling: x0 = noised upsampled latent, context = the clean one; start-from-noise; no context', () => {
  const z = fromGolden(G.inputs.x1); // treat as a precomputed PSU latent (already at zSize)
  const before = liveTensors();
  const aug = new NoiseAugmenter({ seed: 9 });
  const { source, context } = buildSourceAndContext({ lowresLatent: z, zSize: 4 }, { noisingStep: 400, augmenter: aug });
  assert.equal(liveTensors() - before, 2);
  assert.ok(context!.equal(z), 'context is the clean latent');
  const expected = new NoiseAugmenter({ seed: 9 }).qSample(z, 400);
  assert.ok(source.equal(expected), 'x0 = q_sample(latent, 400) with the augmenter stream');

  const plain = buildSourceAndContext({ lowresLatent: z, zSize: 4 }, { noisingStep: 0 });
  assert.ok(plain.source.equal(z) && plain.context!.equal(z));
  plain.source.dispose();
  assert.ok(!plain.context!.isDisposed && plain.context!.equal(z), 'source and context are separate handles');

  const g1 = new Generator(2), g2 = new Generator(2);
  const noise = buildSourceAndContext({ lowresLatent: z, zSize: 4 }, { startFromNoise: true, concatContext: false, generator: g1 });
  const ref = z.clone(); // same shape, to draw the same N(0,1) stream into
  ref.normal_(0, 1, g2);
  assert.ok(noise.source.equal(ref), 'x0 ~ N(0, I) from the seeded stream');
  assert.ok(noise.context!.equal(z), 'start-from-noise always has the context');

  const noCtx = buildSourceAndContext({ lowresLatent: z, zSize: 4 }, { concatContext: false });
  assert.equal(noCtx.context, null);

  const lsu = buildSourceAndContext({ lowresLatent: z, zSize: 8 }, { upsamplingMode: 'bilinear', contextMode: 'nearest' });
  const near = F.interpolate(z, { size: 8, mode: 'nearest' }), bil = F.interpolate(z, { size: 8, mode: 'bilinear' });
  assert.ok(lsu.source.equal(bil) && lsu.context!.equal(near), 'separate modes for x0 and the context');

  for (const v of [source, context!, expected, plain.context!, noise.source, noise.context!, ref, noCtx.source, lsu.source, lsu.context!, near, bil, z]) v.dispose();
});

test('bad inputs name the problem', () => {
  const z = tensor(new Float32Array(2 * 4 * 2 * 2), { shape: [2, 4, 2, 2] });
  const is = (re: RegExp) => (e: unknown) => e instanceof FlowError && re.test((e as Error).message);
  assert.throws(() => upsampleLatent({ lowresLatent: z, zSize: 4 }, { mode: 'psu' }), is(/psu: latent is 2×2, not 4×4, so it needs lowresImage \(or a decode function\), imSize and an encode function/));
  assert.throws(() => upsampleLatent({ lowresLatent: z, zSize: 4 }, { mode: 'lanczos' as never }), is(/unknown upsampling mode 'lanczos'/));
  const img = tensor(new Float32Array(3 * 3 * 8 * 8), { shape: [3, 3, 8, 8] });
  assert.throws(() => upsampleLatent({ lowresLatent: z, zSize: 4, lowresImage: img, imSize: 16 }, { mode: 'psu', encode }), is(/lowresImage must be \[2, C, H, W\]/));
  const img2 = tensor(new Float32Array(2 * 3 * 8 * 8), { shape: [2, 3, 8, 8] });
  assert.throws(() => upsampleLatent({ lowresLatent: z, zSize: 4, lowresImage: img2, imSize: 16 }, { mode: 'psu', encode: (x) => F.avgPool2d(x, 2) }), is(/encode returned \[2, 3, 8, 8\], expected \[2, C, 4, 4\]/));
  assert.throws(() => buildSourceAndContext({ lowresLatent: z, zSize: 2 }, { startFromNoise: true, noisingStep: 400, augmenter: new NoiseAugmenter() }), is(/cannot be used with startFromNoise/));
  assert.throws(() => buildSourceAndContext({ lowresLatent: z, zSize: 2 }, { noisingStep: 400 }), is(/needs a NoiseAugmenter/));
  const flat = tensor([1, 2]);
  assert.throws(() => upsampleLatent({ lowresLatent: flat, zSize: 4 }, { mode: 'nearest' }), is(/lowresLatent must be \[B, C, h, w\]/));
  for (const v of [z, img, img2, flat]) v.dispose();
});
