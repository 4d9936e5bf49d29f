// Timing rules shared with torch_baseline.py: warm up, then time single calls. A row alternates
// short rounds of ours and torch until each side has its time budget, so load from other processes
// on this shared machine falls on both sides alike (and per-round ratios can be paired).

export interface TimingOptions {
  /** Warm-up: at least this many calls and this many seconds. */
  warmupCalls: number;
  warmupSec: number;
  /** Measure until total ≥ minSec and calls ≥ minIters, or calls = maxIters. */
  minSec: number;
  minIters: number;
  maxIters: number;
}

/** A row's schedule. */
export interface TimingPlan {
  warmupCalls: number;
  warmupSec: number;
  /** Each round times ≥ roundSec and ≥ 1 call on one side, then the other side does the same. */
  roundSec: number;
  /** Rounds go on until each side has measured ≥ sideSec, ≥ minIters calls and ≥ minRounds rounds. */
  sideSec: number;
  minIters: number;
  minRounds: number;
  maxRounds: number;
}

export const FULL: TimingPlan = { warmupCalls: 2, warmupSec: 0.15, roundSec: 0.01, sideSec: 1.0, minIters: 5, minRounds: 8, maxRounds: 400 };
export const QUICK: TimingPlan = { warmupCalls: 1, warmupSec: 0.05, roundSec: 0.01, sideSec: 0.2, minIters: 3, minRounds: 3, maxRounds: 100 };

/** The per-round options (the warm-up applies only when a round is told to warm up). */
export function roundOptions(p: TimingPlan): TimingOptions {
  return { warmupCalls: p.warmupCalls, warmupSec: p.warmupSec, minSec: p.roundSec, minIters: 1, maxIters: 10000 };
}

export interface Timed {
  /** Per-call times in ms. */
  samples: number[];
  /** Minor page faults during the timed calls (fresh memory being mapped in). */
  faults: number;
  /** CPU time (user + system, all threads of the process) over the timed calls, in ms. */
  cpuMs: number;
}

export function timeCalls(fn: () => void, o: TimingOptions, skipWarmup = false): Timed {
  const now = () => Number(process.hrtime.bigint()) / 1e6;
  if (!skipWarmup) {
    const w0 = now();
    for (let i = 0; i < o.warmupCalls || now() - w0 < o.warmupSec * 1e3; i++) fn();
  }
  const samples: number[] = [];
  let total = 0;
  const f0 = process.resourceUsage().minorPageFault;
  const c0 = process.cpuUsage();
  while (samples.length < o.maxIters && (total < o.minSec * 1e3 || samples.length < o.minIters)) {
    const t0 = now();
    fn();
    const dt = now() - t0;
    samples.push(dt);
    total += dt;
  }
  const c = process.cpuUsage(c0);
  return { samples, faults: process.resourceUsage().minorPageFault - f0, cpuMs: (c.user + c.system) / 1e3 };
}

/** timeCalls for a call that returns a promise (awaited; rows of seconds per call, where the await is noise). */
export async function timeCallsAsync(fn: () => Promise<void>, o: TimingOptions, skipWarmup = false): Promise<Timed> {
  const now = () => Number(process.hrtime.bigint()) / 1e6;
  if (!skipWarmup) {
    const w0 = now();
    for (let i = 0; i < o.warmupCalls || now() - w0 < o.warmupSec * 1e3; i++) await fn();
  }
  const samples: number[] = [];
  let total = 0;
  const f0 = process.resourceUsage().minorPageFault;
  const c0 = process.cpuUsage();
  while (samples.length < o.maxIters && (total < o.minSec * 1e3 || samples.length < o.minIters)) {
    const t0 = now();
    await fn();
    const dt = now() - t0;
    samples.push(dt);
    total += dt;
  }
  const c = process.cpuUsage(c0);
  return { samples, faults: process.resourceUsage().minorPageFault - f0, cpuMs: (c.user + c.system) / 1e3 };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
