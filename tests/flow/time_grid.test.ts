// Time grids: float32 grids equal torch.linspace(0, 1, n, dtype=float32) (the grids the reference
// hands torchdiffeq); grid validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flow } from '../../src/index.js';
import { golden } from '../helpers.js';

const G = golden('flow_reference.json');

// torch's CPU linspace fills SIMD-width chunks from each chunk's first value, so a few points of the
// second half round differently (which ones depends on the vector width): allow one float32 ulp.
test('linspaceGrid(n, float32) equals torch.linspace in float32 to one ulp, with exact ends', () => {
  for (const [n, ref] of Object.entries(G.linspace_f32 as Record<string, number[]>)) {
    const g = flow.linspaceGrid(Number(n), { dtype: 'float32' });
    assert.equal(g.length, ref.length);
    assert.equal(g[0], ref[0]);
    assert.equal(g[g.length - 1], ref[ref.length - 1]);
    g.forEach((v, i) => {
      assert.equal(v, Math.fround(v));
      assert.ok(Math.abs(v - ref[i]) <= 2 ** -24 * Math.max(Math.abs(ref[i]), 2 ** -126) * 2, `n = ${n}, i = ${i}: ${v} vs ${ref[i]}`);
    });
  }
});

test('checkGrid accepts increasing grids and names the first bad point', () => {
  assert.deepEqual(flow.checkGrid('f', new Float64Array([0, 0.5, 1])), [0, 0.5, 1]);
  assert.throws(() => flow.checkGrid('f', [0, 0.3, 0.2]), /f: grid must be strictly increasing, but grid\[2\] = 0.2 ≤ grid\[1\] = 0.3/);
  assert.throws(() => flow.checkGrid('f', [0.5]), /f: grid needs at least 2 points/);
  assert.throws(() => flow.checkGrid('f', null as never), /f: grid must be an array/);
});
