// Process-wide settings of the compute runtime: threads and what the libtorch found can do.
import { native } from './native.js';
import { maxThreads, maxThreadsText } from './limits.js';

/** Sets libtorch's intra-op thread count (default: the machine's cores). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > maxThreads()) throw new RangeError(`setNumThreads(${n}): need an integer from 1 to ${maxThreads()} (${maxThreadsText()})`);
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

export function runtimeInfo() {
  return native.info();
}

export function cudaAvailable(): boolean {
  return native.info().cuda;
}
