// The benchmark row registry. A row pairs our code with the PyTorch code it must match; any file in
// bench/rows/ adds rows by calling register() at import time (run.ts imports every file there).
import type { TimingPlan } from './timing.js';

/** One prepared measurement on our side: run() is one timed call; dispose() frees the row's state. */
export interface OursCase {
  run(): void;
  dispose(): void;
}

/**
 * The matching PyTorch code, as Python source run by bench/torch_baseline.py. `setup` runs once
 * (names it defines are visible to `step`); `step` is the body of the function timed per call.
 * Available names: torch, nn, F (torch.nn.functional), math, threads.
 */
export interface TorchCode {
  setup: string;
  step: string;
}

export interface BenchRow {
  /** Unique, short, says the shape: 'conv2d 3x3 fwd [8,128,32,32] 128→128'. */
  name: string;
  /** 'tensor', 'models', 'training', 'upscaling', … (for --filter and the table's sections). */
  group: string;
  /** Builds inputs and modules, returns the timed call. Runs once per row, before timing. */
  setup(): OursCase;
  torch: TorchCode;
  /** Floating-point operations per call, when known (GFLOP/s is reported then). */
  flops?: number;
  /** Ops per call for per-op overhead rows: the report gives µs per op as well. */
  opsPerCall?: number;
  /** Target for this row; default: ours/torch ≤ 1.05. */
  target?: { maxRatio?: number; maxUsPerOp?: number };
  notes?: string;
  /** Overrides of the run's timing plan for this row (e.g. one warm-up and one timed call for rows of seconds per call). */
  plan?: Partial<TimingPlan>;
}

const registry: BenchRow[] = [];

export function register(...rows: BenchRow[]): void {
  for (const r of rows) {
    if (registry.some((x) => x.name === r.name)) throw new Error(`bench: duplicate row name '${r.name}'`);
    registry.push(r);
  }
}

export function allRows(): readonly BenchRow[] {
  return registry;
}

export const DEFAULT_MAX_RATIO = 1.05;
