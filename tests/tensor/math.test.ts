// Elementwise arithmetic (with broadcasting), math functions, reductions, comparisons, printing:
// every expectation is computed here in plain JS from the same inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, tidy, type Tensor } from '../../src/tensor_library.js';
import { values } from './util.js';

const A = [[0.5, -1.25, 2], [3, 0.75, -0.5]]; // [2,3]
const B = [1.5, -2, 4]; // [3], broadcasts over rows
const C = [[2], [-3]]; // [2,1], broadcasts over columns
const f32 = Math.fround;

function close(t: Tensor, expect: number[], tol = 1e-6, msg = ''): void {
  const got = values(t);
  assert.equal(got.length, expect.length, `${msg} length`);
  got.forEach((g, i) => assert.ok(g === expect[i] || Math.abs(g - expect[i]) <= tol * Math.max(1, Math.abs(expect[i])) || (Number.isNaN(g) && Number.isNaN(expect[i])),
    `${msg}[${i}]: ${g} vs ${expect[i]}`));
}
/** Expected values of a broadcast binary op over [2,3]. */
const bcast = (f: (a: number, b: number) => number, b: (i: number, j: number) => number) =>
  A.flatMap((row, i) => row.map((a, j) => f(a, b(i, j))));

test('add/sub/mul/div/pow broadcast like numpy', () => tidy(() => {
  const a = tensor(A), b = tensor(B), c = tensor(C);
  const rowB = (_i: number, j: number) => B[j], colC = (i: number) => C[i][0];
  close(a.add(b), bcast((x, y) => x + y, rowB), 0, 'add');
  close(a.sub(c), bcast((x, y) => x - y, colC), 0, 'sub');
  close(a.add(b, 2), bcast((x, y) => x + 2 * y, rowB), 0, 'add alpha');
  close(a.mul(b), bcast((x, y) => x * y, rowB), 0, 'mul');
  close(a.div(c), bcast((x, y) => f32(x / y), colC), 0, 'div');
  close(b.unsqueeze(1).mul(b), [1.5, -2, 4].flatMap((x) => B.map((y) => x * y)), 0, 'outer via [3,1]×[3]');
  assert.deepEqual(c.add(b).shape, [2, 3]);
  close(a.add(1), A.flat().map((x) => x + 1), 0, 'scalar add');
  close(a.rsub(1), A.flat().map((x) => 1 - x), 0, 'rsub');
  close(a.pow(2), A.flat().map((x) => x * x), 0, 'pow scalar');
  close(a.abs().pow(b), bcast((x, y) => Math.abs(x) ** y, rowB), 1e-6, 'pow tensor');
  close(a.neg(), A.flat().map((x) => -x), 0, 'neg');
  assert.throws(() => a.add(tensor([1, 2])), /size of tensor a \(3\) must match/);
}));

test('exp/log/sqrt/tanh/sin/cos/sigmoid/clamp equal Math.* (float32 precision)', () => tidy(() => {
  const xs = [0.1, 0.5, 1, 2.5, 7, 20];
  const x = tensor(xs);
  close(x.exp(), xs.map(Math.exp), 1e-6, 'exp');
  close(x.log(), xs.map(Math.log), 1e-6, 'log');
  close(x.sqrt(), xs.map(Math.sqrt), 1e-6, 'sqrt');
  close(x.neg().tanh(), xs.map((v) => Math.tanh(-v)), 1e-6, 'tanh');
  close(x.sin(), xs.map(Math.sin), 1e-6, 'sin');
  close(x.cos(), xs.map(Math.cos), 1e-6, 'cos');
  close(x.sigmoid(), xs.map((v) => 1 / (1 + Math.exp(-v))), 1e-6, 'sigmoid');
  close(x.clamp(0.5, 5), xs.map((v) => f32(Math.min(5, Math.max(0.5, v)))), 0, 'clamp');
  close(x.clamp(null, 1), xs.map((v) => f32(Math.min(1, v))), 0, 'clamp max only');
  close(x.clamp(2), xs.map((v) => Math.max(2, v)), 0, 'clamp min only');
  close(tensor([-1, 0]).log(), [NaN, -Infinity], 0, 'log domain edges');
  close(tensor([-4]).sqrt(), [NaN], 0, 'sqrt of negative');
}));

test('float64 math is exact to double precision', () => tidy(() => {
  const xs = [0.3, 1.7, 12.25];
  const x = tensor(Float64Array.from(xs));
  close(x.exp(), xs.map(Math.exp), 1e-15, 'exp f64');
  close(x.log(), xs.map(Math.log), 1e-15, 'log f64');
  close(x.pow(1.5), xs.map((v) => v ** 1.5), 1e-15, 'pow f64');
}));

const M = [[1, 5, -2, 4], [3, -7, 0.5, 2], [6, 1, 1, -3]]; // [3,4]
const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
const mean = (v: number[]) => sum(v) / v.length;
const varOf = (v: number[], corr: number) => sum(v.map((x) => (x - mean(v)) ** 2)) / (v.length - corr);
const col = (j: number) => M.map((r) => r[j]);

test('sum/mean/var/std/max/min/norm over all, one dim, several dims, keepdim', () => tidy(() => {
  const m = tensor(M), all = M.flat();
  close(m.sum(), [sum(all)], 0, 'sum');
  close(m.sum(1), M.map(sum), 0, 'sum dim 1');
  assert.deepEqual(m.sum(0, true).shape, [1, 4]);
  close(m.sum([0, 1]), [sum(all)], 0, 'sum dims');
  close(m.mean(), [mean(all)], 1e-7, 'mean');
  close(m.mean(0), [0, 1, 2, 3].map((j) => mean(col(j))), 1e-7, 'mean dim 0');
  assert.deepEqual(m.mean(-1, true).shape, [3, 1]);
  close(m.var(), [varOf(all, 1)], 1e-6, 'var unbiased');
  close(m.var(1, { correction: 0 }), M.map((r) => varOf(r, 0)), 1e-6, 'var biased dim 1');
  assert.deepEqual(m.var(1, { keepdim: true }).shape, [3, 1]);
  close(m.std(0), [0, 1, 2, 3].map((j) => Math.sqrt(varOf(col(j), 1))), 1e-6, 'std dim 0');
  close(m.max(), [Math.max(...all)], 0, 'max');
  close(m.min(), [Math.min(...all)], 0, 'min');
  const mx = m.max(1);
  close(mx.values, M.map((r) => Math.max(...r)), 0, 'max dim values');
  assert.deepEqual(values(mx.indices), M.map((r) => r.indexOf(Math.max(...r))));
  assert.equal(mx.indices.dtype, 'int64');
  const mn = m.min(0, true);
  assert.deepEqual(mn.values.shape, [1, 4]);
  close(mn.values, [0, 1, 2, 3].map((j) => Math.min(...col(j))), 0, 'min dim 0');
  assert.deepEqual(values(mn.indices), [0, 1, 2, 3].map((j) => col(j).indexOf(Math.min(...col(j)))));
  close(m.norm(), [Math.hypot(...all)], 1e-6, 'L2 norm');
  close(m.norm(1, 1), M.map((r) => sum(r.map(Math.abs))), 1e-6, 'L1 norm dim 1');
  close(m.norm(2, [0], true), [0, 1, 2, 3].map((j) => Math.hypot(...col(j))), 1e-6, 'L2 norm dim 0');
  assert.deepEqual(m.norm(2, [0], true).shape, [1, 4]);
  close(m.norm(Infinity), [Math.max(...all.map(Math.abs))], 0, 'inf norm');
}));

test('comparisons, where-style selection and allclose', () => tidy(() => {
  const a = tensor([1, 2, 3]), b = tensor([1, 2.5, 2]);
  assert.deepEqual(a.gt(b).tolist(), [false, false, true]);
  assert.deepEqual(a.eq(2).tolist(), [false, true, false]);
  assert.equal(a.allclose(a.add(1e-7)), true);
  assert.equal(a.allclose(a.add(1e-3)), false);
  assert.equal(a.allclose(a.add(1e-3), 0, 2e-3), true, 'atol');
  assert.equal(tensor([100]).allclose(tensor([100.05]), 1e-3), true, 'rtol scales with |other|');
  assert.equal(tensor([NaN]).allclose(tensor([NaN])), false);
  assert.equal(tensor([NaN]).allclose(tensor([NaN]), 1e-5, 1e-8, true), true, 'equalNan');
  assert.equal(a.equal(a.clone()), true);
}));

test('toString shows dtype, shape and the values', () => tidy(() => {
  const s = tensor([[1.5, -2], [3.25, 4]]).toString();
  assert.match(s, /float32\[2, 2\]/);
  for (const v of ['1.5000', '-2.0000', '3.2500', '4.0000']) assert.ok(s.includes(v), `${v} in ${s}`);
  assert.match(tensor([7, 8], { dtype: 'int64' }).toString(), /int64\[2\][\s\S]*7[\s\S]*8/);
  const d = tensor([1]);
  d.dispose();
  assert.match(d.toString(), /disposed/);
}));

test('sort: ascending / descending values along a dim with the original indices', () => tidy(() => {
  const m = tensor(M);
  const asc = m.sort(1);
  close(asc.values, M.flatMap((r) => [...r].sort((a, b) => a - b)), 0, 'sort dim 1');
  // indices point at the sorted values (row 2 has a tie, so compare through gather, not indexOf)
  close(m.gather(1, asc.indices), values(asc.values), 0, 'sort indices');
  assert.deepEqual([...values(asc.indices)].sort(), [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
  const desc = m.sort(0, true);
  const cols = [0, 1, 2, 3].map((j) => col(j).sort((a, b) => b - a));
  close(desc.values, [0, 1, 2].flatMap((i) => cols.map((c) => c[i])), 0, 'sort dim 0 descending');
  assert.equal(desc.indices.dtype, 'int64');
}));
