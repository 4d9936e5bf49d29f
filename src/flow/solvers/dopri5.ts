// Adaptive Dormand–Prince 5(4) with torchdiffeq's conventions: Hairer's initial step, RMS error
// norm, safety 0.9, ifactor 10, dfactor 0.2, FSAL, and 4th-order dense output to the grid points.
import { tidy, zerosLike, type Tensor } from '../../tensor/index.js';
import { FlowError } from '../errors.js';
import { countedField, syncSolver, asyncSolver } from './drive.js';
import type { AdaptiveOptions, SolveResult, SolverIterator, VectorField } from './types.js';

/** Butcher tableau of Dormand–Prince (nodes c, matrix a, 5th-order weights b, error weights b − b*). */
export const DOPRI5 = {
  c: [1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
  a: [
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
  ],
  b: [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
  bErr: [
    35 / 384 - 1951 / 21600, 0, 500 / 1113 - 22642 / 50085, 125 / 192 - 451 / 720,
    -2187 / 6784 - -12231 / 42400, 11 / 84 - 649 / 6300, -1 / 60,
  ],
  /** Weights of y at the step's midpoint (Shampine), for the dense output. */
  bMid: [
    6025192743 / 30085553152 / 2, 0, 51252292925 / 65400821598 / 2, -2691868925 / 45128329728 / 2,
    187940372067 / 1594534317056 / 2, -1776094331 / 19743644256 / 2, 11237099 / 235043384 / 2,
  ],
} as const;

/** y0 + dt·Σ w_i k_i (zero weights skipped). */
function combine(y0: Tensor, dt: number, w: readonly number[], k: Tensor[]): Tensor {
  let acc = y0;
  for (let i = 0; i < w.length && i < k.length; i++) if (w[i] !== 0) acc = acc.add(k[i], dt * w[i]);
  return acc === y0 ? y0.clone() : acc;
}

/** sqrt(mean(x²)) over all elements, as torchdiffeq's _rms_norm. */
function rms(x: Tensor): number {
  return tidy(() => x.square().mean().sqrt().item());
}

export interface Dopri5StepResult {
  y1: Tensor;
  /** f(t1, y1): the next step's first stage (FSAL). */
  f1: Tensor;
  /** Local error estimate dt·Σ (b_i − b*_i) k_i. */
  error: Tensor;
  /** All 7 stages. */
  k: Tensor[];
}

/** One Dormand–Prince step from (t0, y0) with f0 = f(t0, y0): 6 new evaluations. */
export function dopri5Step(f: VectorField, t0: number, dt: number, y0: Tensor, f0: Tensor): Dopri5StepResult {
  return tidy(() => dopri5Stages(f, t0, dt, y0, f0));
}

function dopri5Stages(f: VectorField, t0: number, dt: number, y0: Tensor, f0: Tensor): Dopri5StepResult {
  const t1 = t0 + dt;
  const k: Tensor[] = [f0];
  let yi = y0;
  for (let i = 0; i < 6; i++) {
    yi = combine(y0, dt, DOPRI5.a[i], k);
    k.push(f(DOPRI5.c[i] === 1 ? t1 : t0 + DOPRI5.c[i] * dt, yi));
  }
  // The last row of a equals b (FSAL), so y1 is the input of the 7th stage.
  return { y1: yi, f1: k[6], error: combine(zerosLike(y0), dt, DOPRI5.bErr, k), k };
}

/** Hairer, Nørsett & Wanner II.4 (torchdiffeq's _select_initial_step): one extra evaluation. */
export function selectInitialStep(f: VectorField, t0: number, y0: Tensor, f0: Tensor, order: number, rtol: number, atol: number): number {
  return tidy(() => {
    const scale = y0.abs().mul(rtol).add(atol);
    const d0 = rms(y0.div(scale)), d1 = rms(f0.div(scale));
    const h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
    const f1 = f(t0 + h0, y0.add(f0, h0));
    const d2 = rms(f1.sub(f0).div(scale)) / h0;
    const h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : Math.pow(0.01 / Math.max(d1, d2), 1 / (order + 1));
    return Math.min(100 * h0, h1);
  });
}

/** The next step size from the error ratio (torchdiffeq's _optimal_step_size). */
export function optimalStepSize(dt: number, ratio: number, safety: number, ifactor: number, dfactor: number, order: number): number {
  if (ratio === 0) return dt * ifactor;
  const lower = ratio < 1 ? 1 : dfactor;
  return dt * Math.min(ifactor, Math.max(safety / Math.pow(ratio, 1 / order), lower));
}

/** The 4th-order dense output on [t0, t1] through y0, y_mid, y1 with end slopes f0, f1, at time t. */
export function interpolate(y0: Tensor, y1: Tensor, yMid: Tensor, f0: Tensor, f1: Tensor, t0: number, t1: number, t: number): Tensor {
  return tidy(() => {
    const dt = t1 - t0, x = (t - t0) / dt;
    const lin = (w: number[]) => f0.mul(w[0]).add(f1, w[1]).add(y0, w[2]).add(y1, w[3]).add(yMid, w[4]);
    const a = lin([-2 * dt, 2 * dt, -8, -8, 16]);
    const b = lin([5 * dt, -3 * dt, 18, 14, -32]);
    const c = lin([-4 * dt, dt, -11, -5, 16]);
    // Horner: (((a x + b) x + c) x + dt f0) x + y0
    return a.mul(x).add(b).mul(x).add(c).mul(x).add(f0, dt).mul(x).add(y0);
  });
}

function* dopri5Core(field: VectorField, x0: Tensor, grid: number[], opts: AdaptiveOptions): SolverIterator {
  const rtol = opts.rtol ?? 1e-7, atol = opts.atol ?? 1e-9;
  const safety = opts.safety ?? 0.9, ifactor = opts.ifactor ?? 10, dfactor = opts.dfactor ?? 0.2;
  const maxSteps = opts.maxSteps ?? 100_000;
  if (!(rtol >= 0 && atol >= 0 && rtol + atol > 0)) throw new FlowError('dopri5', `need rtol, atol ≥ 0 and not both 0, got rtol ${rtol}, atol ${atol}`);
  if (opts.firstStep !== undefined && !(opts.firstStep > 0)) throw new FlowError('dopri5', `firstStep must be > 0, got ${opts.firstStep}`);
  const counter = { nfe: 0 };
  const f = countedField('dopri5', field, counter);
  const T0 = grid[0], T = grid[grid.length - 1];
  const xs: Tensor[] = [];
  // State: y at t, its slope fy (both our own handles), and the next step size.
  let y: Tensor | null = null, fy: Tensor | null = null;
  let t = T0;
  let out: Tensor | null = null;
  let accepted = 0, rejected = 0, next = 1;
  // Grid points whose state is kept: all with trajectory, else only the last.
  const wanted = (j: number) => opts.trajectory === true || j === grid.length - 1;
  try {
    y = x0.alias();
    fy = tidy(() => f(T0, x0).alias());
    if (opts.trajectory) xs.push(x0.clone());
    let dt = opts.firstStep ?? selectInitialStep(f, T0, y, fy, 4, rtol, atol);
    if (!Number.isFinite(dt)) throw new FlowError('dopri5', `non-finite values in the state or field at t = ${T0}`);
    while (next < grid.length) {
      if (accepted + rejected >= maxSteps) throw new FlowError('dopri5', `gave up after ${maxSteps} steps at t = ${t} (maxSteps)`);
      if (!(t + dt > t)) throw new FlowError('dopri5', `step size underflow at t = ${t} (dt = ${dt})`);
      const t0 = t, t1 = t + dt, y0: Tensor = y, f0: Tensor = fy;
      const step = tidy(() => {
        const s = dopri5Step(f, t0, dt, y0, f0);
        const tol = y0.abs().maximum(s.y1.abs()).mul(rtol).add(atol);
        const ratio = rms(s.error.div(tol));
        if (!(ratio <= 1)) return { ratio, y1: null, f1: null, outs: [] as Tensor[] };
        // Dense output for the grid points inside (t0, t1]; y_mid only when one is strictly inside.
        const outs: Tensor[] = [];
        let yMid: Tensor | null = null;
        for (let j = next; j < grid.length && grid[j] <= t1; j++) {
          if (!wanted(j)) continue;
          if (grid[j] === t1) outs.push(s.y1.clone());
          else {
            yMid ??= combine(y0, dt, DOPRI5.bMid, s.k);
            outs.push(interpolate(y0, s.y1, yMid, f0, s.f1, t0, t1, grid[j]));
          }
        }
        return { ratio, y1: s.y1, f1: s.f1.alias(), outs };
      });
      if (!Number.isFinite(step.ratio)) throw new FlowError('dopri5', `non-finite values in the state or field at t = ${t0}`);
      dt = optimalStepSize(dt, step.ratio, safety, ifactor, dfactor, 5);
      if (step.y1 === null || step.f1 === null) {
        rejected++;
        yield { accepted: false, info: { step: accepted, steps: undefined, t, progress: (t - T0) / (T - T0), x: y, nfe: counter.nfe } };
        continue;
      }
      accepted++;
      y.dispose();
      fy.dispose();
      y = step.y1;
      fy = step.f1;
      t = t1;
      for (; next < grid.length && grid[next] <= t1; next++) {
        if (!wanted(next)) continue;
        if (opts.trajectory) xs.push(step.outs.shift()!);
        else out = step.outs.shift()!;
      }
      yield { accepted: true, info: { step: accepted, steps: undefined, t: Math.min(t, T), progress: Math.min(1, (t - T0) / (T - T0)), x: y, nfe: counter.nfe } };
    }
    const x = opts.trajectory ? xs[xs.length - 1] : out!;
    out = null;
    const result: SolveResult = { x, nfe: counter.nfe, steps: accepted, rejected };
    if (opts.trajectory) result.xs = xs.splice(0);
    return result;
  } finally {
    y?.dispose();
    fy?.dispose();
    out?.dispose();
    for (const v of xs) v.dispose();
  }
}

/** Adaptive Dormand–Prince 5(4); defaults rtol 1e-7, atol 1e-9 (torchdiffeq's); the reference passes 1e-3 / 1e-6. */
export const dopri5 = syncSolver('dopri5', dopri5Core);
export const dopri5Async = asyncSolver('dopri5', dopri5Core);
