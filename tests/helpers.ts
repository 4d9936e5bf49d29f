// Shared test helpers: tolerance checks and golden files (made by scripts/goldens/*.py with python3-torch).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor, tensor, type NestedArray } from '../src/tensor_library.js';

/** Repository root (tests run from dist/tests). */
export const ROOT = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!d.endsWith('/dist') && d !== '/') d = dirname(d);
  return d === '/' ? process.cwd() : dirname(d);
})();

/** ../shared/fixtures/parity beside the repository (CI lays shared/ next to the clone). */
export const PARITY_DIR = process.env.FMBOOST_PARITY_DIR ?? join(ROOT, '..', 'shared', 'fixtures', 'parity');

export function golden<T = any>(name: string): T {
  return JSON.parse(readFileSync(join(ROOT, 'tests', 'goldens', name), 'utf8')) as T;
}

function flat(x: Tensor | NestedArray | ArrayLike<number>): number[] {
  if (x instanceof Tensor) return Array.from(x.toFloat32Array());
  if (Array.isArray(x)) return (x as unknown[]).flat(Infinity as 1) as number[];
  if (typeof x === 'number' || typeof x === 'boolean') return [Number(x)];
  return Array.from(x as ArrayLike<number>);
}

/** Largest |a − b| over all elements. */
export function maxAbsDiff(a: Tensor | NestedArray | ArrayLike<number>, b: Tensor | NestedArray | ArrayLike<number>): number {
  const x = flat(a), y = flat(b);
  assert.equal(x.length, y.length, `element counts differ: ${x.length} vs ${y.length}`);
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    if (Number.isNaN(d)) return Number.isNaN(x[i]) && Number.isNaN(y[i]) ? m : Infinity;
    if (d > m) m = d;
  }
  return m;
}

/** Asserts |a − b| ≤ atol + rtol·|b| elementwise (and equal shapes when both are tensors). */
export function assertClose(a: Tensor | NestedArray | ArrayLike<number>, b: Tensor | NestedArray | ArrayLike<number>, opts: { atol?: number; rtol?: number; msg?: string } = {}): void {
  const atol = opts.atol ?? 1e-5, rtol = opts.rtol ?? 1e-5;
  if (a instanceof Tensor && b instanceof Tensor) assert.deepEqual(a.shape, b.shape, `${opts.msg ?? ''} shapes differ`);
  const x = flat(a), y = flat(b);
  assert.equal(x.length, y.length, `${opts.msg ?? ''} element counts differ: ${x.length} vs ${y.length}`);
  for (let i = 0; i < x.length; i++) {
    const ok = Math.abs(x[i] - y[i]) <= atol + rtol * Math.abs(y[i]) || (Number.isNaN(x[i]) && Number.isNaN(y[i])) || x[i] === y[i];
    if (!ok) assert.fail(`${opts.msg ?? 'values differ'} at flat index ${i}: ${x[i]} vs ${y[i]} (atol ${atol}, rtol ${rtol}; max abs diff ${maxAbsDiff(x, y)})`);
  }
}

/** A float32 tensor from a golden entry {shape, data}. */
export function fromGolden(g: { shape: number[]; data: number[] }): Tensor {
  return tensor(Float32Array.from(g.data), { shape: g.shape });
}
