// Making tensors: from JS data, filled, ranges, random (seeded through a Generator).
import { native } from './native.js';
import { dtypeCode, dtypeOfArray, type DType, type TypedArray } from './dtype.js';
import { nativeCall } from './dispatch.js';
import { Tensor, type NestedArray, type Shape } from './tensor.js';
import { A } from './ops/aten.js';
import type { Generator } from './generator.js';

export interface TensorOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let d: NestedArray = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    d = d[0];
  }
  return shape;
}

function flattenNested(data: NestedArray, shape: number[], out: (number | boolean)[], depth = 0): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new TypeError('tensor(): ragged nested array');
    if (typeof data !== 'number' && typeof data !== 'boolean') throw new TypeError(`tensor(): elements must be numbers or booleans, got ${typeof data}`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TypeError(`tensor(): ragged nested array (expected length ${shape[depth]} at depth ${depth})`);
  }
  for (const x of data) flattenNested(x, shape, out, depth + 1);
}

function fromFlat(values: (number | boolean)[], shape: number[], dtype: DType): Tensor {
  let arr: TypedArray;
  switch (dtype) {
    case 'float64': arr = Float64Array.from(values as number[]); break;
    case 'int64': arr = BigInt64Array.from(values as number[], (v) => BigInt(Math.trunc(Number(v)))); break;
    case 'int32': arr = Int32Array.from(values as number[]); break;
    case 'int16': arr = Int16Array.from(values as number[]); break;
    case 'int8': arr = Int8Array.from(values as number[]); break;
    case 'uint8': case 'bool': arr = Uint8Array.from(values as number[], (v) => Number(v)); break;
    default: arr = Float32Array.from(values as number[], (v) => Number(v));
  }
  const natDtype = dtype === 'float16' || dtype === 'bfloat16' ? 'float32' : dtype;
  const t = nativeCall('tensor', [shape], () => Tensor.fromHandle(native.fromBuffer(arr, dtypeCode(natDtype), shape)));
  if (natDtype === dtype) return t;
  const c = t.to(dtype);
  t.dispose();
  return c;
}

/**
 * A tensor from nested arrays, a TypedArray (with shape), or a number. Nested numbers default to
 * float32 (booleans to bool); TypedArrays keep their dtype unless one is given.
 */
export function tensor(data: NestedArray | TypedArray, opts: TensorOptions & { shape?: Shape } = {}): Tensor {
  let t: Tensor;
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    const shape = opts.shape ?? [arr.length];
    const natural = arr instanceof Uint16Array ? (opts.dtype ?? 'float16') : dtypeOfArray(arr);
    t = nativeCall('tensor', [shape], () => Tensor.fromHandle(native.fromBuffer(arr, dtypeCode(natural), shape)));
    if (opts.dtype && opts.dtype !== natural) {
      const c = t.to(opts.dtype);
      t.dispose();
      t = c;
    }
  } else {
    const shape = inferShape(data);
    const flat: (number | boolean)[] = [];
    flattenNested(data, shape, flat);
    const dtype = opts.dtype ?? (typeof flat[0] === 'boolean' ? 'bool' : 'float32');
    t = fromFlat(flat, opts.shape ?? shape, dtype);
  }
  return finish(t, opts);
}

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.device && opts.device !== 'cpu') {
    const m = t.to(opts.device);
    t.dispose();
    t = m;
  }
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

const dt = (o: TensorOptions) => dtypeCode(o.dtype ?? 'float32');
let defaultDevice: string | null = null;
const dev = (o: TensorOptions) => o.device ?? defaultDevice;

/**
 * Runs `fn` with new tensors created on `device` unless they name one: e.g. 'meta' builds a module's parameters as
 * shapes without memory, so a model's size can be checked against a file before anything is allocated.
 */
export function withDefaultDevice<T>(device: string, fn: () => T): T {
  const prev = defaultDevice;
  defaultDevice = device;
  try {
    return fn();
  } finally {
    defaultDevice = prev;
  }
}

export function zeros(shape: Shape, opts: TensorOptions = {}): Tensor { return finish(A.zeros(shape, dt(opts), null, dev(opts)), { requiresGrad: opts.requiresGrad }); }
export function ones(shape: Shape, opts: TensorOptions = {}): Tensor { return finish(A.ones(shape, dt(opts), null, dev(opts)), { requiresGrad: opts.requiresGrad }); }
export function empty(shape: Shape, opts: TensorOptions = {}): Tensor { return finish(A.empty(shape, dt(opts), null, dev(opts)), { requiresGrad: opts.requiresGrad }); }
export function full(shape: Shape, value: number, opts: TensorOptions = {}): Tensor { return finish(A.full(shape, value, dt(opts), null, dev(opts)), { requiresGrad: opts.requiresGrad }); }
export function zerosLike(t: Tensor): Tensor { return A.zerosLike(t); }
export function onesLike(t: Tensor): Tensor { return A.onesLike(t); }
export function fullLike(t: Tensor, v: number): Tensor { return A.fullLike(t, v); }
export function emptyLike(t: Tensor): Tensor { return A.emptyLike(t); }
export function scalar(v: number, opts: TensorOptions = {}): Tensor { return A.scalarTensor(v, dt(opts), null, dev(opts)); }
/** [start, end) by step; int64 when all three are integers (as torch.arange), else float32. */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  if (end === undefined) { end = start; start = 0; }
  const allInt = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const dtype = opts.dtype ?? (allInt ? 'int64' : 'float32');
  return A.arange(start, end, step, dtypeCode(dtype), null, dev(opts));
}
export function linspace(start: number, end: number, steps: number, opts: TensorOptions = {}): Tensor {
  return A.linspace({ float: start }, { float: end }, steps, dt(opts), null, dev(opts));
}
export function eye(n: number, opts: TensorOptions = {}): Tensor { return A.eye(n, dt(opts), null, dev(opts)); }

export interface RandomOptions extends TensorOptions { generator?: Generator }
const gen = (o: RandomOptions) => o.generator ?? null;

/** N(0, 1) samples; with a Generator, the same stream as torch.randn(..., generator=g). */
export function randn(shape: Shape, opts: RandomOptions = {}): Tensor {
  return finish(sharded(shape, opts.generator, (s) => A.randn(s, gen(opts), dt(opts), null, dev(opts))), { requiresGrad: opts.requiresGrad });
}
/** U[0, 1) samples. */
export function rand(shape: Shape, opts: RandomOptions = {}): Tensor {
  return finish(sharded(shape, opts.generator, (s) => A.rand(s, gen(opts), dt(opts), null, dev(opts))), { requiresGrad: opts.requiresGrad });
}

/** A batch-leading draw from a Generator with a batchShard: this rank's rows of the whole world's draw. */
function sharded(shape: Shape, g: Generator | undefined, draw: (shape: Shape) => Tensor): Tensor {
  const sh = g?.batchShard;
  if (!sh || shape.length === 0) return draw(shape);
  const [b, ...rest] = shape;
  const all = draw([b * sh.worldSize, ...rest]);
  const rows = all.view([b, sh.worldSize, ...rest]).select(1, sh.rank);
  const out = rows.contiguous();
  rows.dispose();
  all.dispose();
  return out;
}
/** Integers in [low, high), int64 by default. */
export function randint(low: number, high: number, shape: Shape, opts: RandomOptions = {}): Tensor {
  return A.randint(low, high, shape, gen(opts), dtypeCode(opts.dtype ?? 'int64'), null, dev(opts));
}
export function randperm(n: number, opts: RandomOptions = {}): Tensor { return A.randperm(n, gen(opts), dtypeCode(opts.dtype ?? 'int64'), null, dev(opts)); }
export function randnLike(t: Tensor, generator?: Generator): Tensor { return randn(t.shape, { dtype: t.dtype, device: t.device, generator }); }
export function randLike(t: Tensor, generator?: Generator): Tensor { return rand(t.shape, { dtype: t.dtype, device: t.device, generator }); }
/** Samples with N(mean, std) into a new tensor of this shape. */
export function normal(mean: number, std: number, shape: Shape, opts: RandomOptions = {}): Tensor {
  // fill first: in-place ops on a grad leaf are refused
  const t = sharded(shape, opts.generator, (s) => empty(s, { ...opts, requiresGrad: false }).normal_(mean, std, opts.generator));
  return finish(t, { requiresGrad: opts.requiresGrad });
}
/** Bernoulli(p) samples per element of a probability tensor (a batchShard draws for p repeated per rank). */
export function bernoulli(p: Tensor, generator?: Generator): Tensor {
  const sh = generator?.batchShard;
  if (!sh || p.ndim === 0) return A.bernoulli(p, generator ?? null);
  const [b, ...rest] = p.shape;
  const u = p.unsqueeze(1), e = u.expand([b, sh.worldSize, ...rest]), wide = e.reshape([b * sh.worldSize, ...rest]);
  try {
    return sharded(p.shape, generator, () => A.bernoulli(wide, generator ?? null));
  } finally { for (const t of [u, e, wide]) t.dispose(); }
}

// ------------------------------------------------------------- joining and selection
export function cat(tensors: Tensor[], dim = 0): Tensor { return A.cat(tensors, dim); }
export function stack(tensors: Tensor[], dim = 0): Tensor { return A.stack(tensors, dim); }
/** cond ? a : b elementwise (broadcasting). */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor { return A.where(cond, a, b); }
/** torch.einsum(equation, *operands). */
export function einsum(equation: string, ...operands: Tensor[]): Tensor { return A.einsum(equation, operands, null); }
