// Shape ops on x[i][j][k] = 100i + 10j + k, so every expected element is a closed form of its index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, cat, stack, F, tidy, type Tensor } from '../../src/tensor_library.js';
import { values } from './util.js';

const idx3 = (I: number, J: number, K: number) =>
  Array.from({ length: I }, (_, i) => Array.from({ length: J }, (_, j) => Array.from({ length: K }, (_, k) => 100 * i + 10 * j + k)));
const X = () => tensor(idx3(2, 3, 4)); // [2,3,4]

/** Builds a nested array of the given shape from f(index). */
function build(shape: number[], f: (ix: number[]) => number, pre: number[] = []): any {
  if (pre.length === shape.length) return f(pre);
  return Array.from({ length: shape[pre.length] }, (_, i) => build(shape, f, [...pre, i]));
}
const val = (ix: number[]) => 100 * ix[0] + 10 * ix[1] + ix[2];

test('reshape / view / flatten keep row-major order; view shares storage', () => tidy(() => {
  const x = X();
  const flat = idx3(2, 3, 4).flat(2);
  assert.deepEqual(values(x.reshape(4, 6)), flat);
  assert.deepEqual(x.reshape([6, -1]).shape, [6, 4]);
  assert.deepEqual(x.flatten().shape, [24]);
  assert.deepEqual(x.flatten(1).shape, [2, 12]);
  assert.deepEqual(values(x.flatten(0, 1)), flat);
  const v = x.view(24);
  v.mul_(2);
  assert.equal(x.select(0, 1).select(0, 2).select(0, 3).item(), 2 * 123, 'view writes through to the base');
  assert.throws(() => x.transpose(0, 2).view(24), /view/);
}));

test('permute / transpose move axes: y[a][b][c] = x at the permuted index', () => tidy(() => {
  const x = X();
  assert.deepEqual(x.permute(2, 0, 1).tolist(), build([4, 2, 3], ([k, i, j]) => val([i, j, k])));
  assert.deepEqual(x.permute([1, 2, 0]).tolist(), build([3, 4, 2], ([j, k, i]) => val([i, j, k])));
  assert.deepEqual(x.transpose(0, 2).tolist(), build([4, 3, 2], ([k, j, i]) => val([i, j, k])));
  assert.deepEqual(x.transpose(-1, -2).shape, [2, 4, 3]);
  assert.equal(x.transpose(0, 1).isContiguous(), false);
}));

test('cat / stack along each dim', () => tidy(() => {
  const a = tensor([[1, 2], [3, 4]]), b = tensor([[5, 6]]);
  assert.deepEqual(cat([a, b]).tolist(), [[1, 2], [3, 4], [5, 6]]);
  assert.deepEqual(cat([a, a], 1).tolist(), [[1, 2, 1, 2], [3, 4, 3, 4]]);
  assert.deepEqual(cat([a, a], -1).shape, [2, 4]);
  assert.deepEqual(stack([a, a.mul(10)]).tolist(), [[[1, 2], [3, 4]], [[10, 20], [30, 40]]]);
  assert.deepEqual(stack([a, a.mul(10)], 2).tolist(), [[[1, 10], [2, 20]], [[3, 30], [4, 40]]]);
  assert.throws(() => stack([a, b]), /stack/);
}));

test('chunk / split (even, uneven, by sizes)', () => tidy(() => {
  const x = tensor([0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(x.chunk(3).map((t) => t.tolist()), [[0, 1, 2], [3, 4, 5], [6]]);
  assert.deepEqual(x.split(2).map((t) => t.tolist()), [[0, 1], [2, 3], [4, 5], [6]]);
  assert.deepEqual(x.split([1, 4, 2]).map((t) => t.tolist()), [[0], [1, 2, 3, 4], [5, 6]]);
  const y = X();
  const parts = y.chunk(2, 2);
  assert.deepEqual(parts[1].tolist(), build([2, 3, 2], ([i, j, k]) => val([i, j, k + 2])));
  assert.throws(() => x.split([1, 2]), /split/);
}));

test('narrow / slice / select / indexSelect pick the right elements', () => tidy(() => {
  const x = X();
  assert.deepEqual(x.narrow(1, 1, 2).tolist(), build([2, 2, 4], ([i, j, k]) => val([i, j + 1, k])));
  assert.deepEqual(x.slice(2, 1, null, 2).tolist(), build([2, 3, 2], ([i, j, k]) => val([i, j, 1 + 2 * k])));
  assert.deepEqual(x.slice(2, -2).tolist(), build([2, 3, 2], ([i, j, k]) => val([i, j, 2 + k])));
  assert.deepEqual(x.select(1, 2).tolist(), build([2, 4], ([i, k]) => val([i, 2, k])));
  assert.deepEqual(x.select(-1, -1).tolist(), build([2, 3], ([i, j]) => val([i, j, 3])));
  const ix = tensor([2, 0, 2], { dtype: 'int64' });
  assert.deepEqual(x.indexSelect(1, ix).tolist(), build([2, 3, 4], ([i, j, k]) => val([i, [2, 0, 2][j], k])));
  assert.deepEqual(x.indexSelect(2, tensor([3], { dtype: 'int32' })).tolist(), build([2, 3, 1], ([i, j]) => val([i, j, 3])));
}));

test('pad: constant, reflect, replicate on the last dims (closed forms)', () => tidy(() => {
  const x = tensor([[[1, 2, 3], [4, 5, 6]]]); // [1,2,3]
  assert.deepEqual(F.pad(x, [1, 2]).tolist(), [[[0, 1, 2, 3, 0, 0], [0, 4, 5, 6, 0, 0]]]);
  assert.deepEqual(F.pad(x, [0, 1, 1, 0], 'constant', -1).tolist(), [[[-1, -1, -1, -1], [1, 2, 3, -1], [4, 5, 6, -1]]]);
  assert.deepEqual(F.pad(x, [2, 1], 'reflect').tolist(), [[[3, 2, 1, 2, 3, 2], [6, 5, 4, 5, 6, 5]]]);
  assert.deepEqual(F.pad(x, [1, 2], 'replicate').tolist(), [[[1, 1, 2, 3, 3, 3], [4, 4, 5, 6, 6, 6]]]);
  const img = tensor([[[[1, 2], [3, 4]]]]); // [1,1,2,2]
  assert.deepEqual(F.pad(img, [1, 1, 1, 1], 'replicate').tolist(), [[[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]]);
  assert.deepEqual(F.pad(img, [1, 0, 1, 0], 'reflect').tolist(), [[[[4, 3, 4], [2, 1, 2], [4, 3, 4]]]]);
  assert.throws(() => F.pad(x, [1]), RangeError);
  assert.throws(() => F.pad(x, [3, 3], 'reflect'), /pad|reflect/i, 'reflect padding must be smaller than the dim');
}));

test('squeeze / unsqueeze / expand / flip', () => tidy(() => {
  const x = tensor([[1, 2, 3]]);
  assert.deepEqual(x.squeeze().shape, [3]);
  assert.deepEqual(x.unsqueeze(-1).shape, [1, 3, 1]);
  assert.deepEqual(x.expand(2, 3).tolist(), [[1, 2, 3], [1, 2, 3]]);
  assert.deepEqual(x.flip(1).tolist(), [[3, 2, 1]]);
  const views: Tensor[] = [x.reshape(3), x.unsqueeze(0), x.expand(4, 3)];
  for (const v of views) assert.equal(v.dtype, 'float32');
}));
