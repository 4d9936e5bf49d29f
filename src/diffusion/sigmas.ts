// k-diffusion's view of a discrete DDPM schedule (external.DiscreteSchedule / CompVisDenoiser): noise
// levels σ_t, the maps σ ↔ t by linear interpolation in log σ, and the Karras et al. (2022) σ grid.
import { DiffusionError } from './errors.js';
import { checkInt, checkNumber } from './drive.js';
import { linspace, scheduleSigmas, type DdpmSchedule } from './schedule.js';

const LOG_SIGMAS = new WeakMap<DdpmSchedule, Float64Array>();

function logSigmas(schedule: DdpmSchedule): Float64Array {
  let l = LOG_SIGMAS.get(schedule);
  if (!l) LOG_SIGMAS.set(schedule, (l = scheduleSigmas(schedule).map(Math.log)));
  return l;
}

export function sigmaMin(schedule: DdpmSchedule): number {
  return Math.exp(logSigmas(schedule)[0]);
}

export function sigmaMax(schedule: DdpmSchedule): number {
  const l = logSigmas(schedule);
  return Math.exp(l[l.length - 1]);
}

/** Continuous timestep of a noise level: interpolates log σ between the two bracketing steps (clamped). */
export function sigmaToT(schedule: DdpmSchedule, sigma: number): number {
  const l = logSigmas(schedule), ls = Math.log(sigma);
  // low = last index with log σ_i ≤ log σ (0 when none), at most T − 2; as the reference's cumsum/argmax.
  let k = 0;
  while (k < l.length && l[k] <= ls) k++;
  const low = Math.min(Math.max(k - 1, 0), l.length - 2), high = low + 1;
  const w = Math.min(Math.max((l[low] - ls) / (l[low] - l[high]), 0), 1);
  return (1 - w) * low + w * high;
}

/** Noise level at a continuous timestep: exp of log σ interpolated between floor(t) and ceil(t). */
export function tToSigma(schedule: DdpmSchedule, t: number): number {
  const l = logSigmas(schedule);
  const low = Math.floor(t), high = Math.ceil(t), w = t - low;
  if (!(low >= 0 && high < l.length)) throw new DiffusionError('tToSigma', undefined, `t = ${t} is outside [0, ${l.length - 1}]`);
  return Math.exp((1 - w) * l[low] + w * l[high]);
}

/** get_sigmas(n): σ at n timesteps evenly spaced from T − 1 down to 0, then 0 (n + 1 values). */
export function discreteSigmas(schedule: DdpmSchedule, n: number): number[] {
  checkInt('discreteSigmas', 'steps', n, 1, Number.MAX_SAFE_INTEGER);
  const tMax = schedule.alphasCumprod.length - 1;
  return [...linspace(tMax, 0, n).map((t) => tToSigma(schedule, t)), 0];
}

/** get_sigmas_karras: (σmax^(1/ρ) + r·(σmin^(1/ρ) − σmax^(1/ρ)))^ρ for r = linspace(0, 1, n), then 0. */
export function karrasSigmas(n: number, sigmaLo: number, sigmaHi: number, rho = 7): number[] {
  const fn = 'karrasSigmas';
  checkInt(fn, 'steps', n, 1, Number.MAX_SAFE_INTEGER);
  checkNumber(fn, 'rho', rho, Number.MIN_VALUE);
  if (!(sigmaLo > 0 && sigmaHi >= sigmaLo && Number.isFinite(sigmaHi))) throw new DiffusionError(fn, 'sigmaMin', `need 0 < sigmaMin ≤ sigmaMax, got ${sigmaLo}, ${sigmaHi}`);
  const lo = sigmaLo ** (1 / rho), hi = sigmaHi ** (1 / rho);
  return [...linspace(0, 1, n).map((r) => (hi + r * (lo - hi)) ** rho), 0];
}
