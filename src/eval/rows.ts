// The rows of an evaluation: baselines and CFM sampling configurations, parsed from a compact spec.
//   bicubic | lanczos        libtorch bicubic / separable Lanczos-3 of the 8-bit low-res image, 8-bit output
//   esrgan-slim | esrgan-medium   @upscalerjs/esrgan-* via tfjs (optional packages, see esrgan.ts; not in the
//                            defaults); `esrgan` is an alias of esrgan-slim
//   sharp-cubic              sharp (libvips) enlarge with kernel 'cubic' (see run.ts: offset by a fraction of a pixel)
//   vae                      VAE round trip of the high-res image (encode → decode): the model's ceiling
//   psu-rt | lsu-rt          coupled source latent decoded without the flow (isolates the flow's contribution)
//   <solver>[:<points>][:psu|lsu][:n<noiseStep>]   CFM via the pipeline, e.g. euler:11, rk4:2, dopri5, euler:11:lsu:n200
import { isSolverName, samplingOptionProblem, SOLVER_NAMES, type SolverName } from '../flow/sampling_options.js';

export type BaselineKind = 'bicubic' | 'lanczos' | 'sharp-cubic' | 'esrgan-slim' | 'esrgan-medium' | 'vae' | 'psu-rt' | 'lsu-rt';

export type EvalRow =
  | { kind: BaselineKind; label: string }
  | { kind: 'cfm'; label: string; solver: SolverName; steps?: number; source?: 'psu' | 'lsu'; noiseStep?: number };

export class EvalSpecError extends Error {
  override name = 'EvalSpecError';
}

const BASELINES: BaselineKind[] = ['bicubic', 'lanczos', 'sharp-cubic', 'esrgan-slim', 'esrgan-medium', 'vae', 'psu-rt', 'lsu-rt'];
/** Other names of rows (the row keeps the canonical label, so `esrgan,esrgan-slim` is one row). */
const ALIASES: Record<string, BaselineKind> = { esrgan: 'esrgan-slim' };

export const isEsrganKind = (k: EvalRow['kind']): k is 'esrgan-slim' | 'esrgan-medium' => k === 'esrgan-slim' || k === 'esrgan-medium';

/**
 * The default rows: baselines, euler at 2, 3, 5, 11, 21, 41 grid points, rk4 at 2 and 11, dopri5, LSU at
 * euler 11, and noise steps 0/200/400/600 at euler 11 (source and noise otherwise the model's own).
 */
/** A noise-augmentation step as the table prints it (≤ 0: none). */
export const noiseLabel = (step: number): string => (step > 0 ? String(step) : 'off');

export const DEFAULT_ROWS = [
  'bicubic', 'lanczos', 'vae', 'psu-rt', 'lsu-rt',
  'euler:2', 'euler:3', 'euler:5', 'euler:11', 'euler:21', 'euler:41', 'rk4:2', 'rk4:11', 'dopri5',
  'euler:11:psu', 'euler:11:lsu', 'euler:11:n0', 'euler:11:n200', 'euler:11:n400', 'euler:11:n600',
].join(',');

function parseOne(tok: string): EvalRow {
  const t = ALIASES[tok.trim().toLowerCase()] ?? tok.trim().toLowerCase();
  if ((BASELINES as string[]).includes(t)) return { kind: t as BaselineKind, label: t };
  const parts = t.split(':');
  const solver = parts[0];
  if (!isSolverName(solver)) {
    throw new EvalSpecError(`unknown row '${tok}': expected one of ${[...BASELINES, ...Object.keys(ALIASES)].join(', ')} or <solver>[:<points>][:psu|lsu][:n<noise>] with solver in ${SOLVER_NAMES.join(', ')}`);
  }
  const row: EvalRow = { kind: 'cfm', label: t, solver };
  for (const p of parts.slice(1)) {
    if (/^\d+$/.test(p)) {
      const n = Number(p);
      const problem = samplingOptionProblem('gridPoints', n);
      if (problem) throw new EvalSpecError(`row '${tok}': grid points ${problem}`);
      row.steps = n;
    } else if (p === 'psu' || p === 'lsu') row.source = p;
    else if (/^n-?\d+$/.test(p)) {
      const n = Number(p.slice(1));
      const problem = samplingOptionProblem('noiseStep', n);
      if (problem) throw new EvalSpecError(`row '${tok}': noise step ${problem}`);
      row.noiseStep = n;
    } else throw new EvalSpecError(`row '${tok}': cannot read '${p}' (a grid-point count, psu / lsu, or n<noiseStep>)`);
  }
  return row;
}

/** Comma-separated row tokens → rows (duplicates dropped, order kept). */
export function parseRows(spec: string = DEFAULT_ROWS): EvalRow[] {
  const seen = new Set<string>();
  const rows: EvalRow[] = [];
  for (const tok of spec.split(',')) {
    if (!tok.trim()) continue;
    const r = parseOne(tok);
    if (seen.has(r.label)) continue;
    seen.add(r.label);
    rows.push(r);
  }
  if (!rows.length) throw new EvalSpecError(`no rows in '${spec}'`);
  return rows;
}

const BASELINE_TITLES: Record<BaselineKind, string> = {
  bicubic: 'bicubic', lanczos: 'Lanczos-3', 'sharp-cubic': 'bicubic (libvips)', 'esrgan-slim': 'ESRGAN (slim)', 'esrgan-medium': 'ESRGAN (medium)',
  vae: 'VAE round trip (ceiling)', 'psu-rt': 'PSU round trip (no flow)', 'lsu-rt': 'LSU round trip (no flow)',
};

/** A row (or a grid column: 'ground truth') in words for figures: 'euler:3' → 'fmboost, euler 2 steps'. */
export function rowTitle(label: string): string {
  if (label === 'ground truth') return 'ground truth';
  let row: EvalRow;
  try {
    row = parseOne(label);
  } catch {
    return label;
  }
  if (row.kind !== 'cfm') return BASELINE_TITLES[row.kind];
  const steps = row.solver === 'dopri5' ? 'adaptive' : row.steps !== undefined ? `${row.steps - 1} step${row.steps === 2 ? '' : 's'}` : 'model\'s steps';
  const extra = [row.source ? row.source.toUpperCase() : '', row.noiseStep !== undefined ? `noise ${noiseLabel(row.noiseStep)}` : ''].filter(Boolean).join(', ');
  return `fmboost, ${row.solver} ${steps}${extra ? ` (${extra})` : ''}`;
}
