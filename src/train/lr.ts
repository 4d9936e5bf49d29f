// Learning-rate schedules as pure functions of the optimizer step (the number of updates already done).
// They follow the reference's lr_schedulers.py (HF transformers' LambdaLR multipliers): at step s the
// multiplier is s / max(1, warmup) during warmup — so the very first update (s = 0) uses lr 0 — then 1
// (constant) or a half cosine down to 0 over the remaining steps (cosine).
//
// Caution when matching the reference run exactly: its trainer calls scheduler.step() inside
// training_step, which Lightning runs (in the optimizer closure) *before* the parameter update, so its
// update k (0-based) uses factor(k + 1) — the first update is at lr/warmup, not 0. With
// accumulate_grad_batches > 1 it also steps per micro-batch. Pass step + 1 to reproduce that.

export type LrScheduleName = 'constant' | 'constant_warmup' | 'cosine_warmup';

export interface LrScheduleConfig {
  name: LrScheduleName;
  /** Linear warmup length in optimizer steps (0 = none). */
  warmupSteps: number;
  /** Total optimizer steps; needed by the cosine schedule. */
  totalSteps?: number;
  /** Number of cosine waves over the post-warmup span; 0.5 = one half cosine from 1 to 0 (the reference default). */
  numCycles?: number;
}

export class LrScheduleError extends Error {
  override name = 'LrScheduleError';
}

/** Multiplier of the constant-with-warmup schedule at step s. */
export function constantWarmupFactor(step: number, warmupSteps: number): number {
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  return 1;
}

/** Multiplier of the cosine-with-warmup schedule at step s (floored at 0, as the reference). */
export function cosineWarmupFactor(step: number, warmupSteps: number, totalSteps: number, numCycles = 0.5): number {
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress)));
}

/** Returns step → multiplier for a config, validating it once. */
export function lrFactorFn(cfg: LrScheduleConfig): (step: number) => number {
  if (!Number.isInteger(cfg.warmupSteps) || cfg.warmupSteps < 0) {
    throw new LrScheduleError(`lr schedule ${cfg.name}: warmupSteps must be an integer ≥ 0, got ${cfg.warmupSteps}`);
  }
  switch (cfg.name) {
    case 'constant':
      return () => 1;
    case 'constant_warmup':
      return (s) => constantWarmupFactor(s, cfg.warmupSteps);
    case 'cosine_warmup': {
      const total = cfg.totalSteps;
      if (total === undefined || !Number.isInteger(total) || total <= 0) {
        throw new LrScheduleError(`lr schedule cosine_warmup needs totalSteps (an integer > 0), got ${total}`);
      }
      const cycles = cfg.numCycles ?? 0.5;
      return (s) => cosineWarmupFactor(s, cfg.warmupSteps, total, cycles);
    }
    default:
      throw new LrScheduleError(`unknown lr schedule "${(cfg as { name: string }).name}" (expected constant, constant_warmup or cosine_warmup)`);
  }
}

/** Returns step → learning rate (base lr × multiplier). */
export function lrSchedule(baseLr: number, cfg: LrScheduleConfig): (step: number) => number {
  const f = lrFactorFn(cfg);
  return (s) => baseLr * f(s);
}
