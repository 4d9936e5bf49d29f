// The sampling options every front end takes (steps, solver, noise step, seed): their names, ranges and the one
// check of each. Pure (no tensor code), so the config schema, serve's form parser and the CLI import it freely;
// each caller wraps the problem text in its own error type (PipelineError, HTTP 400, ModelLoadError, ...).

/** torchdiffeq's names (src/flow/solvers implements each; a test keeps the two equal). */
export const SOLVER_NAMES = ['euler', 'midpoint', 'heun', 'heun2', 'heun3', 'rk4', 'rk4_classic', 'dopri5'] as const;
export type SolverName = (typeof SOLVER_NAMES)[number];
/** Solvers that place their own steps (a grid only says where to report). */
export const ADAPTIVE_SOLVERS: readonly SolverName[] = ['dopri5'];

export function isSolverName(name: string): name is SolverName {
  return (SOLVER_NAMES as readonly string[]).includes(name);
}

/** The most grid points the product's samplers accept (upsample, bundles, export: 1000 steps, the diffusion
 *  schedule's length): more only costs time, and an absurd count would run for hours or exhaust memory before
 *  saying so. linspaceGrid itself takes any size (the solver tests use long grids). */
export const MAX_GRID_POINTS = 1001;
/** The same cap in solver steps, the unit users give (`--steps`, UpsampleOptions.steps, serve's steps). */
export const MAX_SOLVER_STEPS = MAX_GRID_POINTS - 1;

/** Noise-augmentation step of the source, of the 1000-step cosine schedule; −1 (or 0) = none. */
export const NOISE_STEP_MIN = -1;
export const NOISE_STEP_MAX = 999;

export type SamplingOption = 'steps' | 'gridPoints' | 'solver' | 'noiseStep' | 'seed';

/** What is wrong with one sampling option's value ("must be …, got …"), or null when it is valid. */
export function samplingOptionProblem(option: SamplingOption, v: unknown): string | null {
  const int = (lo: number, hi: number) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
  switch (option) {
    case 'steps':
      return int(1, MAX_SOLVER_STEPS) ? null : `must be an integer from 1 to ${MAX_SOLVER_STEPS} (solver steps), got ${JSON.stringify(v)}`;
    case 'gridPoints':
      return int(2, MAX_GRID_POINTS) ? null : `must be an integer from 2 to ${MAX_GRID_POINTS} (grid points), got ${JSON.stringify(v)}`;
    case 'solver':
      return typeof v === 'string' && isSolverName(v) ? null : `must be one of ${SOLVER_NAMES.join(', ')}, got ${JSON.stringify(v)}`;
    case 'noiseStep':
      return int(NOISE_STEP_MIN, NOISE_STEP_MAX) ? null : `must be an integer in [${NOISE_STEP_MIN}, ${NOISE_STEP_MAX}], got ${JSON.stringify(v)}`;
    case 'seed':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? null : `must be an integer from 0 to 2^53 − 1 (exact in a JS number), got ${JSON.stringify(v)}`;
  }
}
