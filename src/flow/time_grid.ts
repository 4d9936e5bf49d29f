// Time grids for the ODE solvers. A grid of N points makes N − 1 steps (torchdiffeq's convention).
import { FlowError } from './errors.js';


export interface LinspaceOptions {
  t0?: number;
  t1?: number;
  /**
   * 'float32' rounds as torch.linspace(t0, t1, n, dtype=float32) does, which is what the reference
   * feeds its solver for float32 latents; 'float64' (default) keeps full precision.
   */
  dtype?: 'float32' | 'float64';
}

/**
 * n evenly spaced points from t0 to t1 (default 0 → 1), computed like torch.linspace: the first half
 * counts up from t0 and the second half down from t1, so both ends are exact.
 */
export function linspaceGrid(n: number, opts: LinspaceOptions = {}): number[] {
  const t0 = opts.t0 ?? 0, t1 = opts.t1 ?? 1;
  if (!Number.isInteger(n) || n < 2) throw new FlowError('linspaceGrid', `need an integer number of points ≥ 2 (one step needs two points), got ${n}`);
  if (!Number.isFinite(t0) || !Number.isFinite(t1)) throw new FlowError('linspaceGrid', `t0 and t1 must be finite, got ${t0}, ${t1}`);
  const r = opts.dtype === 'float32' ? Math.fround : (v: number) => v;
  const a = r(t0), b = r(t1);
  const step = r((b - a) / (n - 1));
  const half = Math.floor(n / 2);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = i < half ? r(a + r(step * i)) : r(b - r(step * (n - 1 - i)));
  return out;
}

/** Throws a FlowError unless grid is a list of ≥ 2 finite, strictly increasing times. */
export function checkGrid(fn: string, grid: ArrayLike<number>): number[] {
  if (grid === null || typeof grid !== 'object' || typeof grid.length !== 'number') {
    throw new FlowError(fn, 'grid must be an array of times');
  }
  const g = Array.from(grid, Number);
  if (g.length < 2) throw new FlowError(fn, `grid needs at least 2 points (a grid of N points makes N − 1 steps), got ${g.length}`);
  for (let i = 0; i < g.length; i++) {
    if (!Number.isFinite(g[i])) throw new FlowError(fn, `grid[${i}] is not a finite number: ${g[i]}`);
    if (i > 0 && !(g[i] > g[i - 1])) {
      throw new FlowError(fn, `grid must be strictly increasing, but grid[${i}] = ${g[i]} ≤ grid[${i - 1}] = ${g[i - 1]}`);
    }
  }
  return g;
}
