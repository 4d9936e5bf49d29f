// matmul / bmm / einsum against naive triple loops in float64 JS over the same inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randn, einsum, Generator, tidy, type Tensor } from '../../src/tensor_library.js';
import { values } from './util.js';

/** C[b] = A[b] · B[b] for row-major flat batches. */
function refBmm(a: number[], b: number[], batch: number, n: number, k: number, m: number, bBatched = true): number[] {
  const out: number[] = [];
  for (let z = 0; z < batch; z++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[z * n * k + i * k + p] * b[(bBatched ? z * k * m : 0) + p * m + j];
        out.push(s);
      }
    }
  }
  return out;
}

function near(t: Tensor, expect: number[], shape: number[], msg: string): void {
  assert.deepEqual(t.shape, shape, `${msg} shape`);
  const got = values(t);
  got.forEach((g, i) => assert.ok(Math.abs(g - expect[i]) <= 1e-5 * (1 + Math.abs(expect[i])), `${msg}[${i}]: ${g} vs ${expect[i]}`));
}

test('matmul: 2-D, matrix·vector, batched with broadcasting', () => tidy(() => {
  const g = new Generator(0);
  const a = randn([3, 5], { generator: g }), b = randn([5, 4], { generator: g });
  near(a.matmul(b), refBmm(values(a), values(b), 1, 3, 5, 4), [3, 4], 'mm');
  near(a.mm(b), refBmm(values(a), values(b), 1, 3, 5, 4), [3, 4], 'mm method');
  const v = randn([5], { generator: g });
  near(a.matmul(v), refBmm(values(a), values(v), 1, 3, 5, 1), [3], 'matrix·vector');
  const ba = randn([2, 3, 5], { generator: g });
  near(ba.matmul(b), refBmm(values(ba), values(b), 2, 3, 5, 4, false), [2, 3, 4], 'batched · broadcast matrix');
}));

test('bmm equals per-batch products', () => tidy(() => {
  const g = new Generator(1);
  const a = randn([4, 2, 3], { generator: g }), b = randn([4, 3, 6], { generator: g });
  near(a.bmm(b), refBmm(values(a), values(b), 4, 2, 3, 6), [4, 2, 6], 'bmm');
}));

test('einsum: matmul, batched matmul, transpose, trace-free contraction, outer product', () => tidy(() => {
  const g = new Generator(2);
  const a = randn([3, 5], { generator: g }), b = randn([5, 4], { generator: g });
  near(einsum('ij,jk->ik', a, b), refBmm(values(a), values(b), 1, 3, 5, 4), [3, 4], 'ij,jk->ik');
  const x = randn([2, 3, 4], { generator: g }), y = randn([2, 5, 4], { generator: g });
  // bij,bkj->bik is x · yᵀ per batch.
  const yt: number[] = [];
  const yv = values(y);
  for (let z = 0; z < 2; z++) for (let j = 0; j < 4; j++) for (let k = 0; k < 5; k++) yt.push(yv[z * 20 + k * 4 + j]);
  near(einsum('bij,bkj->bik', x, y), refBmm(values(x), yt, 2, 3, 4, 5), [2, 3, 5], 'bij,bkj->bik');
  const av = values(a);
  near(einsum('ij->ji', a), [0, 1, 2, 3, 4].flatMap((j) => [0, 1, 2].map((i) => av[i * 5 + j])), [5, 3], 'ij->ji');
  near(einsum('ij->', a), [av.reduce((s, v) => s + v, 0)], [], 'ij->');
  const u = values(a.select(0, 0)), w = values(b.select(1, 0));
  near(einsum('i,j->ij', a.select(0, 0), b.select(1, 0)), u.flatMap((p) => w.map((q) => p * q)), [5, 5], 'outer');
}));

test('matmul shape and dtype errors name the op and the inputs', () => tidy(() => {
  const a = randn([2, 3]);
  assert.throws(() => a.matmul(randn([2, 3])), /aten::matmul\(float32\[2,3\], float32\[2,3\]\).*cannot be multiplied/);
  assert.throws(() => a.bmm(randn([2, 3, 4])), /aten::bmm/);
  assert.throws(() => einsum('ij,jk->ik', a, randn([4, 2])), /aten::einsum/);
}));
