// Shared helpers for model configs: accept the reference's snake_case keys as well as our camelCase.
import { snakeToCamel as camel } from '../util/case.js';

/** A model config was malformed; the message names the offending key. */
export class ModelConfigError extends Error {
  override name = 'ModelConfigError';
}


/**
 * Copies a config given in camelCase or snake_case into camelCase, rejecting keys the model does not know
 * (a typo must not silently fall back to a default) and keys given in both spellings.
 */
export function normalizeKeys(model: string, raw: Record<string, unknown>, known: readonly string[], ignored: readonly string[] = []): Record<string, unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ModelConfigError(`${model}: config must be an object`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const c = camel(k);
    if (ignored.includes(c) || ignored.includes(k)) continue;
    if (!known.includes(c)) throw new ModelConfigError(`${model}: unknown config key '${k}' (known: ${known.join(', ')})`);
    if (c in out) throw new ModelConfigError(`${model}: config key '${k}' given twice (snake_case and camelCase)`);
    out[c] = v;
  }
  return out;
}

export function intOpt(model: string, o: Record<string, unknown>, key: string, dflt?: number, min = -Infinity): number {
  const v = o[key] ?? dflt;
  if (v === undefined) throw new ModelConfigError(`${model}: config needs '${key}'`);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ModelConfigError(`${model}: '${key}' must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return v;
}

export function numOpt(model: string, o: Record<string, unknown>, key: string, dflt: number, min: number, max: number): number {
  const v = o[key] ?? dflt;
  if (typeof v !== 'number' || !(v >= min && v <= max)) throw new ModelConfigError(`${model}: '${key}' must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return v;
}

export function boolOpt(model: string, o: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = o[key] ?? dflt;
  if (typeof v !== 'boolean') throw new ModelConfigError(`${model}: '${key}' must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

export function intListOpt(model: string, o: Record<string, unknown>, key: string, dflt: number[] | undefined, min: number, nonEmpty: boolean): number[] {
  const v = o[key] ?? dflt;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < min) || (nonEmpty && v.length === 0)) {
    throw new ModelConfigError(`${model}: '${key}' must be a${nonEmpty ? ' non-empty' : 'n'} array of integers ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return [...v];
}

export function checkGroups(model: string, where: string, channels: number, groups: number): void {
  if (channels % groups !== 0) throw new ModelConfigError(`${model}: ${where} has ${channels} channels, not divisible by ${groups} GroupNorm groups`);
}
