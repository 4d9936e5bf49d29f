// Creating tensors: every dtype round-trips bit for bit from TypedArrays and nested arrays;
// filled and range constructors equal their closed forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, zeros, ones, full, empty, randn, normal, arange, linspace, eye, scalar, tidy, TorchError, type DType, type TypedArray } from '../../src/tensor_library.js';
import { values } from './util.js';

/** Bytes of a TypedArray, to compare bit patterns (NaN payloads, −0). */
const bytes = (a: TypedArray) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const ROUND_TRIP: [DType, TypedArray][] = [
  ['float32', Float32Array.from([0, -0, 1 / 3, -1.5e-45, 3.4028234663852886e38, Infinity, -Infinity, NaN])],
  // float16 / bfloat16 travel as raw bits: +0, −0, 1, smallest subnormal, max, inf, NaN, −2.5.
  ['float16', Uint16Array.from([0x0000, 0x8000, 0x3c00, 0x0001, 0x7bff, 0x7c00, 0x7e00, 0xc100])],
  ['bfloat16', Uint16Array.from([0x0000, 0x8000, 0x3f80, 0x0001, 0x7f7f, 0x7f80, 0x7fc0, 0xc020])],
  ['float64', Float64Array.from([0, -0, 0.1, Number.MIN_VALUE, Number.MAX_VALUE, -Infinity, NaN, Math.PI])],
  ['int64', BigInt64Array.from([0n, -1n, 2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n, 42n])],
  ['int32', Int32Array.from([0, -1, 2147483647, -2147483648, 7, 123456])],
  ['uint8', Uint8Array.from([0, 1, 127, 128, 255, 9])],
  ['bool', Uint8Array.from([1, 0, 0, 1, 1, 0])],
];

test('TypedArray → tensor → data() is bit-exact for every dtype', () => tidy(() => {
  for (const [dtype, arr] of ROUND_TRIP) {
    const shape = arr.length % 2 === 0 ? [2, arr.length / 2] : [arr.length];
    const t = tensor(arr, { shape, dtype });
    assert.equal(t.dtype, dtype);
    assert.deepEqual(t.shape, shape);
    const back = t.data();
    assert.equal(back.constructor, arr.constructor, `${dtype} comes back as ${arr.constructor.name}`);
    assert.ok(bytes(back).equals(bytes(arr)), `${dtype} bits differ: ${bytes(back).toString('hex')} vs ${bytes(arr).toString('hex')}`);
  }
}));

test('nested arrays keep values in each dtype (float16/bfloat16 round to nearest even)', () => tidy(() => {
  const cases: [DType, number[], number[]][] = [
    ['float32', [0.5, -2, 1e-3], [0.5, -2, Math.fround(1e-3)]],
    ['float64', [0.1, -2, 1e-300], [0.1, -2, 1e-300]],
    ['int64', [1, -2, 2 ** 40], [1, -2, 2 ** 40]],
    ['int32', [1, -2, 2 ** 30], [1, -2, 2 ** 30]],
    ['uint8', [0, 200, 255], [0, 200, 255]],
  ];
  for (const [dtype, input, expect] of cases) {
    const t = tensor([input, input], { dtype });
    assert.equal(t.dtype, dtype);
    assert.deepEqual(t.tolist(), [expect, expect], dtype);
  }
  // IEEE binary16: 0.1 → 0x2e66, 1/3 → 0x3555, 65504 → 0x7bff (max), 70000 → +inf (0x7c00).
  assert.deepEqual(Array.from(tensor([0.1, 1 / 3, 65504, 70000], { dtype: 'float16' }).data() as Uint16Array), [0x2e66, 0x3555, 0x7bff, 0x7c00]);
  // bfloat16 keeps the top 16 bits of float32, rounded: 0.1 (0x3dcccccd) → 0x3dcd, 1/3 (0x3eaaaaab) → 0x3eab.
  assert.deepEqual(Array.from(tensor([0.1, 1 / 3], { dtype: 'bfloat16' }).data() as Uint16Array), [0x3dcd, 0x3eab]);
  const b = tensor([[true, false], [false, true]]);
  assert.equal(b.dtype, 'bool');
  assert.deepEqual(b.tolist(), [[true, false], [false, true]]);
  assert.equal(tensor([[1, 2, 3]]).dtype, 'float32', 'numbers default to float32');
  assert.deepEqual(tensor(2.5).shape, []);
  assert.equal(tensor(2.5).item(), 2.5);
  assert.deepEqual(tensor([[], []]).shape, [2, 0]);
}));

test('a TypedArray keeps its dtype unless one is given (then it is cast)', () => tidy(() => {
  assert.equal(tensor(Int32Array.from([1, 2])).dtype, 'int32');
  assert.equal(tensor(new BigInt64Array(3)).dtype, 'int64');
  const c = tensor(Float32Array.from([1.7, -2.2]), { dtype: 'int64' });
  assert.equal(c.dtype, 'int64');
  assert.deepEqual(c.tolist(), [1, -2], 'float → int truncates toward zero');
}));

test('zeros / ones / full / scalar / eye', () => tidy(() => {
  assert.deepEqual(zeros([2, 3]).tolist(), [[0, 0, 0], [0, 0, 0]]);
  assert.deepEqual(ones([2], { dtype: 'int64' }).data(), BigInt64Array.from([1n, 1n]));
  const f = full([2, 2], 7.25, { dtype: 'float64' });
  assert.equal(f.dtype, 'float64');
  assert.deepEqual(f.tolist(), [[7.25, 7.25], [7.25, 7.25]]);
  assert.equal(scalar(3, { dtype: 'int32' }).item(), 3);
  assert.deepEqual(eye(3).tolist(), [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  assert.equal(eye(2, { dtype: 'bool' }).dtype, 'bool');
  assert.equal(ones([2], { requiresGrad: true }).requiresGrad, true);
  for (const t of [zeros([2], { requiresGrad: true }), full([2], 1, { requiresGrad: true }), empty([2], { requiresGrad: true }),
    randn([2], { requiresGrad: true }), normal(0, 1, [2], { requiresGrad: true })]) {
    assert.equal(t.requiresGrad, true);
    assert.equal(t.isLeaf, true);
  }
}));

test('arange and linspace equal their closed forms', () => tidy(() => {
  const a = arange(5);
  assert.equal(a.dtype, 'int64', 'integer arguments give int64 like torch.arange');
  assert.deepEqual(values(a), [0, 1, 2, 3, 4]);
  assert.deepEqual(values(arange(2, 11, 3)), [2, 5, 8]);
  assert.deepEqual(values(arange(3, 0, -1)), [3, 2, 1]);
  const fa = arange(1, 2, 0.25);
  assert.equal(fa.dtype, 'float32');
  assert.deepEqual(values(fa), [1, 1.25, 1.5, 1.75]);
  // ceil((2 − 1) / 0.3) = 4 elements, start + i·step.
  assert.deepEqual(values(arange(1, 2, 0.3)), [0, 1, 2, 3].map((i) => Math.fround(1 + i * 0.3)));
  assert.equal(arange(4, undefined, 1, { dtype: 'float64' }).dtype, 'float64');
  assert.deepEqual(values(linspace(-1, 1, 5)), [-1, -0.5, 0, 0.5, 1]);
  const l = linspace(0, 1, 11, { dtype: 'float64' });
  values(l).forEach((v, i) => assert.ok(Math.abs(v - i / 10) < 1e-15));
  assert.deepEqual(values(linspace(3, 3, 1)), [3]);
}));

test('bad creation input throws typed errors', () => {
  assert.throws(() => tensor([[1, 2], [3]]), (e: Error) => e instanceof TypeError && /ragged/.test(e.message));
  assert.throws(() => tensor([1, [2]] as never), (e: Error) => e instanceof TypeError && /ragged/.test(e.message));
  assert.throws(() => tensor(['a'] as never), TypeError);
  assert.throws(() => tensor([1, 2], { dtype: 'complex64' as DType }), (e: Error) => e instanceof TypeError && /unknown dtype 'complex64'/.test(e.message));
  assert.throws(() => zeros([2], { dtype: 'float8' as DType }), TypeError);
  assert.throws(() => tensor(new Float32Array(4), { shape: [3] }), (e: Error) => e instanceof TorchError && /\[3\]/.test(e.message));
  assert.throws(() => tensor([1, 2, 3], { shape: [2, 2] }), TorchError);
  assert.deepEqual(tidy(() => tensor([1, 2]).add(1).tolist()), [2, 3], 'still working after the errors');
});
