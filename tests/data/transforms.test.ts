// Transforms: the PSU pair (data's degradation, flow's psuImage) and resizes vs torch F.interpolate goldens, seeded crop/flip draws vs torch
// Generator streams, center crop offsets vs torchvision's rule, and the worker-side array versions.
import test from 'node:test';
import assert from 'node:assert/strict';
import { golden, fromGolden, assertClose } from '../helpers.js';
import { Generator, tensor, tidy, arange, liveTensors } from '../../src/tensor_library.js';
import {
  degrade, resize, randomCropParams, randomCrop, centerCrop, centerCropOffsets, randomHorizontalFlip, crop,
  cropCHW, hflipCHW, Rng,
} from '../../src/data/index.js';
import { psuImage } from '../../src/flow/index.js';

const G = golden('data_transforms.json');

test('PSU pair (data degrade + flow psuImage): lowres (bilinear, no antialias) and PSU (bilinear / bicubic) match torch', () => {
  const before = liveTensors();
  tidy(() => {
    const hr = fromGolden(G.hr);
    const lowres = degrade(hr, [6, 8], 'bilinear');
    const psu = psuImage(lowres, [24, 32]);
    assert.deepEqual(lowres.shape, [1, 3, 6, 8]);
    assert.deepEqual(psu.shape, [1, 3, 24, 32]);
    assertClose(lowres, fromGolden(G.lowres), { atol: 1e-6, rtol: 0, msg: 'lowres' });
    assertClose(psu, fromGolden(G.psu_bilinear), { atol: 1e-6, rtol: 0, msg: 'psu bilinear' });
    assertClose(psuImage(lowres, [24, 32], 'bicubic'), fromGolden(G.psu_bicubic), { atol: 1e-6, rtol: 0, msg: 'psu bicubic' });
    // unbatched [3, H, W] input gives unbatched outputs with the same values
    const one = psuImage(degrade(hr.squeeze(0), [6, 8], 'bilinear'), [24, 32]);
    assert.deepEqual(one.shape, [3, 24, 32]);
    assertClose(one, fromGolden(G.psu_bilinear).squeeze(0), { atol: 1e-6, rtol: 0 });
    // antialiased resizes
    assertClose(resize(hr, [6, 8], { antialias: true }), fromGolden(G.lowres_aa), { atol: 1e-6, rtol: 0, msg: 'bilinear aa' });
    assertClose(resize(hr, [6, 8], { mode: 'bicubic', antialias: true }), fromGolden(G.lowres_bicubic_aa), { atol: 1e-6, rtol: 0, msg: 'bicubic aa' });
    assert.throws(() => degrade(hr, [64, 64], 'bilinear'), RangeError);
    assert.throws(() => psuImage(lowres, [24, 32], 'nearest' as never), /pixelResize must be bilinear or bicubic, got 'nearest'/);
  });
  assert.equal(liveTensors(), before, 'the PSU pair leaked tensors');
});

test('randomCropParams / randomHorizontalFlip draw exactly torch.randint / torch.rand from the Generator', () => {
  const { height, width, crop: size, draws } = G.crop_draws;
  for (const d of draws) {
    const g = new Generator(d.seed);
    const p = randomCropParams(height, width, size, g);
    assert.deepEqual([p.top, p.left], [d.top, d.left], `seed ${d.seed}`);
    const x = tensor(new Float32Array(3 * height * width), { shape: [3, height, width] });
    const [y, flipped] = randomHorizontalFlip(x, 0.5, g);
    assert.equal(flipped, d.flip, `seed ${d.seed} flip`);
    x.dispose(); y.dispose();
  }
});

test('randomCrop is reproducible for a seed and equals the crop at the drawn offsets', () => {
  tidy(() => {
    const x = arange(0, 2 * 3 * 20 * 30).reshape(2, 3, 20, 30).float();
    const a = randomCrop(x, [8, 12], new Generator(5));
    const b = randomCrop(x, [8, 12], new Generator(5));
    assert.ok(a.equal(b));
    const p = randomCropParams(20, 30, [8, 12], new Generator(5));
    assert.ok(a.equal(crop(x, p)));
    // the crop's first element is x[0, 0, top, left]
    assert.equal(a.flatten().select(0, 0).item(), p.top * 30 + p.left);
    const c = randomCrop(x, [8, 12], new Generator(6));
    const q = randomCropParams(20, 30, [8, 12], new Generator(6));
    assert.equal(c.equal(a), q.top === p.top && q.left === p.left);
    assert.throws(() => randomCrop(x, 21), RangeError);
  });
});

test('centerCrop uses torchvision offsets (round half to even)', () => {
  for (const c of G.center_crop) {
    assert.deepEqual(centerCropOffsets(c.H, c.W, c.h, c.w), { top: c.top, left: c.left }, JSON.stringify(c));
    tidy(() => {
      const x = arange(0, c.H * c.W).reshape(1, c.H, c.W).float();
      const y = centerCrop(x, [c.h, c.w]);
      assert.deepEqual(y.shape, [1, c.h, c.w]);
      assert.equal(y.flatten().select(0, 0).item(), c.top * c.W + c.left);
    });
  }
});

test('array crop/flip (worker side) equal the tensor narrow/flip', () => {
  tidy(() => {
    const C = 3, H = 7, W = 9;
    const data = Float32Array.from({ length: C * H * W }, (_, i) => i * 0.5 - 3);
    const t = tensor(data, { shape: [C, H, W] });
    const c = cropCHW(data, C, H, W, 2, 3, 4, 5);
    assert.deepEqual(Array.from(c), Array.from(crop(t, { top: 2, left: 3, height: 4, width: 5 }).toFloat32Array()));
    const f = hflipCHW(Float32Array.from(data), C, H, W);
    assert.deepEqual(Array.from(f), Array.from(t.flip(-1).toFloat32Array()));
    assert.throws(() => cropCHW(data, C, H, W, 5, 0, 4, 4), RangeError);
  });
});

test('Rng: same keys → same stream; different keys differ; int range and permutation are valid', () => {
  const a = new Rng(1, 2, 3), b = new Rng(1, 2, 3), c = new Rng(1, 2, 4);
  const sa = Array.from({ length: 20 }, () => a.nextU32());
  assert.deepEqual(sa, Array.from({ length: 20 }, () => b.nextU32()));
  assert.notDeepEqual(sa, Array.from({ length: 20 }, () => c.nextU32()));
  const r = new Rng(9);
  const counts = new Array(5).fill(0);
  for (let i = 0; i < 5000; i++) { const v = r.int(3, 8); assert.ok(v >= 3 && v < 8); counts[v - 3]++; }
  for (const n of counts) assert.ok(n > 850 && n < 1150, `counts ${counts}`);
  const p = new Rng(4).permutation(1000);
  assert.deepEqual(Array.from(p).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.notDeepEqual(Array.from(p.subarray(0, 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  for (let i = 0; i < 1000; i++) { const u = r.random(); assert.ok(u >= 0 && u < 1); }
});
