// torch.nn.functional ops against torch 1.13 goldens (scripts/goldens/tensor_functional.py):
// convolutions (stride, padding, dilation, groups), pooling, norms, activations, attention.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Generator, tidy, tensor } from '../../src/tensor_library.js';
import { golden } from '../helpers.js';
import { assertNear, load, type GT } from './util.js';

const G = golden<Record<string, any>>('tensor_functional.json');
const RT = 1e-5, AT = 1e-5;
const opt = (g: GT | null) => (g ? load(g) : null);

test('conv1d with stride, padding and groups', () => tidy(() => {
  const c = G.conv1d;
  assertNear(F.conv1d(load(c.x), load(c.w), load(c.b), { stride: c.stride, padding: c.padding, groups: c.groups }), c.y, RT, AT, 'conv1d');
}));

test('conv2d: bias / no bias, stride and padding per axis, dilation, groups, depthwise', () => tidy(() => {
  assert.equal(G.conv2d.length, 4);
  G.conv2d.forEach((c: any, i: number) => {
    const y = F.conv2d(load(c.x), load(c.w), opt(c.b), { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups });
    assertNear(y, c.y, RT, AT, `conv2d case ${i}`);
  });
}));

test('convTranspose2d with stride, padding, outputPadding and groups', () => tidy(() => {
  G.convTranspose2d.forEach((c: any, i: number) => {
    const y = F.convTranspose2d(load(c.x), load(c.w), load(c.b), { stride: c.stride, padding: c.padding, outputPadding: c.outputPadding, groups: c.groups });
    assertNear(y, c.y, RT, AT, `convTranspose2d case ${i}`);
  });
}));

test('avgPool2d: kernel, stride, padding, countIncludePad, ceilMode', () => tidy(() => {
  const x = load(G.avgPool2d.x);
  for (const c of G.avgPool2d.cases) {
    const y = F.avgPool2d(x, c.kernel, { ...(c.stride === null ? {} : { stride: c.stride }), padding: c.padding, ceilMode: c.ceilMode, countIncludePad: c.countIncludePad });
    assertNear(y, c.y, RT, 1e-6, `avgPool2d ${JSON.stringify({ ...c, y: undefined })}`);
  }
}));

test('groupNorm and layerNorm, with and without affine parameters', () => tidy(() => {
  const g = G.groupNorm;
  assertNear(F.groupNorm(load(g.x), g.groups, load(g.w), load(g.b)), g.y, RT, AT, 'groupNorm affine');
  assertNear(F.groupNorm(load(g.x), 2), g.yPlain, RT, AT, 'groupNorm plain');
  const l = G.layerNorm;
  assertNear(F.layerNorm(load(l.x), [5], load(l.w), load(l.b)), l.y, RT, AT, 'layerNorm affine');
  assertNear(F.layerNorm(load(l.x), [3, 5]), l.y2, RT, AT, 'layerNorm over 2 dims');
}));

test('linear with and without bias', () => tidy(() => {
  const l = G.linear;
  assertNear(F.linear(load(l.x), load(l.w), load(l.b)), l.y, RT, AT, 'linear');
  assertNear(F.linear(load(l.x), load(l.w)), l.yNoBias, RT, AT, 'linear no bias');
}));

test('silu, gelu (exact and tanh), softmax over each dim', () => tidy(() => {
  const a = G.activations;
  const x = load(a.x);
  assertNear(F.silu(x), a.silu, RT, 1e-6, 'silu');
  assertNear(F.gelu(x), a.gelu, RT, 1e-6, 'gelu');
  assertNear(F.gelu(x, 'tanh'), a.geluTanh, RT, 1e-6, 'gelu tanh');
  assertNear(F.softmax(x, -1), a.softmaxLast, RT, 1e-7, 'softmax -1');
  assertNear(F.softmax(x, 0), a.softmax0, RT, 1e-7, 'softmax 0');
  // Closed forms too: silu(x) = x·σ(x); softmax rows sum to one.
  const xs = Array.from(x.toFloat32Array()), s = Array.from(F.silu(x).toFloat32Array());
  xs.forEach((v, i) => assert.ok(Math.abs(s[i] - v / (1 + Math.exp(-v))) < 1e-5));
  for (const r of F.softmax(x, -1).sum(-1).tolist() as number[]) assert.ok(Math.abs(r - 1) < 1e-6);
}));

test('scaledDotProductAttention: plain, bool mask, additive mask, causal (vs float64 reference)', () => tidy(() => {
  const s = G.sdpa;
  const q = load(s.q), k = load(s.k), v = load(s.v);
  assertNear(F.scaledDotProductAttention(q, k, v), s.plain, RT, AT, 'plain');
  assertNear(F.scaledDotProductAttention(q, k, v, { mask: load(s.boolMask) }), s.withBoolMask, RT, AT, 'bool mask');
  assertNear(F.scaledDotProductAttention(q, k, v, { mask: load(s.floatMask) }), s.withFloatMask, RT, AT, 'float mask');
  assertNear(F.scaledDotProductAttention(load(s.q2), load(s.k2), load(s.v2), { isCausal: true }), s.causal, RT, AT, 'causal');
  // An explicit scale equal to the default gives the same result.
  assertNear(F.scaledDotProductAttention(q, k, v, { scale: 1 / Math.sqrt(8) }), s.plain, RT, AT, 'explicit scale');
}));

test('dropout: eval is the identity, training scales kept values by 1/(1-p) at keep rate ≈ 1-p', () => tidy(() => {
  const x = tensor(Float32Array.from({ length: 20000 }, (_, i) => 1 + (i % 7)), { shape: [100, 200] });
  const ev = F.dropout(x, 0.4, false);
  assert.ok(ev.equal(x));
  const y = F.dropout(x, 0.4, true);
  const xv = x.toFloat32Array(), yv = y.toFloat32Array();
  let kept = 0;
  for (let i = 0; i < xv.length; i++) {
    if (yv[i] !== 0) {
      kept++;
      assert.ok(Math.abs(yv[i] - xv[i] / 0.6) < 1e-5, `kept value ${yv[i]} should be ${xv[i] / 0.6}`);
    }
  }
  // Binomial(20000, 0.6): sd ≈ 69, so ±500 is > 7 sd.
  assert.ok(Math.abs(kept - 12000) < 500, `kept ${kept} of 20000 at p=0.4`);
  assert.ok(F.dropout(x, 0, true).equal(x), 'p = 0 keeps all');
  assert.equal(F.dropout(x, 1, true).abs().sum().item(), 0, 'p = 1 drops all');
  assert.equal(F.dropout(x, 1, true, new Generator(3)).abs().sum().item(), 0, 'p = 1 with a Generator drops all (no NaN)');
  const yg = F.dropout(x, 0.4, true, new Generator(3)).toFloat32Array();
  const keptG = yg.filter((v) => v !== 0).length;
  assert.ok(Math.abs(keptG - 12000) < 500, `Generator path kept ${keptG} of 20000 at p=0.4`);
  assert.throws(() => F.dropout(x, 1.5, true), RangeError);
}));
