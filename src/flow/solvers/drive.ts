// Runs a solver iterator: checks the abort signal before each step, reports accepted steps, and on
// any exit path lets the iterator free its state (generator finally blocks).
import { Tensor } from '../../tensor/index.js';
import { AbortError, FlowError } from '../errors.js';
import { checkGrid } from '../time_grid.js';
import type { OdeSolver, OdeSolverAsync, SolveOptions, SolveResult, SolverCore, VectorField } from './types.js';

function checkAbort(name: string, signal: AbortSignal | undefined, step: number): void {
  if (signal?.aborted) throw new AbortError(`${name}: aborted after ${step} step(s)`, { cause: signal.reason });
}

function checkState(name: string, x0: Tensor): void {
  if (!(x0 instanceof Tensor)) throw new FlowError(name, 'x0 must be a Tensor');
  if (x0.isDisposed) throw new FlowError(name, 'x0 was disposed');
  if (!(x0.dtype === 'float32' || x0.dtype === 'float64' || x0.dtype === 'float16' || x0.dtype === 'bfloat16')) {
    throw new FlowError(name, `x0 must be a floating tensor, got ${x0.dtype}`);
  }
}

/** Counts evaluations and checks each output's shape. */
export function countedField(name: string, field: VectorField, counter: { nfe: number }): VectorField {
  if (typeof field !== 'function') throw new FlowError(name, 'field must be a function (t, x) => Tensor');
  return (t, x) => {
    counter.nfe++;
    const out = field(t, x);
    if (!(out instanceof Tensor)) throw new FlowError(name, `field returned ${typeof out}, not a Tensor (t = ${t})`);
    const a = out.shape, b = x.shape;
    if (a.length !== b.length || a.some((v, i) => v !== b[i])) {
      throw new FlowError(name, `field returned shape [${a.join(', ')}] for a state of shape [${b.join(', ')}] (t = ${t})`);
    }
    return out;
  };
}

/** A synchronous solver from its iterator. */
export function syncSolver<O extends SolveOptions>(name: string, core: SolverCore<O>): OdeSolver<O> {
  return (field, x0, grid, opts = {} as O) => {
    checkState(name, x0);
    const g = checkGrid(name, grid);
    const it = core(field, x0, g, opts);
    let steps = 0;
    try {
      for (;;) {
        checkAbort(name, opts.signal, steps);
        const r = it.next();
        if (r.done) return r.value;
        if (r.value.accepted) {
          steps++;
          opts.callback?.(r.value.info);
        }
      }
    } catch (e) {
      it.return(undefined as unknown as SolveResult);
      throw e;
    }
  };
}

/**
 * The same solver, yielding to the event loop between steps so that timers, I/O and abort signals
 * from elsewhere run during a long integration.
 */
export function asyncSolver<O extends SolveOptions>(name: string, core: SolverCore<O>): OdeSolverAsync<O> {
  return async (field, x0, grid, opts = {} as O) => {
    checkState(name, x0);
    const g = checkGrid(name, grid);
    const it = core(field, x0, g, opts);
    let steps = 0;
    try {
      for (;;) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        checkAbort(name, opts.signal, steps);
        const r = it.next();
        if (r.done) return r.value;
        if (r.value.accepted) {
          steps++;
          opts.callback?.(r.value.info);
        }
      }
    } catch (e) {
      it.return(undefined as unknown as SolveResult);
      throw e;
    }
  };
}

export type { SolveResult };
