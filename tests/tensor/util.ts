// Helpers shared by the tensor tests: golden tensors in any dtype, and exact comparisons.
import assert from 'node:assert/strict';
import { tensor, type Tensor, type DType } from '../../src/tensor_library.js';

/** A golden tensor as written by scripts/goldens/tensor_common.py. */
export interface GT { shape: number[]; dtype: string; data: number[] }

/** The golden as a Tensor of its own dtype (float32 / float64 / int64 ...), values exact. */
export function load(g: GT): Tensor {
  const dtype = g.dtype as DType;
  switch (dtype) {
    case 'float64': return tensor(Float64Array.from(g.data), { shape: g.shape });
    case 'int64': return tensor(BigInt64Array.from(g.data, (v) => BigInt(v)), { shape: g.shape });
    case 'int32': return tensor(Int32Array.from(g.data), { shape: g.shape });
    case 'float32': return tensor(Float32Array.from(g.data), { shape: g.shape });
    default: return tensor(Float32Array.from(g.data), { shape: g.shape, dtype });
  }
}

/** Elements as plain numbers (any dtype). */
export function values(t: Tensor): number[] {
  const d = t.data();
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') return Array.from(t.toFloat32Array());
  return Array.from(d as ArrayLike<number | bigint>, Number);
}

/** Same shape, dtype and bit-identical values as the golden. */
export function assertExact(t: Tensor, g: GT, msg = ''): void {
  assert.deepEqual(t.shape, g.shape, `${msg} shape`);
  assert.equal(t.dtype, g.dtype, `${msg} dtype`);
  assert.deepEqual(values(t), g.data, `${msg} values`);
}

/** Relative-plus-absolute closeness against a golden, with the shape checked too. */
export function assertNear(t: Tensor, g: GT, rtol: number, atol: number, msg = ''): void {
  assert.deepEqual(t.shape, g.shape, `${msg} shape`);
  const x = values(t);
  let worst = 0, at = -1;
  for (let i = 0; i < x.length; i++) {
    const err = Math.abs(x[i] - g.data[i]) - (atol + rtol * Math.abs(g.data[i]));
    if (!(err <= 0) && !(Number.isNaN(x[i]) && Number.isNaN(g.data[i]))) {
      if (at < 0 || err > worst) { worst = err; at = i; }
    }
  }
  if (at >= 0) assert.fail(`${msg}: at flat index ${at}: ${x[at]} vs golden ${g.data[at]} (rtol ${rtol}, atol ${atol})`);
}
