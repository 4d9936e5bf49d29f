// Euler–Maruyama for dx = drift(t, x) dt + g(t) dW over a fixed grid (the reference's optional SDE
// sampler is this scheme with its own drift and g; see FlowMatcher for building them).
import { randnLike, type Generator } from '../../tensor/index.js';
import { FlowError } from '../errors.js';
import { fixedGridCore, type StepFunction } from './fixed_grid.js';
import { syncSolver } from './drive.js';
import type { SolveOptions, SolveResult, VectorField } from './types.js';
import type { Tensor } from '../../tensor/index.js';

export interface EulerMaruyamaOptions extends SolveOptions {
  /** Diffusion coefficient g(t) (a number: constant). */
  diffusion: number | ((t: number) => number);
  /** Stream of the Brownian increments. */
  generator?: Generator;
}

/** x_{n+1} = x_n + drift(t_n, x_n)·dt + g(t_n)·sqrt(dt)·ε_n with ε_n ~ N(0, I). */
export function eulerMaruyama(drift: VectorField, x0: Tensor, grid: ArrayLike<number>, opts: EulerMaruyamaOptions): SolveResult {
  const g = typeof opts.diffusion === 'number' ? ((v: number) => () => v)(opts.diffusion) : opts.diffusion;
  if (typeof g !== 'function') throw new FlowError('eulerMaruyama', 'diffusion must be a number or a function of t');
  const step: StepFunction = (f, t0, dt, _t1, y0) => {
    const gt = g(t0);
    if (!Number.isFinite(gt) || gt < 0) throw new FlowError('eulerMaruyama', `diffusion g(${t0}) must be a finite number ≥ 0, got ${gt}`);
    const det = f(t0, y0).mul(dt);
    return gt === 0 ? det : det.add(randnLike(y0, opts.generator), gt * Math.sqrt(dt));
  };
  return syncSolver('eulerMaruyama', fixedGridCore('eulerMaruyama', step))(drift, x0, grid, opts);
}
