// SWD (sliced Wasserstein distance on Laplacian-pyramid patches): the pieces and the whole against the float64
// numpy reference of scripts/goldens/eval_swd.py (fixed descriptors + directions; one pyramid; two seeded sets
// end to end), and properties: identical sets score 0, a blurred set scores worse than a slightly noised one,
// same seed → same value, different seed → a different one, no leaked tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Generator, liveTensors, rand, randn, tidy, type Tensor } from '../../src/tensor/index.js';
import { SwdSet, swd, swdMany, slicedWasserstein, normalizeDescriptors, laplacianPyramid, patchDescriptors, pyramidLevels } from '../../src/eval/index.js';
import { golden, fromGolden, maxAbsDiff } from '../helpers.js';

interface Enc { shape: number[]; data: number[] }
const G = golden<{
  core: { a: Enc; b: Enc; dirs: Enc[]; norm_a: Enc; swd: number };
  pyramid: { image: Enc; levels: Enc[]; positions: { ys: number[]; xs: number[] }[]; patches: Enc[] };
  seeded: { options: { seed: number; patchesPerImage: number; directions: number; repeats: number }; a: Enc; b: Enc; levels: number[]; res: number[]; swd: number };
}>('eval_swd.json');

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

test('normalisation and sliced Wasserstein match the numpy reference on fixed descriptors and directions', () => {
  const before = liveTensors();
  tidy(() => {
    const a = fromGolden(G.core.a), b = fromGolden(G.core.b);
    const na = normalizeDescriptors(a), nb = normalizeDescriptors(b);
    const d = maxAbsDiff(na.narrow(0, 0, 8), fromGolden(G.core.norm_a));
    assert.ok(d < 1e-5, `normalised descriptors differ by ${d}`);
    const v = slicedWasserstein(na, nb, G.core.dirs.map(fromGolden));
    assert.ok(rel(v, G.core.swd) < 1e-5, `swd ${v} vs ${G.core.swd}`);
    // swapping the sets changes nothing; a set against itself is 0
    assert.ok(rel(slicedWasserstein(nb, na, G.core.dirs.map(fromGolden)), v) < 1e-6);
    assert.equal(slicedWasserstein(na, na, G.core.dirs.map(fromGolden)), 0);
  });
  assert.equal(liveTensors(), before);
});

test('Laplacian pyramid (cv2 pyrDown / pyrUp, mirror borders) and patch descriptors match the reference', () => {
  const before = liveTensors();
  tidy(() => {
    const img = fromGolden(G.pyramid.image);
    const pyr = laplacianPyramid(img.unsqueeze(0), G.pyramid.levels.length);
    pyr.forEach((lv, l) => {
      const d = maxAbsDiff(lv.squeeze(0), fromGolden(G.pyramid.levels[l]));
      assert.ok(d < 1e-5, `level ${l}: max |Δ| ${d}`);
      const p = G.pyramid.positions[l];
      const dp = maxAbsDiff(patchDescriptors(lv.squeeze(0), p.ys, p.xs), fromGolden(G.pyramid.patches[l]));
      assert.ok(dp < 1e-5, `patches of level ${l}: max |Δ| ${dp}`);
    });
    assert.throws(() => patchDescriptors(pyr[2].squeeze(0), [2], [3]), /leaves the 8×12 image/);
  });
  assert.equal(liveTensors(), before);
  assert.equal(pyramidLevels(256, 256), 5); // 256, 128, 64, 32, 16
  assert.equal(pyramidLevels(64, 96), 3);
  assert.equal(pyramidLevels(15, 64), 0);
});

/** A set of images from the golden's [N, 3, H, W] tensor. */
function fill(set: SwdSet, images: Tensor): void {
  for (let i = 0; i < images.shape[0]; i++) tidy(() => set.add(images.select(0, i), i));
}

test('seeded sets end to end: positions, directions and per-level values equal the reference (same Generator streams)', () => {
  const before = liveTensors();
  const o = G.seeded.options;
  const a = new SwdSet(o), b = new SwdSet(o);
  tidy(() => { fill(a, fromGolden(G.seeded.a)); fill(b, fromGolden(G.seeded.b)); });
  const r = swd(a, b);
  assert.deepEqual(r.levels.map((l) => l.res), G.seeded.res);
  r.levels.forEach((l, i) => assert.ok(rel(l.swd, G.seeded.levels[i]) < 1e-4, `level ${i}: ${l.swd} vs ${G.seeded.levels[i]}`));
  assert.ok(rel(r.swd, G.seeded.swd) < 1e-4, `${r.swd} vs ${G.seeded.swd}`);
  assert.equal(liveTensors(), before);
});

/** Textured images in [-1, 1]: noise at 8², 16², 32² and 64² upsampled and summed (structure at every level). */
function textures(n: number, seed: number): Tensor {
  const g = new Generator(seed);
  return tidy(() => {
    let x = randn([n, 3, 64, 64], { generator: g }).mul(0.1);
    for (const s of [8, 16, 32]) x = x.add(F.interpolate(randn([n, 3, s, s], { generator: g }), { size: [64, 64], mode: 'bilinear', alignCorners: false }).mul(0.3));
    return x.tanh();
  });
}

test('identical sets score exactly 0; a blurred set scores worse than a slightly noised one', () => {
  const before = liveTensors();
  const o = { patchesPerImage: 64, directions: 128, repeats: 2 };
  const hr = textures(6, 1);
  const sets = { ref: new SwdSet(o), same: new SwdSet(o), noisy: new SwdSet(o), blurred: new SwdSet(o) };
  tidy(() => {
    fill(sets.ref, hr);
    fill(sets.same, hr.clone());
    fill(sets.noisy, hr.add(randn(hr.shape, { generator: new Generator(2) }).mul(0.03)).clamp(-1, 1));
    // 3×3 box blur (replicate-free: avg pool with zero padding, interior is what matters)
    fill(sets.blurred, F.avgPool2d(hr, 3, { stride: 1, padding: 1, countIncludePad: false }));
  });
  hr.dispose();
  const same = swd(sets.ref, sets.same);
  assert.equal(same.swd, 0);
  for (const l of same.levels) assert.equal(l.swd, 0);
  assert.deepEqual(same.levels.map((l) => l.res), [64, 32, 16]);
  const noisy = swd(sets.ref, sets.noisy), blurred = swd(sets.ref, sets.blurred);
  assert.ok(noisy.swd > 0);
  assert.ok(blurred.swd > 1.5 * noisy.swd, `blurred ${blurred.swd} vs noisy ${noisy.swd}`);
  // the blur removes fine detail: the finest level tells them apart the most
  assert.ok(blurred.levels[0].swd > noisy.levels[0].swd);
  // several sets against one reference at once: the same values as one by one
  assert.deepEqual(swdMany(sets.ref, [sets.noisy, sets.blurred, sets.same]), [noisy, blurred, same]);
  assert.equal(liveTensors(), before);
});

test('deterministic for a seed, different for another; mismatched sets are refused', () => {
  const imgs = tidy(() => rand([3, 3, 32, 32]).mul(2).sub(1));
  const other = tidy(() => imgs.flip([3]).mul(0.8));
  const run = (seed: number) => {
    const a = new SwdSet({ seed, patchesPerImage: 32 }), b = new SwdSet({ seed, patchesPerImage: 32 });
    tidy(() => { fill(a, imgs); fill(b, other); });
    return swd(a, b);
  };
  const r0 = run(0), r0b = run(0), r1 = run(1);
  assert.deepEqual(r0b, r0);
  assert.notEqual(r1.swd, r0.swd);
  const a = new SwdSet({ patchesPerImage: 32 }), b = new SwdSet({ patchesPerImage: 16 });
  tidy(() => { a.add(imgs.select(0, 0), 0); b.add(imgs.select(0, 0), 0); });
  assert.throws(() => swd(a, b), /different options/);
  const c = new SwdSet({ patchesPerImage: 32 });
  tidy(() => c.add(imgs.select(0, 1), 1));
  assert.throws(() => swd(a, c), /different images/);
  assert.throws(() => tidy(() => a.add(imgs.select(0, 0), 0)), /already added/);
  assert.throws(() => tidy(() => a.add(imgs.select(0, 0).narrow(1, 0, 8), 5)), /smaller than 16 px/);
  imgs.dispose(); other.dispose();
});
