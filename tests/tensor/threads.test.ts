// Intra-op thread count: set/get round trip, bad values rejected, results unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { setNumThreads, getNumThreads, maxThreads, randn, Generator, tidy } from '../../src/tensor_library.js';

test('setNumThreads / getNumThreads round trip and reject bad values', () => {
  const original = getNumThreads();
  assert.ok(Number.isInteger(original) && original >= 1);
  try {
    for (const n of [1, 2, 3]) {
      setNumThreads(n);
      assert.equal(getNumThreads(), n);
    }
    for (const bad of [0, -1, 1.5, NaN, Infinity, maxThreads() + 1, 100000]) {
      assert.throws(() => setNumThreads(bad), (e: Error) => e instanceof RangeError && e.message.includes(`setNumThreads(${bad})`));
    }
    assert.equal(getNumThreads(), 3, 'a rejected value leaves the setting alone');
    assert.equal(maxThreads(), 4 * availableParallelism());
    // The thread count does not change results.
    const r = (n: number) => tidy(() => {
      setNumThreads(n);
      const g = new Generator(9);
      return Array.from(randn([64, 64], { generator: g }).matmul(randn([64, 64], { generator: g })).sum(1).toFloat32Array());
    });
    const one = r(1), two = r(2);
    one.forEach((v, i) => assert.ok(Math.abs(v - two[i]) < 1e-4, `row ${i}: ${v} vs ${two[i]}`));
  } finally {
    setNumThreads(original);
  }
  assert.equal(getNumThreads(), original);
});
