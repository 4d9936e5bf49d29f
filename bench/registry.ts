// The benchmark row registry. A row pairs our code with the PyTorch code it must match; any file in
// bench/rows/ adds rows by calling register() at import time (run.ts imports every file there).
import type { TimingPlan } from './timing.js';

/**
 * One prepared measurement on our side: run() is one timed call; dispose() frees the row's state.
 * run() may return a promise only in rows marked `async` (awaiting costs microseconds: for rows of seconds).
 */
export interface OursCase {
  run(): void | Promise<void>;
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
  setup(): OursCase | Promise<OursCase>;
  /** run() returns a promise (e.g. the Upsampler): timed with await. */
  async?: boolean;
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
  /** Overrides used instead of `plan` with --quick (default: `plan`). */
  quickPlan?: Partial<TimingPlan>;
  /** Why this row cannot be measured in this run (e.g. its model file is missing): reported as skipped, with the reason. */
  skip?: string;
}

/** What a probe row measured. */
export interface ProbeResult {
  /** Wall time of the measured work, ms (ours; torch's when it has a counterpart). */
  oursMs: number;
  torchMs?: number;
  /** ours ÷ torch time, when the probe times both sides on the same work. */
  ratio?: number;
  /** Peak resident set size (VmHWM) of the process that did the work, MB. */
  peakRssMB: { ours: number; torch?: number };
  /** Why there is no PyTorch counterpart, when there is none. */
  noTorch?: string;
  /** Extra facts for the report (tile count, RSS before the work, …). */
  details?: Record<string, number | string>;
}

/**
 * A row measured by its own procedure instead of alternating timed calls, e.g. the peak memory of one run in
 * a fresh child process (a process's high-water mark cannot be reset, so it cannot be measured in the bench's).
 */
export interface ProbeRow {
  name: string;
  group: string;
  measure(ctx: { threads: number }): Promise<ProbeResult>;
  flops?: number;
  notes?: string;
  skip?: string;
  /** With --quick the probe is not run and is reported as skipped with this reason. */
  quickSkip?: string;
}

const registry: BenchRow[] = [];
const probes: ProbeRow[] = [];

function checkName(name: string): void {
  if (registry.some((x) => x.name === name) || probes.some((x) => x.name === name)) throw new Error(`bench: duplicate row name '${name}'`);
}

export function register(...rows: BenchRow[]): void {
  for (const r of rows) {
    checkName(r.name);
    registry.push(r);
  }
}

export function registerProbe(...rows: ProbeRow[]): void {
  for (const r of rows) {
    checkName(r.name);
    probes.push(r);
  }
}

export function allRows(): readonly BenchRow[] {
  return registry;
}

export function allProbes(): readonly ProbeRow[] {
  return probes;
}

/** A row that was selected but not measured, and why (e.g. its model file is missing). */
export interface SkippedRow {
  name: string;
  group: string;
  reason: string;
}

/** The selected rows that a run will not measure, with the reason (their `skip`, or `quickSkip` under --quick). */
export function skippedRows(rows: readonly (BenchRow | ProbeRow)[], quick: boolean): SkippedRow[] {
  const out: SkippedRow[] = [];
  for (const r of rows) {
    const reason = r.skip ?? (quick && 'quickSkip' in r && r.quickSkip ? `--quick: ${r.quickSkip}` : undefined);
    if (reason) out.push({ name: r.name, group: r.group, reason });
  }
  return out;
}

export const DEFAULT_MAX_RATIO = 1.05;
