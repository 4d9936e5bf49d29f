// The machine peak behind the report's "% of peak" column, measured at bench start (no CPU is assumed): the best
// of matmul and conv kernels in fp32 and bf16, bf16 rows judged against the bf16 peak; FMBOOST_BENCH_PEAK_GFLOPS
// overrides the fp32 per-core peak, and a bad override is an error naming the variable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measurePeak, peakFor } from '../../bench/peak.js';
import { getNumThreads } from '../../src/tensor/index.js';

test('measured peak: positive rates for every probe kernel, fp32 peak = their best, bf16 peak ≥ fp32 peak', () => {
  const p = measurePeak(getNumThreads(), 64, {});
  const k = p.kernels;
  assert.deepEqual(Object.keys(k).sort(), ['conv3×3 [8,128,32,32] bf16 channels_last', 'conv3×3 [8,128,32,32] fp32', 'matmul 2048² bf16', 'matmul 2048² fp32']);
  for (const [name, v] of Object.entries(k)) assert.ok(v > 1 && Number.isFinite(v), `${name}: ${v} GFLOP/s`);
  assert.equal(p.gflops, Math.max(k['matmul 2048² fp32'], k['conv3×3 [8,128,32,32] fp32']));
  assert.ok(p.bf16Gflops >= p.gflops);
  assert.equal(p.cores, Math.min(getNumThreads(), 64));
  assert.match(p.source, /measured at bench start/);
  assert.equal(peakFor('VAE decode x · bf16+CL', p), p.bf16Gflops);
  assert.equal(peakFor('VAE decode x · fp32', p), p.gflops);
});

test('FMBOOST_BENCH_PEAK_GFLOPS sets the fp32 per-core peak; a bad value names the variable', () => {
  const p = measurePeak(1, 4, { FMBOOST_BENCH_PEAK_GFLOPS: '100' });
  assert.deepEqual([p.gflops, p.perCore], [100, 100]);
  assert.match(p.source, /FMBOOST_BENCH_PEAK_GFLOPS/);
  for (const bad of ['0', '-3', 'fast']) assert.throws(() => measurePeak(1, 1, { FMBOOST_BENCH_PEAK_GFLOPS: bad }), /FMBOOST_BENCH_PEAK_GFLOPS/);
});
