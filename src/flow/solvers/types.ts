// Shared types of the ODE solvers: pure functions (field, x0, grid, opts) → { x, nfe }.
import type { Tensor } from '../../tensor/index.js';

/** dx/dt = field(t, x). It must return a tensor shaped like x (it may be a tensor it keeps). */
export type VectorField = (t: number, x: Tensor) => Tensor;

/** Reported after every accepted step. x is the solver's state: valid only during the callback. */
export interface StepInfo {
  /** Accepted steps so far (1-based). */
  step: number;
  /** Total steps when known in advance (fixed grids), else undefined (adaptive). */
  steps: number | undefined;
  /** Time reached. */
  t: number;
  /** Progress in [0, 1] along the grid. */
  progress: number;
  x: Tensor;
  /** Function evaluations so far. */
  nfe: number;
}

export interface SolveOptions {
  callback?: (info: StepInfo) => void;
  /** Cancels the integration; the solver throws an AbortError before its next step. */
  signal?: AbortSignal;
  /** Also return the state at every grid point (xs[0] is a copy of x0); the caller disposes them. */
  trajectory?: boolean;
}

export interface AdaptiveOptions extends SolveOptions {
  rtol?: number;
  atol?: number;
  /** First step size (default: Hairer's initial step selection, as torchdiffeq). */
  firstStep?: number;
  safety?: number;
  ifactor?: number;
  dfactor?: number;
  /** Attempted steps before giving up. */
  maxSteps?: number;
}

export interface SolveResult {
  /** The state at the last grid point (a new tensor; the caller owns it). */
  x: Tensor;
  /** Number of field evaluations. */
  nfe: number;
  /** Accepted steps. */
  steps: number;
  /** Rejected steps (adaptive solvers). */
  rejected: number;
  /** With trajectory: the state at every grid point. */
  xs?: Tensor[];
}

/** A solver written as an iterator that yields after each attempted step (true = accepted). */
export type SolverIterator = Generator<{ accepted: boolean; info: StepInfo }, SolveResult, void>;
export type SolverCore<O extends SolveOptions = SolveOptions> = (field: VectorField, x0: Tensor, grid: number[], opts: O) => SolverIterator;
export type OdeSolver<O extends SolveOptions = SolveOptions> = (field: VectorField, x0: Tensor, grid: ArrayLike<number>, opts?: O) => SolveResult;
export type OdeSolverAsync<O extends SolveOptions = SolveOptions> = (field: VectorField, x0: Tensor, grid: ArrayLike<number>, opts?: O) => Promise<SolveResult>;
