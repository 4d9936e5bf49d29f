// One calling shape for every ATen op: resolve the schema once, then call with JS values.
// Errors come back as TorchError naming the op and each tensor input's dtype and shape.
// Tensor and Generator are known here only through the OpValue shape and the result wrapper tensor.ts
// registers (as tfjs-core registers its ops), so this module imports neither and the engine has no cycle.
import { native } from './native.js';
import { TorchError, DisposedTensorError } from './errors.js';

/** A JS object that stands for a native value in an op call (Tensor, Generator). */
export interface OpValue {
  /** The native handle to pass (null for a disposed tensor: the addon names the op then). */
  handleForOp(): unknown;
  /** How an error message shows it: "float32[2,3]", "Generator". */
  describeForOp(): string;
  readonly isDisposed?: boolean;
}

function isOpValue(a: unknown): a is OpValue {
  return typeof a === 'object' && a !== null && typeof (a as OpValue).handleForOp === 'function';
}

let wrapHandle: (h: unknown) => unknown = () => {
  throw new Error('fmboost: tensor/tensor.js was not loaded before an op returned a tensor');
};

/** @internal tensor.ts registers how a returned native handle becomes a Tensor. */
export function registerResultWrapper(fn: (h: unknown) => unknown): void {
  wrapHandle = fn;
}

function unwrap(a: unknown): unknown {
  if (isOpValue(a)) return a.handleForOp();
  if (Array.isArray(a)) return a.map(unwrap);
  return a;
}

function wrap(r: unknown): unknown {
  if (r === null || r === undefined || typeof r !== 'object') return r;
  if (Array.isArray(r)) return r.map(wrap);
  return wrapHandle(r);
}

/** "x: float32[2,3], 1, [1,1]" — how an error message shows an op's inputs. */
export function describeArgs(args: unknown[]): string {
  const d = (a: unknown): string => {
    if (isOpValue(a)) return a.describeForOp();
    if (Array.isArray(a)) return `[${a.map(d).join(', ')}]`;
    if (a === undefined) return '_';
    return JSON.stringify(a) ?? String(a);
  };
  return args.map(d).join(', ');
}

export type OpFn = (...args: unknown[]) => any;

/** Binds an ATen operator (e.g. 'aten::add', 'Tensor'); looked up on first use. */
export function defOp(name: string, overload = ''): OpFn {
  let id = -1;
  const full = overload ? `${name}.${overload}` : name;
  return (...args: unknown[]) => {
    if (id < 0) id = native.op(name, overload);
    let raw: unknown;
    try {
      raw = native.call(id, args.map(unwrap));
    } catch (e) {
      throw toTorchError(full, args, e);
    }
    return wrap(raw);
  };
}

/** True when the libtorch in use has this operator (e.g. fused attention appeared in 2.0). */
export function hasOp(name: string, overload = ''): boolean {
  try {
    native.op(name, overload);
    return true;
  } catch {
    return false;
  }
}

export function toTorchError(op: string, args: unknown[], e: unknown): Error {
  if (e instanceof TorchError) return e;
  const err = e as Error & { code?: string };
  const msg = String(err?.message ?? e);
  const disposed = (a: unknown): boolean => isOpValue(a) && a.isDisposed === true;
  const disposedInput = args.some((a) => disposed(a) || Array.isArray(a) && a.some(disposed));
  if (disposedInput || /was disposed/.test(msg)) return new DisposedTensorError(op, describeArgs(args));
  if (err?.code === 'ETORCH' || err?.code === 'EFMBOOST') {
    return new TorchError(op, describeArgs(args), msg.split('\n')[0] + (msg.includes('\n') ? '\n' + msg.split('\n').slice(1, 4).join('\n') : ''), err.code);
  }
  return e as Error;
}

/** Wraps a direct native call (not an ATen op) so its failures are TorchErrors too. */
export function nativeCall<T>(op: string, args: unknown[], fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toTorchError(op, args, e);
  }
}
