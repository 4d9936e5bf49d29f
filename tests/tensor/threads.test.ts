// Intra-op thread count: set/get round trip, bad values rejected, results unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { setNumThreads, getNumThreads, maxThreads, randn, Generator, tidy } from '../../src/tensor_library.js';

test('setNumThreads / getNumThreads round trip and reject bad values; capped at the cores unless forced', async () => {
  const original = getNumThreads();
  assert.ok(Number.isInteger(original) && original >= 1);
  try {
    const top = Math.min(2, maxThreads());
    for (const n of [1, top]) {
      setNumThreads(n);
      assert.equal(getNumThreads(), n);
    }
    for (const bad of [0, -1, 1.5, NaN, Infinity, maxThreads() + 1, 100000]) {
      assert.throws(() => setNumThreads(bad), (e: Error) => e instanceof RangeError && e.message.includes(`setNumThreads(${bad})`));
    }
    assert.equal(getNumThreads(), top, 'a rejected value leaves the setting alone');
    assert.equal(maxThreads(), availableParallelism(), 'capped at the cores');
    assert.throws(() => setNumThreads(availableParallelism() + 1), /one per core; FMBOOST_FORCE_THREADS=1 allows 4 per core/);
    // forced: up to 4 per core (a fresh process: the cap is read from the environment)
    const { spawnSync } = await import('node:child_process');
    const { ROOT } = await import('../helpers.js');
    const lib = JSON.stringify(`${ROOT}/dist/src/tensor_library.js`);
    const p = spawnSync(process.execPath, ['--input-type=module', '-e', `const t = await import(${lib}); t.setNumThreads(${availableParallelism() + 1}); console.log(t.maxThreads(), t.getNumThreads());`],
      { encoding: 'utf8', env: { ...process.env, FMBOOST_FORCE_THREADS: '1' } });
    assert.equal(p.stdout.trim(), `${4 * availableParallelism()} ${availableParallelism() + 1}`, p.stderr);
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
