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

/** The bookkeeping shared by timeCalls and timeCallsAsync: warm-up and sampling bounds, samples, faults, CPU time. */
function sampler(o: TimingOptions) {
  const now = () => Number(process.hrtime.bigint()) / 1e6;
  const w0 = now();
  const samples: number[] = [];
  let total = 0, f0 = 0, c0 = process.cpuUsage();
  return {
    now,
    warming: (i: number) => i < o.warmupCalls || now() - w0 < o.warmupSec * 1e3,
    /** Call once, after the warm-up: faults and CPU time count from here. */
    start() { f0 = process.resourceUsage().minorPageFault; c0 = process.cpuUsage(); },
    more: () => samples.length < o.maxIters && (total < o.minSec * 1e3 || samples.length < o.minIters),
    add(dt: number) { samples.push(dt); total += dt; },
    result(): Timed {
      const c = process.cpuUsage(c0);
      return { samples, faults: process.resourceUsage().minorPageFault - f0, cpuMs: (c.user + c.system) / 1e3 };
    },
  };
}

export function timeCalls(fn: () => void, o: TimingOptions, skipWarmup = false): Timed {
  const s = sampler(o);
  if (!skipWarmup) for (let i = 0; s.warming(i); i++) fn();
  s.start();
  while (s.more()) {
    const t0 = s.now();
    fn();
    s.add(s.now() - t0);
  }
  return s.result();
}

/** timeCalls for a call that returns a promise (awaited; rows of seconds per call, where the await is noise). */
export async function timeCallsAsync(fn: () => Promise<void>, o: TimingOptions, skipWarmup = false): Promise<Timed> {
  const s = sampler(o);
  if (!skipWarmup) for (let i = 0; s.warming(i); i++) await fn();
  s.start();
  while (s.more()) {
    const t0 = s.now();
    await fn();
    s.add(s.now() - t0);
  }
  return s.result();
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
