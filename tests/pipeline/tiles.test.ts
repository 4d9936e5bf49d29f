// Tile plans and blending: plans cover the grid with aligned starts; weights are a partition of unity after
// normalisation, so blending a pointwise map reproduces the untiled map; one tile is exactly untiled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, liveTensors, manualSeed, rand, tidy } from '../../src/tensor/index.js';
import { blendTilesSync, coverage, planTiles, rampWeights, tileStarts } from '../../src/pipeline/index.js';
import { maxAbsDiff } from '../helpers.js';

test('tileStarts: first 0, last length − tile, aligned, stride ≤ tile − overlap', () => {
  for (const [L, T, O, a] of [[100, 16, 4, 1], [64, 16, 4, 2], [50, 12, 3, 2], [33, 32, 8, 1], [40, 8, 0, 4]]) {
    const s = tileStarts(L, T, O, a);
    assert.equal(s[0], 0);
    assert.equal(s[s.length - 1], L - T);
    for (let i = 1; i < s.length; i++) {
      assert.ok(s[i] - s[i - 1] <= T - O, `${L}/${T}/${O}: stride ${s[i] - s[i - 1]}`);
      assert.ok(s[i] > s[i - 1]);
      if (i < s.length - 1) assert.equal(s[i] % a, 0);
    }
  }
  assert.deepEqual(tileStarts(10, 16, 4), [0]);
  assert.throws(() => tileStarts(100, 8, 8), /overlap 8 must be smaller than the tile 8/);
});

test('planTiles covers every cell; a tile ≥ the grid is one tile', () => {
  const p = planTiles(23, 37, 8, 2, 2);
  assert.equal(p.tile, 8);
  const c = coverage(p);
  assert.ok(c.min().item() >= 1);
  c.dispose();
  assert.ok(p.tiles.every((t) => t.h === 8 && t.w === 8));
  assert.equal(planTiles(16, 16, 16, 4).tiles.length, 1);
  assert.equal(planTiles(16, 16, null, undefined).tiles.length, 1);
  assert.throws(() => planTiles(16, 16, 1, 0, 2), /smaller than the size multiple/);
});

test('rampWeights: raised cosine over the ramp on bordered sides only, all > 0', () => {
  const w = rampWeights(10, 4, true, false);
  for (let i = 0; i < 10; i++) {
    const v = Math.min(1, (i + 0.5) / 4);
    assert.ok(Math.abs(w[i] - Math.sin((Math.PI / 2) * v) ** 2) < 1e-7);
    assert.ok(w[i] > 0);
  }
  assert.ok(rampWeights(6, 3, false, false).every((v) => v === 1));
  const both = rampWeights(9, 3, true, true);
  for (let i = 0; i < 9; i++) assert.ok(Math.abs(both[i] - both[8 - i]) < 1e-7);
});

test('blending a pointwise map (and a 2× nearest upsample) equals the untiled map', () => {
  manualSeed(0);
  const live = liveTensors();
  tidy(() => {
    const x = rand([2, 3, 21, 30]);
    const plan = planTiles(21, 30, 8, 3, 1);
    assert.ok(plan.tiles.length > 6);
    const crop = (t: { y0: number; x0: number; h: number; w: number }) => x.narrow(2, t.y0, t.h).narrow(3, t.x0, t.w);
    const y = blendTilesSync(plan, 1, (t) => crop(t).mul(3).sub(1));
    assert.ok(maxAbsDiff(y, x.mul(3).sub(1)) < 1e-6);
    const up = blendTilesSync(plan, 2, (t) => F.interpolate(crop(t), { scaleFactor: 2, mode: 'nearest' }));
    assert.ok(maxAbsDiff(up, F.interpolate(x, { scaleFactor: 2, mode: 'nearest' })) < 1e-6);
    // One tile: the function's output itself (no weights applied).
    const one = blendTilesSync(planTiles(21, 30, 64, 8), 1, (t) => crop(t).exp());
    assert.equal(maxAbsDiff(one, x.exp()), 0);
    // A tile-dependent map shows the blend: values in [min, max] of the tile outputs.
    const idx = blendTilesSync(plan, 1, (t) => crop(t).mul(0).add(t.y0 * 100 + t.x0));
    assert.ok(idx.min().item() >= 0 && idx.max().item() <= Math.max(...plan.tiles.map((t) => t.y0 * 100 + t.x0)) + 1e-3);
  });
  assert.equal(liveTensors(), live);
});

test('blendTiles: a wrongly shaped tile output is an error naming the shapes, nothing leaks', () => {
  const live = liveTensors();
  const plan = planTiles(16, 16, 8, 2, 1);
  assert.throws(() => blendTilesSync(plan, 2, () => rand([1, 1, 8, 8])), /tile output \[1, 1, 8, 8\] is not \[N, C, 16, 16\]/);
  assert.equal(liveTensors(), live);
});
