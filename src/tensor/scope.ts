// Deterministic release of native memory. V8 cannot see libtorch's memory, so every tensor made
// inside a scope is disposed when the scope ends, except the ones it returns or keep()s.
import { native } from './native.js';

export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

interface ScopeFrame {
  tracked: Disposable[];
}

const stack: ScopeFrame[] = [];
const kept = new WeakSet<Disposable>();

/** Called by every new tensor: it belongs to the innermost open scope, if any. */
export function track(t: Disposable): void {
  const top = stack[stack.length - 1];
  if (top) top.tracked.push(t);
}

/** Exempt a tensor from the scopes open now (it lives until disposed by hand). */
export function keep<T extends Disposable>(t: T): T {
  kept.add(t);
  return t;
}

function collect(value: unknown, out: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 6) return;
  if (typeof (value as Disposable).dispose === 'function' && 'isDisposed' in (value as object)) {
    out.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collect(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, depth + 1);
}

function close(frame: ScopeFrame, result: unknown): void {
  const keepSet = new Set<Disposable>();
  collect(result, keepSet);
  const parent = stack[stack.length - 1];
  for (const t of frame.tracked) {
    if (keepSet.has(t)) {
      if (parent) parent.tracked.push(t);
    } else if (!kept.has(t)) {
      t.dispose();
    }
  }
}

/**
 * Runs fn and disposes every tensor created during it, except tensors found in its return value
 * (plain objects, arrays and Maps are searched) and kept ones. Returned tensors join the parent scope.
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError('tidy(fn): fn must be a function');
  const frame: ScopeFrame = { tracked: [] };
  stack.push(frame);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    close(frame, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    stack.pop();
    close(frame, undefined);
    throw new TypeError('tidy(fn): fn must be synchronous (a scope cannot span an await); use Scope for async work');
  }
  stack.pop();
  close(frame, result);
  return result;
}

/** Explicit scope for async code: everything tracked between open() and close() that is not returned is freed. */
export class Scope {
  private frame: ScopeFrame = { tracked: [] };
  /** Runs a synchronous block whose new tensors this scope owns. */
  run<T>(fn: () => T): T {
    stack.push(this.frame);
    try {
      return fn();
    } finally {
      stack.pop();
    }
  }
  /** Disposes everything this scope owns except what is in `result`. */
  close(result?: unknown): void {
    close(this.frame, result);
    this.frame = { tracked: [] };
  }
}

/**
 * Tensors created and not yet disposed. A handle the GC reclaimed without dispose() still counts:
 * the number depends only on the program, never on when the GC ran, so leak tests are exact.
 */
export function liveTensors(): number {
  return native.liveCount() + native.collectedCount();
}

/** Tensors whose native memory is held right now (the GC-reclaimed ones excluded). */
export function nativeLiveTensors(): number {
  return native.liveCount();
}

/** Bytes of tensor storage owned by live handles (views not counted twice). */
export function liveBytes(): number {
  return native.liveBytes();
}

/** Disposes each tensor found in a value (arrays, plain objects, Maps searched). */
export function dispose(value: unknown): void {
  const s = new Set<Disposable>();
  collect(value, s);
  for (const t of s) t.dispose();
}
