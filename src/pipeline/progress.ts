// The whole run's progress as one fraction, for batch bars and ETAs: each pass is split into its stages with
// fixed weights (rough shares of the time of the bundled model at 256² → 1024²), each stage by its own steps.
import type { UpsampleStage } from './types.js';

const WEIGHTS: Record<'encode' | 'flow' | 'decode', [start: number, width: number]> = {
  encode: [0, 0.25],
  flow: [0.25, 0.25],
  decode: [0.5, 0.5],
};

/** Fraction in [0, 1] of a run of `passes` passes at `stage`, step `step` of `total`, in pass `pass`. */
export function overallFraction(stage: UpsampleStage, step: number, total: number, pass: number, passes: number): number {
  if (stage === 'load') return 0;
  if (stage === 'resample') return step >= total ? 1 : 0.99;
  const [start, width] = WEIGHTS[stage];
  const within = total > 0 ? Math.min(1, Math.max(0, step / total)) : 1;
  const f = (pass + start + width * within) / Math.max(1, passes);
  return Math.min(1, Math.max(0, f));
}
