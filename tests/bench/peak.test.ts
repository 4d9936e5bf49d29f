// The machine peak behind the report's "% of peak" column: per core × the threads used (at most the cores),
// overridable per core by FMBOOST_BENCH_PEAK_GFLOPS; a bad override is an error naming the variable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PEAK_GFLOPS_PER_CORE, machinePeak } from '../../bench/peak.js';

test('peak = per-core peak × threads, capped at the cores', () => {
  assert.equal(machinePeak(1, 2, {}).gflops, DEFAULT_PEAK_GFLOPS_PER_CORE);
  assert.equal(machinePeak(2, 2, {}).gflops, 2 * DEFAULT_PEAK_GFLOPS_PER_CORE);
  assert.equal(machinePeak(8, 2, {}).cores, 2);
  assert.match(machinePeak(2, 2, {}).source, /DESIGN/);
});

test('FMBOOST_BENCH_PEAK_GFLOPS sets the per-core peak; a bad value names the variable', () => {
  const p = machinePeak(2, 4, { FMBOOST_BENCH_PEAK_GFLOPS: '100' });
  assert.deepEqual([p.gflops, p.perCore, p.source], [200, 100, 'FMBOOST_BENCH_PEAK_GFLOPS']);
  for (const bad of ['0', '-3', 'fast']) assert.throws(() => machinePeak(1, 1, { FMBOOST_BENCH_PEAK_GFLOPS: bad }), /FMBOOST_BENCH_PEAK_GFLOPS/);
});
