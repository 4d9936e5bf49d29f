// Process-wide settings of the compute runtime: threads and what the libtorch found can do.
import { availableParallelism } from 'node:os';
import { native } from './native.js';
import { maxThreads } from './limits.js';

/** Sets libtorch's intra-op thread count (default: the machine's cores). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > maxThreads()) throw new RangeError(`setNumThreads(${n}): need an integer from 1 to ${maxThreads()} (4 per core)`);
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

// libtorch may start with one thread (OMP_NUM_THREADS or cgroup detection); the product default is all cores.
const envThreads = Number(process.env.FMBOOST_THREADS ?? '');
setNumThreads(Number.isInteger(envThreads) && envThreads > 0 ? Math.min(envThreads, maxThreads()) : availableParallelism());
