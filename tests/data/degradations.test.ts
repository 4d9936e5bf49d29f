// Degradations: how a high-res image becomes the low-res input (data/degradations.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, full, liveTensors, manualSeed, rand, tidy } from '../../src/tensor_library.js';
import { DEGRADATIONS, checkDegradation, degrade } from '../../src/data/index.js';
import { psuImage } from '../../src/flow/index.js';
import { DEGRADATIONS as NAMES } from '../../src/data/degradation_names.js';
import { maxAbsDiff } from '../helpers.js';

test('degradations: each has its definition; they differ from each other on a detailed image', () => {
  const before = liveTensors();
  manualSeed(0);
  tidy(() => {
    const x = rand([2, 3, 32, 24]).mul(2).sub(1);
    const out = Object.fromEntries(DEGRADATIONS.map((d) => [d, degrade(x, [8, 6], d)]));
    for (const d of DEGRADATIONS) assert.deepEqual(out[d].shape, [2, 3, 8, 6]);
    // area: the mean of each 4×4 block
    const block = x.narrow(2, 4, 4).narrow(3, 8, 4).mean([2, 3]);
    assert.ok(maxAbsDiff(out.area.select(2, 1).select(2, 2), block) < 1e-6);
    // bilinear without antialias: the reference's resize (samples 2 of every 4 px: aliased)
    assert.ok(maxAbsDiff(out.bilinear, F.interpolate(x, { size: [8, 6], mode: 'bilinear', alignCorners: false })) === 0);
    // an antialiased filter averages more pixels than the aliased one: lower variance on white noise
    assert.ok(out.bicubic_aa.std().item() < out.bilinear.std().item() * 0.8);
    for (let i = 0; i < DEGRADATIONS.length; i++) for (let j = i + 1; j < DEGRADATIONS.length; j++) {
      assert.ok(maxAbsDiff(out[DEGRADATIONS[i]], out[DEGRADATIONS[j]]) > 1e-3, `${DEGRADATIONS[i]} vs ${DEGRADATIONS[j]}`);
    }
    // a flat image stays flat under every one
    const c = full([1, 3, 16, 16], 0.25);
    for (const d of DEGRADATIONS) assert.ok(maxAbsDiff(degrade(c, [4, 4], d), full([1, 3, 4, 4], 0.25)) < 1e-6, d);
  });
  assert.equal(liveTensors(), before);
});

test('the PSU pair takes the degradation; bad names and sizes are clear errors', () => {
  manualSeed(1);
  tidy(() => {
    const x = rand([1, 3, 16, 16]);
    const a = degrade(x, [4, 4], 'area');
    assert.ok(maxAbsDiff(a, F.adaptiveAvgPool2d(x, [4, 4])) === 0);
    assert.ok(maxAbsDiff(degrade(x, [4, 4], 'bilinear'), F.interpolate(x, { size: [4, 4], mode: 'bilinear', alignCorners: false })) === 0, 'the reference\'s bilinear');
    assert.deepEqual(psuImage(a, [16, 16]).shape, [1, 3, 16, 16]);
    assert.throws(() => checkDegradation('bicubic'), /unknown degradation 'bicubic' \(known: bilinear, bicubic_aa, bilinear_aa, area\)/);
    assert.throws(() => degrade(x, [32, 32], 'area'), /does not fit the 16×16 image/);
  });
  assert.deepEqual([...NAMES], [...DEGRADATIONS]);
});
