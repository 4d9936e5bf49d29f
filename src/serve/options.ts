// Upscale options as they arrive over HTTP (query string or form fields, all strings), validated
// into a typed object. Unknown names are rejected (400) so a typo never silently runs the defaults.
import { nearest } from '../util/suggest.js';
import { HttpError } from './errors.js';

import { NOISE_STEP_MAX, NOISE_STEP_MIN, SOLVER_NAMES, isSolverName, type SolverName } from '../flow/sampling_options.js';

/** Options of one upscale job; absent fields take the pipeline's defaults. */
export interface JobOptions {
  steps?: number;
  solver?: SolverName;
  scale?: number;
  seed?: number;
  noiseStep?: number;
  /** Encoding of the result (default png) and its quality for jpeg / webp (default 95). */
  format?: 'png' | 'jpeg' | 'webp';
  quality?: number;
}

/** Limits on what a client may ask for (the server's cost guard). */
export interface OptionLimits {
  maxSteps: number;
  /** Scales the loaded model supports; undefined accepts any scale in (1, 8]. */
  scales?: readonly number[];
}

export const DEFAULT_OPTION_LIMITS: OptionLimits = { maxSteps: 200 };

/** Wire names (snake_case, like the reference's CLI) → JobOptions fields. */
const FIELDS = { steps: 'steps', solver: 'solver', scale: 'scale', seed: 'seed', noise_step: 'noiseStep', format: 'format', quality: 'quality' } as const;
export const OPTION_NAMES = Object.keys(FIELDS);

function int(name: string, v: string, lo: number, hi: number): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < lo || n > hi) throw new HttpError(400, `option ${name} must be an integer in [${lo}, ${hi}], got '${v}'`);
  return n;
}

/** Parses string fields; empty strings count as absent (an empty form field). Throws HttpError(400). */
export function parseJobOptions(fields: Iterable<[string, string]>, limits: OptionLimits = DEFAULT_OPTION_LIMITS): JobOptions {
  const out: JobOptions = {};
  const unknown: string[] = [];
  const seen = new Set<string>();
  for (const [name, raw] of fields) {
    if (!Object.prototype.hasOwnProperty.call(FIELDS, name)) { unknown.push(name); continue; }
    if (seen.has(name)) throw new HttpError(400, `option ${name} given more than once`);
    seen.add(name);
    const v = raw.trim();
    if (v === '') continue;
    switch (name as keyof typeof FIELDS) {
      case 'steps': out.steps = int(name, v, 1, limits.maxSteps); break; // solver steps
      case 'seed': out.seed = int(name, v, 0, Number.MAX_SAFE_INTEGER); break;
      case 'noise_step': out.noiseStep = int(name, v, NOISE_STEP_MIN, NOISE_STEP_MAX); break; // -1: no noise augmentation
      case 'quality': out.quality = int(name, v, 1, 100); break;
      case 'format': {
        const f = v.toLowerCase() === 'jpg' ? 'jpeg' : v.toLowerCase();
        if (f !== 'png' && f !== 'jpeg' && f !== 'webp') throw new HttpError(400, `option format must be png, jpeg or webp, got '${v}'`);
        out.format = f;
        break;
      }
      case 'solver':
        if (!isSolverName(v)) throw new HttpError(400, `option solver must be one of ${SOLVER_NAMES.join(', ')}, got '${v}'`);
        out.solver = v;
        break;
      case 'scale': {
        const s = Number(v);
        if (limits.scales) {
          if (!limits.scales.includes(s)) throw new HttpError(400, `option scale must be one of ${limits.scales.join(', ')} for this model, got '${v}'`);
        } else if (!Number.isFinite(s) || s <= 1 || s > 8) throw new HttpError(400, `option scale must be a number in (1, 8], got '${v}'`);
        out.scale = s;
        break;
      }
    }
  }
  if (unknown.length) {
    const parts = unknown.map((u) => { const n = nearest(u, OPTION_NAMES); return n ? `'${u}' (did you mean '${n}'?)` : `'${u}'`; });
    throw new HttpError(400, `unknown option${unknown.length > 1 ? 's' : ''} ${parts.join(', ')}; valid options: ${OPTION_NAMES.join(', ')}`);
  }
  return out;
}
