// F.groupNormSilu: the GN → SiLU pair (with the ADM scale/shift). bf16 without gradients runs the addon's fused
// kernel, which must equal the composed ops up to the bf16 rounding of its output, in either memory layout;
// fp32, and anything that needs a gradient, runs the composed ATen ops exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, noGrad, rand, randn, tidy } from '../../src/tensor/index.js';

const reference = (x: ReturnType<typeof randn>, G: number, w: ReturnType<typeof randn>, b: ReturnType<typeof randn>, film?: { scale: ReturnType<typeof randn>; shift: ReturnType<typeof randn> }) => tidy(() => {
  const [N, C] = x.shape;
  let h = F.groupNorm(x.float(), G, w, b, 1e-6);
  if (film) h = h.mul(film.scale.reshape([N, C, 1, 1]).add(1)).add(film.shift.reshape([N, C, 1, 1]));
  return F.silu(h);
});

test('bf16, no grad: fused kernel within bf16 rounding of silu(group_norm), NCHW and channels_last, with and without FiLM', () => noGrad(() => tidy(() => {
  for (const [N, C, H, W, G] of [[2, 64, 13, 9, 32], [1, 96, 8, 8, 32], [3, 32, 5, 7, 8]]) {
    const x = randn([N, C, H, W]).mul(3).add(1.5), w = rand([C]).add(0.5), b = randn([C]);
    const film = { scale: randn([N, C]).mul(0.2), shift: randn([N, C]).mul(0.3) };
    for (const cl of [false, true]) {
      const xb = (cl ? x.contiguous('channels_last') : x).to('bfloat16');
      for (const f of [undefined, film]) {
        const ref = reference(xb, G, w, b, f);
        const y = F.groupNormSilu(xb, G, w, b, 1e-6, f ?? {});
        assert.equal(y.dtype, 'bfloat16');
        assert.equal(y.isContiguous(cl ? 'channels_last' : 'contiguous'), true, 'the input layout is kept');
        // bf16 keeps 8 bits: the output rounding alone is up to |y|·2^-9
        const bound = y.float().abs().mul(2 ** -8).add(1e-3);
        assert.ok(y.float().sub(ref).abs().le(bound).all().item(), `[${N},${C},${H},${W}] ${cl ? 'CL' : 'NCHW'} ${f ? 'FiLM' : ''}: max err ${y.float().sub(ref).abs().max().item()}`);
      }
    }
  }
})));

test('fp32 and gradients take the composed ops: exact in fp32, and gradients flow', () => tidy(() => {
  const x = randn([2, 32, 6, 6]), w = rand([32]).add(0.5), b = randn([32]);
  const same = noGrad(() => F.groupNormSilu(x, 8, w, b, 1e-5));
  assert.ok(same.equal(noGrad(() => F.silu(F.groupNorm(x, 8, w, b, 1e-5)))));
  const xb = x.to('bfloat16').requiresGrad_();
  F.groupNormSilu(xb, 8, w, b, 1e-5).float().sum().backward();
  assert.ok(xb.grad && xb.grad.abs().sum().item() > 0, 'bf16 input that needs a gradient gets one');
}));

test('bad shapes are refused with the op named', () => noGrad(() => tidy(() => {
  const x = randn([1, 30, 4, 4]).to('bfloat16');
  assert.throws(() => F.groupNormSilu(x, 8, null, null), /30 channels are not divisible by 8 groups/);
  assert.throws(() => F.groupNormSilu(randn([1, 32, 4, 4]).to('bfloat16'), 8, rand([16]), null), /weight and bias must have 32 values/);
})));
