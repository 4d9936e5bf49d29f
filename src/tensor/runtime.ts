// Process-wide settings of the compute runtime: threads and what the libtorch found can do.
import { availableParallelism } from 'node:os';
import { native } from './native.js';

/** Sets libtorch's intra-op thread count (default: the machine's cores). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads(${n}): need a positive integer`);
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
setNumThreads(Number.isInteger(envThreads) && envThreads > 0 ? envThreads : availableParallelism());
