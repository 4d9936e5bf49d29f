// `fmboost train --profile`: the op profiler over the optimizer steps only. Each step is recorded as its own
// stretch (start before it, stop after it) and the stretches are summed, so checkpoint saves, validation and
// logging between steps stay out of the table.
import { OpProfile, startOpProfile, stopOpProfile, type OpRow } from '../tensor/index.js';

export class StepProfiler {
  private rows = new Map<string, OpRow>();
  private wallMs = 0;
  private steps = 0;
  private on = false;

  /** Profiles the steps that start at or after optimizer step `fromStep` (0-based count of steps done). */
  constructor(readonly fromStep: number) {}

  resume(stepsDone: number): void {
    if (stepsDone < this.fromStep || this.on) return;
    startOpProfile();
    this.on = true;
  }

  pause(_stepsDone: number): void {
    if (!this.on) return;
    const p = stopOpProfile();
    this.on = false;
    this.steps++;
    this.wallMs += p.wallMs;
    for (const r of p.rows) {
      const e = this.rows.get(r.name);
      if (e) { e.calls += r.calls; e.selfMs += r.selfMs; e.totalMs += r.totalMs; } else this.rows.set(r.name, { ...r });
    }
  }

  /** The summed profile, or undefined when no step was profiled. Stops a stretch still open (an aborted step). */
  result(label: string): { profile: OpProfile; steps: number } | undefined {
    if (this.on) { stopOpProfile(); this.on = false; }
    return this.steps ? { profile: new OpProfile([...this.rows.values()], this.wallMs, label), steps: this.steps } : undefined;
  }
}
