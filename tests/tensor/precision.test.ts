// Inference precision (tensor/precision.ts): 'auto' follows the CPU's bf16 instructions, bf16 runs under
// autocast and hands back float32 close to the fp32 result, bad values and devices are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { F, randn, tidy, noGrad, atPrecision, cpuBf16, cpuFlags, isPrecisionOption, resolvePrecision } from '../../src/tensor_library.js';

test('cpuBf16 reads /proc/cpuinfo: amx_bf16 → amx, avx512_bf16 → avx512, else null; auto follows it', () => {
  let text = '';
  try { text = readFileSync('/proc/cpuinfo', 'utf8'); } catch { /* no /proc: no flags */ }
  const flags = new Set((text.split('\n').find((l) => l.startsWith('flags')) ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
  assert.deepEqual(cpuFlags(), flags);
  const want = flags.has('amx_bf16') ? 'amx' : flags.has('avx512_bf16') ? 'avx512' : null;
  assert.equal(cpuBf16(), want);
  assert.equal(resolvePrecision('auto'), want ? 'bf16' : 'fp32');
  assert.equal(resolvePrecision(undefined), 'fp32');
  assert.equal(resolvePrecision('fp32'), 'fp32');
  assert.equal(resolvePrecision('bf16'), 'bf16');
  assert.equal(resolvePrecision('auto', 'cuda:0'), 'fp32');
  assert.throws(() => resolvePrecision('bf16', 'cuda'), /CPU only/);
  assert.throws(() => resolvePrecision('fp16' as never), /precision must be one of fp32, bf16, auto, got 'fp16'/);
  assert.ok(isPrecisionOption('auto') && !isPrecisionOption('fp16') && !isPrecisionOption(undefined));
});

test('atPrecision: fp32 is the call itself; bf16 runs the conv in bf16 and returns float32 within bf16 rounding', () => noGrad(() => tidy(() => {
  const x = randn([1, 16, 12, 12]), w = randn([16, 16, 3, 3]).mul(0.1);
  const ref = F.conv2d(x, w, null, { padding: 1 });
  const same = atPrecision('fp32', () => F.conv2d(x, w, null, { padding: 1 }));
  assert.ok(same.equal(ref));
  const y = atPrecision('bf16', () => F.conv2d(x, w, null, { padding: 1 }));
  assert.equal(y.dtype, 'float32');
  const rel = y.sub(ref).abs().max().item() / ref.abs().max().item();
  assert.ok(rel > 1e-6 && rel < 2e-2, `bf16 relative error ${rel}`);
})));

test('layerNorm of a bf16 input (a Linear under autocast) with float32 affine: normalised in float32, as layer_norm of the float32 copy', () => noGrad(() => tidy(() => {
  // libtorch 1.13's CPU layer_norm rejects this mix (the SD UNet's transformer blocks hit it under bf16 autocast)
  const xb = randn([2, 5, 24]).mul(3).add(1).to('bfloat16');
  const w = randn([24]).mul(0.1).add(1), b = randn([24]).mul(0.1);
  const y = F.layerNorm(xb, [24], w, b);
  assert.equal(y.dtype, 'float32');
  const ref = F.layerNorm(xb.float(), [24], w, b);
  assert.equal(y.sub(ref).abs().max().item(), 0);
  assert.ok(Math.abs(y.sub(b).div(w).mean(-1).abs().max().item()) < 1e-5, 'rows are normalised');
})));
