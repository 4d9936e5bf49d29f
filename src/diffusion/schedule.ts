// The discrete DDPM noise schedule SD1.x was trained with: 1000 betas, ᾱ_t = ∏(1 − β), and the
// k-diffusion noise levels σ_t = sqrt((1 − ᾱ_t)/ᾱ_t) of the same schedule.
import { DiffusionError } from './errors.js';

/**
 * 'scaled_linear': β = linspace(sqrt(βstart), sqrt(βend), T)² (SD1.x; LDM calls it "linear").
 * 'linear': β = linspace(βstart, βend, T) (LDM's "sqrt_linear").
 */
export type BetaSchedule = 'scaled_linear' | 'linear';

export interface DdpmScheduleConfig {
  numTrainTimesteps?: number;
  betaStart?: number;
  betaEnd?: number;
  betaSchedule?: BetaSchedule;
}

export interface DdpmSchedule {
  readonly config: Readonly<Required<DdpmScheduleConfig>>;
  /** β_t in float64. */
  readonly betas: Float64Array;
  /**
   * ᾱ_t, computed in float64 and rounded to float32: both references keep it in a float32 buffer
   * (CompVis' register_schedule, diffusers' scheduler), and every sampler reads it from there.
   */
  readonly alphasCumprod: Float64Array;
}

/** SD1.x defaults (configs/stable-diffusion/v1-inference.yaml, diffusers' SD1.5 scheduler_config). */
export const SD_SCHEDULE: Readonly<Required<DdpmScheduleConfig>> = Object.freeze({
  numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: 'scaled_linear' as BetaSchedule,
});

/** torch.linspace's formula (the halves are stepped from each end), in float64. */
export function linspace(start: number, end: number, n: number): number[] {
  if (n === 1) return [start];
  const step = (end - start) / (n - 1), half = Math.floor(n / 2);
  return Array.from({ length: n }, (_, i) => (i < half ? start + step * i : end - step * (n - i - 1)));
}

export function ddpmSchedule(config: DdpmScheduleConfig = {}): DdpmSchedule {
  const c = { ...SD_SCHEDULE, ...config };
  const fn = 'ddpmSchedule';
  if (!Number.isInteger(c.numTrainTimesteps) || c.numTrainTimesteps < 2) throw new DiffusionError(fn, 'numTrainTimesteps', `must be an integer ≥ 2, got ${c.numTrainTimesteps}`);
  if (!(c.betaStart > 0 && c.betaEnd < 1 && c.betaStart <= c.betaEnd)) {
    throw new DiffusionError(fn, 'betaStart', `need 0 < betaStart ≤ betaEnd < 1, got betaStart ${c.betaStart}, betaEnd ${c.betaEnd}`);
  }
  let betas: number[];
  if (c.betaSchedule === 'scaled_linear') betas = linspace(Math.sqrt(c.betaStart), Math.sqrt(c.betaEnd), c.numTrainTimesteps).map((b) => b * b);
  else if (c.betaSchedule === 'linear') betas = linspace(c.betaStart, c.betaEnd, c.numTrainTimesteps);
  else throw new DiffusionError(fn, 'betaSchedule', `must be 'scaled_linear' or 'linear', got ${String(c.betaSchedule)}`);
  const alphasCumprod = new Float64Array(betas.length);
  let prod = 1;
  betas.forEach((b, i) => {
    prod *= 1 - b;
    alphasCumprod[i] = Math.fround(prod);
  });
  return Object.freeze({ config: Object.freeze(c), betas: Float64Array.from(betas), alphasCumprod });
}

let sd: DdpmSchedule | undefined;
/** The SD1.x schedule (made once). */
export function sdSchedule(): DdpmSchedule {
  return (sd ??= ddpmSchedule());
}

/** k-diffusion's discrete noise levels σ_t = sqrt((1 − ᾱ_t)/ᾱ_t), ascending in t. */
export function scheduleSigmas(schedule: DdpmSchedule): Float64Array {
  return schedule.alphasCumprod.map((a) => Math.sqrt((1 - a) / a));
}
