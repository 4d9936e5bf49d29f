// Sampling entry point: low-res latent (or a prepared source/context) → high-res latent by integrating
// the learned field from t = 0 to 1 over linspace(0, 1, steps), as the reference's generate().
import { Generator, cat, keep, noGrad, tidy, type Tensor } from '../tensor/index.js';
import { FlowError } from './errors.js';
import { FlowMatcher, checkContext, type VelocityNet } from './matcher.js';
import { NoiseAugmenter } from './noise_augment.js';
import { buildSourceAndContext, type CouplingOptions, type UpsampleInputs } from './source.js';
import { getSolver, getSolverAsync, isSolverName, SOLVER_NAMES, type SolverName } from './solvers/index.js';
import type { StepInfo } from './solvers/types.js';
import { linspaceGrid } from './time_grid.js';

export interface SampleOptions {
  /** ODE method (default euler, the reference's generate() default). */
  solver?: SolverName;
  /** Grid points N of linspace(0, 1, N): N − 1 steps (default 50; the reference validates with rk4 / 40). */
  steps?: number;
  /** Tolerances for dopri5 (the reference: atol 1e-6, rtol 1e-3). */
  atol?: number;
  rtol?: number;
  /** Noise-augmentation step applied to the source before integrating (≤ 0: none; the paper: 400). */
  noiseStep?: number;
  /** Seed of the augmentation / start noise (fresh noise per call, reproducible per seed). */
  seed?: number;
  generator?: Generator;
  /** Integrate this many samples at a time (default: all); noise is drawn for the whole batch first. */
  batchSize?: number;
  /** The matcher whose field is integrated (default linear path). */
  matcher?: FlowMatcher;
  /** Round the time grid like torch.linspace in float32 (the reference) or keep float64. */
  gridDtype?: 'float32' | 'float64';
  callback?: (info: StepInfo & { batch: number; batches: number }) => void;
  signal?: AbortSignal;
}

/** Either the low-res latent with how to couple it, or an already built source and context. */
export type SampleInput =
  | { source: Tensor; context?: Tensor | null }
  | (UpsampleInputs & { coupling?: Omit<CouplingOptions, 'noisingStep' | 'augmenter' | 'generator'> });

export interface SampleResult {
  latent: Tensor;
  nfe: number;
}

interface Prepared {
  source: Tensor;
  context: Tensor | null;
  solver: SolverName;
  grid: number[];
  batch: number;
  chunk: number;
  matcher: FlowMatcher;
  solveOpts: { atol?: number; rtol?: number };
}

function prepare(input: SampleInput, opts: SampleOptions): Prepared {
  const solver = opts.solver ?? 'euler';
  if (!isSolverName(solver)) throw new FlowError('sample', `unknown solver '${solver as string}' (${SOLVER_NAMES.join(', ')})`);
  const steps = opts.steps ?? 50;
  const grid = linspaceGrid(steps, { dtype: opts.gridDtype ?? 'float32' });
  const generator = opts.generator ?? new Generator(opts.seed ?? 0);
  const noiseStep = opts.noiseStep ?? 0;
  const augmenter = noiseStep > 0 ? new NoiseAugmenter({ generator }) : undefined;
  let source: Tensor, context: Tensor | null;
  if ('source' in input) {
    checkContext('sample', input.source, input.context);
    ({ source, context } = tidy(() => ({
      source: augmenter ? augmenter.qSample(input.source, noiseStep) : input.source.clone(),
      context: input.context ? input.context.alias() : null,
    })));
  } else {
    ({ source, context } = buildSourceAndContext(input, { ...input.coupling, noisingStep: noiseStep, augmenter, generator }));
  }
  const batch = source.shape[0];
  const chunk = opts.batchSize ?? batch;
  if (!Number.isInteger(chunk) || chunk < 1) {
    source.dispose();
    context?.dispose();
    throw new FlowError('sample', `batchSize must be a positive integer, got ${opts.batchSize}`);
  }
  return { source, context, solver, grid, batch, chunk, matcher: opts.matcher ?? new FlowMatcher(), solveOpts: { atol: opts.atol ?? 1e-6, rtol: opts.rtol ?? 1e-3 } };
}

function chunks(p: Prepared): { x: Tensor; c: Tensor | null }[] {
  const out: { x: Tensor; c: Tensor | null }[] = [];
  for (let s = 0; s < p.batch; s += p.chunk) {
    const n = Math.min(p.chunk, p.batch - s);
    out.push({ x: p.source.narrow(0, s, n), c: p.context ? p.context.narrow(0, s, n) : null });
  }
  return out;
}

/**
 * The high-res latent for a batch: builds x0 (coupled, noise-augmented) and the context, then
 * integrates net's field with the chosen solver. Runs without autograd.
 */
export function sample(net: VelocityNet, input: SampleInput, opts: SampleOptions = {}): SampleResult {
  const p = prepare(input, opts);
  const solve = getSolver(p.solver);
  let nfe = 0;
  try {
    return noGrad(() => tidy(() => {
      const parts = chunks(p);
      const outs = parts.map(({ x, c }, i) => {
        const r = solve(p.matcher.field(net, c), x, p.grid, {
          ...p.solveOpts,
          signal: opts.signal,
          callback: opts.callback && ((info) => opts.callback!({ ...info, batch: i, batches: parts.length })),
        });
        nfe += r.nfe;
        return r.x;
      });
      return { latent: outs.length === 1 ? outs[0] : cat(outs, 0), nfe };
    }));
  } finally {
    p.source.dispose();
    p.context?.dispose();
  }
}

/** sample(), yielding to the event loop between steps (for servers: abortable from elsewhere). */
export async function sampleAsync(net: VelocityNet, input: SampleInput, opts: SampleOptions = {}): Promise<SampleResult> {
  const p = prepare(input, opts);
  const solve = getSolverAsync(p.solver);
  const parts = chunks(p);
  // These outlive any scope the caller has open at the call: this function frees them itself.
  for (const t of [p.source, p.context, ...parts.flatMap(({ x, c }) => [x, c])]) if (t) keep(t);
  const outs: Tensor[] = [];
  let nfe = 0;
  try {
    for (let i = 0; i < parts.length; i++) {
      const { x, c } = parts[i];
      const r = await solve((t, y) => noGrad(() => p.matcher.field(net, c)(t, y)), x, p.grid, {
        ...p.solveOpts,
        signal: opts.signal,
        callback: opts.callback && ((info) => opts.callback!({ ...info, batch: i, batches: parts.length })),
      });
      nfe += r.nfe;
      outs.push(r.x);
    }
    const latent = outs.length === 1 ? outs.pop()! : cat(outs, 0);
    return { latent, nfe };
  } finally {
    for (const t of outs) t.dispose();
    for (const { x, c } of parts) { x.dispose(); c?.dispose(); }
    p.source.dispose();
    p.context?.dispose();
  }
}
