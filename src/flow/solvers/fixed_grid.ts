// Fixed-grid Runge–Kutta solvers: one step per grid interval (N points → N − 1 steps), as
// torchdiffeq's euler / midpoint / rk4 (3/8 rule), plus Heun's explicit trapezoid.
import { tidy, type Tensor } from '../../tensor/index.js';
import { countedField, syncSolver, asyncSolver } from './drive.js';
import type { SolveOptions, SolveResult, SolverIterator, VectorField } from './types.js';

/** The increment y1 − y0 of one step from t0 to t1 = t0 + dt. */
export type StepFunction = (f: VectorField, t0: number, dt: number, t1: number, y0: Tensor) => Tensor;

/** Forward Euler (order 1). */
export const eulerStep: StepFunction = (f, t0, dt, _t1, y0) => f(t0, y0).mul(dt);

/** Explicit midpoint (order 2): slope at the half step. */
export const midpointStep: StepFunction = (f, t0, dt, _t1, y0) => {
  const yMid = y0.add(f(t0, y0), dt / 2);
  return f(t0 + dt / 2, yMid).mul(dt);
};

/** Heun's method = explicit trapezoid (order 2): mean of the slopes at both ends of an Euler step. */
export const heunStep: StepFunction = (f, t0, dt, t1, y0) => {
  const k1 = f(t0, y0);
  const k2 = f(t1, y0.add(k1, dt));
  return k1.add(k2).mul(dt / 2);
};

/** Heun's third-order method (torchdiffeq's 'heun3'): nodes 0, 1/3, 2/3, weights 1/4, 0, 3/4. */
export const heun3Step: StepFunction = (f, t0, dt, _t1, y0) => {
  const k1 = f(t0, y0);
  const k2 = f(t0 + dt / 3, y0.add(k1, dt / 3));
  const k3 = f(t0 + (2 * dt) / 3, y0.add(k2, (2 * dt) / 3));
  return k1.add(k3, 3).mul(dt / 4);
};

/** Classic RK4 (order 4), weights 1/6, 2/6, 2/6, 1/6. */
export const rk4ClassicStep: StepFunction = (f, t0, dt, t1, y0) => {
  const h = dt / 2;
  const k1 = f(t0, y0);
  const k2 = f(t0 + h, y0.add(k1, h));
  const k3 = f(t0 + h, y0.add(k2, h));
  const k4 = f(t1, y0.add(k3, dt));
  return k1.add(k2.add(k3), 2).add(k4).mul(dt / 6);
};

/** Kutta's 3/8 rule (order 4): torchdiffeq's 'rk4' (rk4_alt_step_func), used by the reference. */
export const rk4Step: StepFunction = (f, t0, dt, t1, y0) => {
  const k1 = f(t0, y0);
  const k2 = f(t0 + dt / 3, y0.add(k1, dt / 3));
  const k3 = f(t0 + (2 * dt) / 3, y0.add(k2.sub(k1, 1 / 3), dt));
  const k4 = f(t1, y0.add(k1.sub(k2).add(k3), dt));
  return k1.add(k2.add(k3), 3).add(k4).mul(dt / 8);
};

/** The iterator of a fixed-grid solver with the given step. */
export function fixedGridCore(name: string, stepFn: StepFunction) {
  return function* (field: VectorField, x0: Tensor, grid: number[], opts: SolveOptions): SolverIterator {
    const counter = { nfe: 0 };
    const f = countedField(name, field, counter);
    const n = grid.length - 1;
    const xs: Tensor[] = [];
    // The state is always our own handle (an alias of x0 to start), so it can always be disposed.
    let x = x0.alias();
    if (opts.trajectory) xs.push(x0.clone());
    let done = false;
    try {
      for (let i = 0; i < n; i++) {
        const t0 = grid[i], t1 = grid[i + 1];
        const y = x;
        const next = tidy(() => y.add(stepFn(f, t0, t1 - t0, t1, y)));
        // With a trajectory every state after the first stays alive in xs.
        if (!opts.trajectory || i === 0) x.dispose();
        x = next;
        if (opts.trajectory) xs.push(x);
        yield { accepted: true, info: { step: i + 1, steps: n, t: t1, progress: (i + 1) / n, x, nfe: counter.nfe } };
      }
      done = true;
      const result: SolveResult = { x, nfe: counter.nfe, steps: n, rejected: 0 };
      if (opts.trajectory) result.xs = xs;
      return result;
    } finally {
      if (!done) {
        if (!xs.includes(x)) x.dispose();
        for (const t of xs) t.dispose();
      }
    }
  };
}

const make = (name: string, step: StepFunction) => {
  const core = fixedGridCore(name, step);
  return { sync: syncSolver(name, core), async: asyncSolver(name, core) };
};

const E = make('euler', eulerStep), M = make('midpoint', midpointStep), H = make('heun', heunStep);
const H3 = make('heun3', heun3Step), R = make('rk4', rk4Step), RC = make('rk4_classic', rk4ClassicStep);

export const euler = E.sync, midpoint = M.sync, heun = H.sync, heun3 = H3.sync, rk4 = R.sync, rk4Classic = RC.sync;
export const eulerAsync = E.async, midpointAsync = M.async, heunAsync = H.async, heun3Async = H3.async, rk4Async = R.async, rk4ClassicAsync = RC.async;
