// The Tensor: a handle to a libtorch tensor, with PyTorch's methods (camelCase where PyTorch has
// snake_case). Every op returns a new Tensor registered in the current memory scope.
import { native } from './native.js';
import { dtypeCode, dtypeName, typedArrayFor, type DType, type TypedArray } from './dtype.js';
import { track } from './scope.js';
import { DisposedTensorError, TorchError } from './errors.js';
import { nativeCall, describeArgs, registerResultWrapper, type OpValue } from './dispatch.js';
import { A } from './ops/aten.js';
import type { Generator } from './generator.js';

/** Memory layouts of 4-D tensors (c10::MemoryFormat): NCHW, or channels_last (NHWC strides, what oneDNN's fast
 *  convolutions want). Shapes stay NCHW either way. */
export type MemoryFormat = 'contiguous' | 'channels_last';
const MEMORY_FORMAT = { contiguous: 0, channels_last: 2 } as const;

/** c10's is_channels_last_strides_2d_s4 for a dense tensor: strides of NHWC order, size-1 dims free. */
function isChannelsLast(shape: number[], strides: number[]): boolean {
  if (shape.length !== 4) return false;
  let expected = 1;
  for (const d of [1, 3, 2, 0]) {
    if (shape[d] !== 1 && strides[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

export type Shape = number[];
export type Scalar = number | boolean;
export type TensorLike = Tensor | number;
/** Nested JS arrays of numbers or booleans. */
export type NestedArray = number | boolean | NestedArray[];

const inspect = Symbol.for('nodejs.util.inspect.custom');

export class Tensor implements OpValue {
  private _h: unknown;
  private _shape: Shape | undefined;
  private _dtype: DType | undefined;

  private constructor(handle: unknown) {
    this._h = handle;
    track(this);
  }

  /** @internal Wraps a native handle (from the addon) in a Tensor. */
  static fromHandle(h: unknown): Tensor {
    return new Tensor(h);
  }

  /** @internal The native handle, checked. */
  get handle(): unknown {
    if (this._h === null) throw new DisposedTensorError('handle', '<disposed>');
    return this._h;
  }
  /** @internal The handle for an op call; the addon itself reports a disposed tensor with the op's name. */
  handleForOp(): unknown {
    return this._h;
  }
  /** @internal How an op's error message shows this input. */
  describeForOp(): string {
    return this.isDisposed ? '<disposed>' : `${this.dtype}[${this.shape.join(',')}]`;
  }

  // ---------------------------------------------------------------- memory
  /** Releases the native memory now. Idempotent. */
  dispose(): void {
    if (this._h !== null) {
      native.dispose(this._h);
      this._h = null;
    }
  }
  get isDisposed(): boolean {
    return this._h === null;
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---------------------------------------------------------------- attributes
  get shape(): Shape {
    if (this._shape === undefined) this._shape = nativeCall('shape', [this], () => native.shape(this.handle));
    return this._shape.slice();
  }
  get dtype(): DType {
    if (this._dtype === undefined) this._dtype = dtypeName(nativeCall('dtype', [this], () => native.dtype(this.handle)));
    return this._dtype;
  }
  get device(): string {
    return nativeCall('device', [this], () => native.device(this.handle));
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  size(dim?: number): number {
    const s = this.shape;
    if (dim === undefined) return s.reduce((a, b) => a * b, 1);
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) throw new RangeError(`size(${dim}): tensor has ${s.length} dims`);
    return s[d];
  }
  get strides(): number[] {
    return nativeCall('strides', [this], () => native.strides(this.handle));
  }
  /** Dense in the given memory format: 'contiguous' (NCHW row-major, the default) or 'channels_last' (NHWC strides). */
  isContiguous(format: MemoryFormat = 'contiguous'): boolean {
    if (format === 'channels_last') return isChannelsLast(this.shape, this.strides);
    return nativeCall('isContiguous', [this], () => native.isContiguous(this.handle));
  }
  /** True when both share the same underlying tensor object. */
  isSame(other: Tensor): boolean {
    return native.sameTensor(this.handle, other.handle);
  }

  // ---------------------------------------------------------------- data out
  /** The elements as a TypedArray (contiguous copy; float16/bfloat16 as raw Uint16Array bits). */
  data(): TypedArray {
    const buf = nativeCall('data', [this], () => native.toBuffer(this.handle));
    return typedArrayFor(this.dtype, buf);
  }
  /** Float32 copy of the elements (converts any dtype). */
  toFloat32Array(): Float32Array {
    if (this.dtype === 'float32') return this.data() as Float32Array;
    const f = this.to('float32');
    try {
      return f.data() as Float32Array;
    } finally {
      f.dispose();
    }
  }
  /** The raw bytes (contiguous copy). */
  bytes(): Buffer {
    return Buffer.from(nativeCall('bytes', [this], () => native.toBuffer(this.handle)));
  }
  /** Nested arrays like tensor.tolist(). int64 comes back as numbers. */
  tolist(): NestedArray {
    const s = this.shape;
    let flat: ArrayLike<number | bigint>;
    if (this.dtype === 'float16' || this.dtype === 'bfloat16') flat = this.toFloat32Array();
    else flat = this.data() as ArrayLike<number | bigint>;
    const isBool = this.dtype === 'bool';
    const conv = (v: number | bigint): number | boolean => (isBool ? v !== 0 : Number(v));
    if (s.length === 0) return conv(flat[0]);
    let i = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let k = 0; k < s[d]; k++) out.push(d === s.length - 1 ? conv(flat[i++]) : build(d + 1));
      return out;
    };
    return build(0);
  }
  /** The single element as a number (boolean for bool tensors). */
  item(): number {
    return nativeCall('item', [this], () => native.item(this.handle)) as number;
  }
  toString(): string {
    if (this.isDisposed) return 'Tensor(<disposed>)';
    return `tensor(${this.dtype}[${this.shape.join(', ')}], ${this.device})\n${native.toString(this.handle)}`;
  }
  [inspect](): string {
    return this.toString();
  }

  // ---------------------------------------------------------------- autograd
  get requiresGrad(): boolean {
    return nativeCall('requiresGrad', [this], () => native.meta(this.handle)[3]);
  }
  /** Sets requires_grad in place (leaf tensors) and returns this. */
  requiresGrad_(flag = true): this {
    nativeCall('requires_grad_', [this], () => native.setRequiresGrad(this.handle, flag));
    return this;
  }
  /** The accumulated gradient (a new handle each access, owned by the caller's scope), or null. */
  get grad(): Tensor | null {
    const h = nativeCall('grad', [this], () => native.grad(this.handle));
    return h === null ? null : Tensor.fromHandle(h);
  }
  set grad(g: Tensor | null) {
    nativeCall('setGrad', [this, g], () => {
      // libtorch's C++ setter does not check what Python's does; a mismatched grad would break the optimizer later.
      if (g !== null && (g.dtype !== this.dtype || g.shape.join() !== this.shape.join())) {
        throw new TorchError('setGrad', describeArgs([this, g]), 'assigned grad must have the tensor\'s dtype and shape');
      }
      native.setGrad(this.handle, g === null ? null : g.handle);
    });
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }
  get hasGradFn(): boolean {
    return native.hasGradFn(this.handle);
  }
  /** True for tensors made inside inferenceMode (they can never be recorded by autograd). */
  get isInference(): boolean {
    return nativeCall('isInference', [this], () => native.isInferenceTensor(this.handle));
  }
  /** Backpropagates from this tensor (a scalar unless `gradient` is given). */
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    nativeCall('backward', [this], () =>
      native.backward([this.handle], gradient ? [gradient.handle] : null, opts.retainGraph ?? false, opts.createGraph ?? false));
  }
  detach(): Tensor { return A.detach(this); }
  /** A new handle on the same tensor (shares data and autograd history). */
  alias(): Tensor { return A.alias(this); }

  // ---------------------------------------------------------------- conversions
  /** Casts to a dtype or moves to a device ('cpu', 'cuda', 'cuda:1'). */
  to(target: DType | string, opts: { copy?: boolean } = {}): Tensor {
    if (target === 'cpu' || target.startsWith('cuda')) return A.toDevice(this, target, dtypeCode(this.dtype), false, opts.copy ?? false);
    return A.toDtype(this, dtypeCode(target as DType), false, opts.copy ?? false);
  }
  float(): Tensor { return this.to('float32'); }
  half(): Tensor { return this.to('float16'); }
  bfloat16(): Tensor { return this.to('bfloat16'); }
  long(): Tensor { return this.to('int64'); }
  int(): Tensor { return this.to('int32'); }
  bool(): Tensor { return this.to('bool'); }
  cpu(): Tensor { return this.to('cpu'); }
  clone(): Tensor { return A.clone(this); }
  /** A dense copy in the memory format (or this tensor's storage when it already is); channels_last needs 4 dims. */
  contiguous(format: MemoryFormat = 'contiguous'): Tensor { return A.contiguous(this, MEMORY_FORMAT[format]); }

  // ---------------------------------------------------------------- arithmetic (broadcasting)
  add(o: TensorLike, alpha = 1): Tensor { return typeof o === 'number' ? A.addS(this, o, alpha) : A.add(this, o, alpha); }
  sub(o: TensorLike, alpha = 1): Tensor { return typeof o === 'number' ? A.subS(this, o, alpha) : A.sub(this, o, alpha); }
  /** o - this */
  rsub(o: number): Tensor { return A.rsubS(this, o); }
  mul(o: TensorLike): Tensor { return typeof o === 'number' ? A.mulS(this, o) : A.mul(this, o); }
  div(o: TensorLike): Tensor { return typeof o === 'number' ? A.divS(this, o) : A.div(this, o); }
  pow(e: TensorLike): Tensor { return typeof e === 'number' ? A.powS(this, e) : A.powT(this, e); }
  neg(): Tensor { return A.neg(this); }
  abs(): Tensor { return A.abs(this); }
  exp(): Tensor { return A.exp(this); }
  log(): Tensor { return A.log(this); }
  log1p(): Tensor { return A.log1p(this); }
  sqrt(): Tensor { return A.sqrt(this); }
  rsqrt(): Tensor { return A.rsqrt(this); }
  tanh(): Tensor { return A.tanh(this); }
  sin(): Tensor { return A.sin(this); }
  cos(): Tensor { return A.cos(this); }
  tan(): Tensor { return A.tan(this); }
  atan(): Tensor { return A.atan(this); }
  sigmoid(): Tensor { return A.sigmoid(this); }
  square(): Tensor { return A.square(this); }
  reciprocal(): Tensor { return A.reciprocal(this); }
  sign(): Tensor { return A.sign(this); }
  floor(): Tensor { return A.floor(this); }
  ceil(): Tensor { return A.ceil(this); }
  round(): Tensor { return A.round(this); }
  erf(): Tensor { return A.erf(this); }
  clamp(min?: number | null, max?: number | null): Tensor { return A.clamp(this, min ?? null, max ?? null); }
  maximum(o: Tensor): Tensor { return A.maximum(this, o); }
  minimum(o: Tensor): Tensor { return A.minimum(this, o); }
  /** this + w·(end − this) */
  lerp(end: Tensor, weight: TensorLike): Tensor { return typeof weight === 'number' ? A.lerpS(this, end, weight) : A.lerpT(this, end, weight); }

  // ---------------------------------------------------------------- comparisons
  eq(o: TensorLike): Tensor { return typeof o === 'number' ? A.eqS(this, o) : A.eq(this, o); }
  ne(o: TensorLike): Tensor { return typeof o === 'number' ? A.neS(this, o) : A.ne(this, o); }
  gt(o: TensorLike): Tensor { return typeof o === 'number' ? A.gtS(this, o) : A.gt(this, o); }
  lt(o: TensorLike): Tensor { return typeof o === 'number' ? A.ltS(this, o) : A.lt(this, o); }
  ge(o: TensorLike): Tensor { return typeof o === 'number' ? A.geS(this, o) : A.ge(this, o); }
  le(o: TensorLike): Tensor { return typeof o === 'number' ? A.leS(this, o) : A.le(this, o); }
  isnan(): Tensor { return A.isnan(this); }
  isfinite(): Tensor { return A.isfinite(this); }
  any(): Tensor { return A.any(this); }
  all(): Tensor { return A.all(this); }
  logicalNot(): Tensor { return A.logicalNot(this); }
  /** |this − other| ≤ atol + rtol·|other| everywhere (torch.allclose). */
  allclose(other: Tensor, rtol = 1e-5, atol = 1e-8, equalNan = false): boolean { return A.allclose(this, other, rtol, atol, equalNan); }
  /** Same shape and identical elements. */
  equal(other: Tensor): boolean { return A.equal(this, other); }
  maskedFill(mask: Tensor, value: number): Tensor { return A.maskedFill(this, mask, value); }

  // ---------------------------------------------------------------- in place (return this)
  add_(o: TensorLike, alpha = 1): this { this.inplace(typeof o === 'number' ? A.addS_(this, o, alpha) : A.add_(this, o, alpha)); return this; }
  sub_(o: Tensor, alpha = 1): this { this.inplace(A.sub_(this, o, alpha)); return this; }
  mul_(o: TensorLike): this { this.inplace(typeof o === 'number' ? A.mulS_(this, o) : A.mul_(this, o)); return this; }
  div_(o: TensorLike): this { this.inplace(typeof o === 'number' ? A.divS_(this, o) : A.div_(this, o)); return this; }
  copy_(src: Tensor): this { this.inplace(A.copy_(this, src, false)); return this; }
  zero_(): this { this.inplace(A.zero_(this)); return this; }
  fill_(v: number): this { this.inplace(A.fillS_(this, v)); return this; }
  clamp_(min?: number | null, max?: number | null): this { this.inplace(A.clamp_(this, min ?? null, max ?? null)); return this; }
  sqrt_(): this { this.inplace(A.sqrt_(this)); return this; }
  neg_(): this { this.inplace(A.neg_(this)); return this; }
  lerp_(end: Tensor, weight: TensorLike): this { this.inplace(typeof weight === 'number' ? A.lerpS_(this, end, weight) : A.lerpT_(this, end, weight)); return this; }
  /** this += value · t1 · t2 */
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this { this.inplace(A.addcmul_(this, t1, t2, value)); return this; }
  /** this += value · t1 / t2 */
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this { this.inplace(A.addcdiv_(this, t1, t2, value)); return this; }
  normal_(mean = 0, std = 1, generator?: Generator): this { this.inplace(A.normal_(this, mean, std, generator ?? null)); return this; }
  uniform_(from = 0, to = 1, generator?: Generator): this { this.inplace(A.uniform_(this, from, to, generator ?? null)); return this; }
  bernoulli_(p: number, generator?: Generator): this { this.inplace(A.bernoulli_(this, p, generator ?? null)); return this; }
  private inplace(alias: Tensor): void {
    // The op returns self as a second handle; drop it (the shape is unchanged by these ops).
    alias.dispose();
  }

  // ---------------------------------------------------------------- reductions
  sum(dim?: number | number[], keepdim = false, dtype?: DType): Tensor {
    if (dim === undefined) return A.sum(this, dtype ? dtypeCode(dtype) : null);
    return A.sumDim(this, toDims(dim), keepdim, dtype ? dtypeCode(dtype) : null);
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? A.mean(this) : A.meanDim(this, toDims(dim), keepdim);
  }
  /** Variance with Bessel's correction by default (as torch.var); pass correction 0 for the biased one. */
  var(dim?: number | number[], opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return A.varCorr(this, dim === undefined ? null : toDims(dim), opts.correction ?? 1, opts.keepdim ?? false);
  }
  std(dim?: number | number[], opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return A.stdCorr(this, dim === undefined ? null : toDims(dim), opts.correction ?? 1, opts.keepdim ?? false);
  }
  /** Global max; with dim, {values, indices}. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return A.max(this);
    const [values, indices] = A.maxDim(this, dim, keepdim);
    return { values, indices };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return A.min(this);
    const [values, indices] = A.minDim(this, dim, keepdim);
    return { values, indices };
  }
  /** Sorted values along dim (ascending unless descending) and their original indices (torch.sort). */
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = A.sort(this, dim, descending);
    return { values, indices };
  }
  amax(dim: number | number[] = [], keepdim = false): Tensor { return A.amax(this, toDims(dim), keepdim); }
  amin(dim: number | number[] = [], keepdim = false): Tensor { return A.amin(this, toDims(dim), keepdim); }
  argmax(dim?: number, keepdim = false): Tensor { return A.argmax(this, dim ?? null, keepdim); }
  argmin(dim?: number, keepdim = false): Tensor { return A.argmin(this, dim ?? null, keepdim); }
  /** Vector p-norm over all elements or the given dims (torch.linalg.vector_norm). */
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor { return A.norm(this, p, dim === undefined ? null : toDims(dim), keepdim, null); }
  prod(): Tensor { return A.prod(this, null); }
  logsumexp(dim: number | number[], keepdim = false): Tensor { return A.logsumexp(this, toDims(dim), keepdim); }
  cumsum(dim: number): Tensor { return A.cumsum(this, dim, null); }

  // ---------------------------------------------------------------- shape
  reshape(...shape: Shape | [Shape]): Tensor { return A.reshape(this, flatShape(shape)); }
  view(...shape: Shape | [Shape]): Tensor { return A.view(this, flatShape(shape)); }
  permute(...dims: number[] | [number[]]): Tensor { return A.permute(this, flatShape(dims)); }
  transpose(d0: number, d1: number): Tensor { return A.transpose(this, d0, d1); }
  /** 2-D transpose. */
  t(): Tensor { return A.transpose(this, 0, 1); }
  flatten(start = 0, end = -1): Tensor { return A.flatten(this, start, end); }
  unflatten(dim: number, sizes: number[]): Tensor { return A.unflatten(this, dim, sizes); }
  squeeze(dim?: number): Tensor { return dim === undefined ? A.squeeze(this) : A.squeezeDim(this, dim); }
  unsqueeze(dim: number): Tensor { return A.unsqueeze(this, dim); }
  expand(...shape: Shape | [Shape]): Tensor { return A.expand(this, flatShape(shape), false); }
  expandAs(o: Tensor): Tensor { return A.expand(this, o.shape, false); }
  repeat(...reps: number[] | [number[]]): Tensor { return A.repeat(this, flatShape(reps)); }
  narrow(dim: number, start: number, length: number): Tensor { return A.narrow(this, dim, start, length); }
  /** x[..., start:end:step, ...] along one dim (a view). */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor { return A.slice(this, dim, start ?? null, end ?? null, step); }
  /** x[..., index, ...]: drops the dim (a view). */
  select(dim: number, index: number): Tensor { return A.select(this, dim, index); }
  chunk(chunks: number, dim = 0): Tensor[] { return A.chunk(this, chunks, dim); }
  split(size: number | number[], dim = 0): Tensor[] { return Array.isArray(size) ? A.splitSizes(this, size, dim) : A.splitSize(this, size, dim); }
  indexSelect(dim: number, index: Tensor): Tensor { return A.indexSelect(this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return A.gather(this, dim, index, false); }
  flip(dims: number | number[]): Tensor { return A.flip(this, toDims(dims)); }
  roll(shifts: number | number[], dims: number | number[]): Tensor { return A.roll(this, toDims(shifts), toDims(dims)); }
  tril(diagonal = 0): Tensor { return A.tril(this, diagonal); }
  triu(diagonal = 0): Tensor { return A.triu(this, diagonal); }

  // ---------------------------------------------------------------- linear algebra
  matmul(o: Tensor): Tensor { return A.matmul(this, o); }
  mm(o: Tensor): Tensor { return A.mm(this, o); }
  bmm(o: Tensor): Tensor { return A.bmm(this, o); }
}

function toDims(d: number | number[]): number[] {
  return Array.isArray(d) ? d : [d];
}

function flatShape(s: unknown[]): number[] {
  return (s.length === 1 && Array.isArray(s[0]) ? s[0] : s) as number[];
}

registerResultWrapper(Tensor.fromHandle);
