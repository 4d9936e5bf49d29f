// The ODE solvers by name (torchdiffeq's names where they exist) and an odeint front end.
import { FlowError } from '../errors.js';
import { euler, midpoint, heun, heun3, rk4, rk4Classic, eulerAsync, midpointAsync, heunAsync, heun3Async, rk4Async, rk4ClassicAsync } from './fixed_grid.js';
import { dopri5, dopri5Async } from './dopri5.js';
import type { AdaptiveOptions, OdeSolver, OdeSolverAsync, SolveResult, VectorField } from './types.js';
import type { Tensor } from '../../tensor/index.js';
import { isSolverName, SOLVER_NAMES, type SolverName } from '../sampling_options.js';

export { isSolverName, SOLVER_NAMES, ADAPTIVE_SOLVERS, type SolverName } from '../sampling_options.js';

export * from './types.js';
export { euler, midpoint, heun, heun3, rk4, rk4Classic, eulerAsync, midpointAsync, heunAsync, heun3Async, rk4Async, rk4ClassicAsync } from './fixed_grid.js';
export { eulerStep, midpointStep, heunStep, heun3Step, rk4Step, rk4ClassicStep, fixedGridCore, type StepFunction } from './fixed_grid.js';
export { dopri5, dopri5Async, dopri5Step, selectInitialStep, optimalStepSize, interpolate as dopri5Interpolate, DOPRI5, type Dopri5StepResult } from './dopri5.js';
export { eulerMaruyama, type EulerMaruyamaOptions } from './sde.js';
export { syncSolver, asyncSolver, countedField } from './drive.js';

/**
 * torchdiffeq's names: 'rk4' is Kutta's 3/8 rule (rk4_alt_step_func); 'heun' = 'heun2' is the
 * 2nd-order explicit trapezoid, 'heun3' the 3rd-order Heun method.
 */
export const SOLVERS = { euler, midpoint, heun, heun2: heun, heun3, rk4, rk4_classic: rk4Classic, dopri5 } as const;
export const SOLVERS_ASYNC = {
  euler: eulerAsync, midpoint: midpointAsync, heun: heunAsync, heun2: heunAsync, heun3: heun3Async, rk4: rk4Async,
  rk4_classic: rk4ClassicAsync, dopri5: dopri5Async,
} as const;
// Every name of sampling_options.ts has a solver here (the `satisfies` fails the build otherwise).
SOLVERS satisfies Record<SolverName, unknown>;
SOLVERS_ASYNC satisfies Record<SolverName, unknown>;

export function getSolver(name: string): OdeSolver<AdaptiveOptions> {
  if (!isSolverName(name)) throw new FlowError('getSolver', `unknown solver '${name}' (${SOLVER_NAMES.join(', ')})`);
  return SOLVERS[name] as OdeSolver<AdaptiveOptions>;
}

export function getSolverAsync(name: string): OdeSolverAsync<AdaptiveOptions> {
  if (!isSolverName(name)) throw new FlowError('getSolverAsync', `unknown solver '${name}' (${SOLVER_NAMES.join(', ')})`);
  return SOLVERS_ASYNC[name] as OdeSolverAsync<AdaptiveOptions>;
}

export interface OdeintOptions extends AdaptiveOptions {
  method?: SolverName;
}

/** torchdiffeq-style front end: integrates over the grid with the named method (default dopri5, as torchdiffeq). */
export function odeint(field: VectorField, x0: Tensor, grid: ArrayLike<number>, opts: OdeintOptions = {}): SolveResult {
  return getSolver(opts.method ?? 'dopri5')(field, x0, grid, opts);
}

export function odeintAsync(field: VectorField, x0: Tensor, grid: ArrayLike<number>, opts: OdeintOptions = {}): Promise<SolveResult> {
  return getSolverAsync(opts.method ?? 'dopri5')(field, x0, grid, opts);
}
