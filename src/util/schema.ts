// A small schema language for configs: each key has a type, a default, a doc string and constraints.
// validate() fills defaults and reports every problem at once, each naming its key path; unknown keys
// are errors that suggest the nearest valid key (a misspelled key silently ignored would leave the
// default in force without anyone noticing).
import { nearest } from './suggest.js';

export type Issue = { path: string; message: string };

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly issues: Issue[], readonly source?: string) {
    super(`${source ? `${source}: ` : ''}invalid config:\n` + issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n'));
  }
}

interface Base<T> {
  doc: string;
  /** Absent key → this value. Without a default the key is required. */
  default?: T;
}
export interface NumSpec extends Base<number> { kind: 'number'; integer?: boolean; min?: number; max?: number; gt?: number; lt?: number }
export interface StrSpec<E extends string = string> extends Base<E> { kind: 'string'; enum?: readonly E[] }
export interface BoolSpec extends Base<boolean> { kind: 'boolean' }
export interface ArrSpec<I extends Spec = Spec> extends Base<unknown[]> { kind: 'array'; of: I; minLength?: number; maxLength?: number }
export interface ObjSpec<F extends Record<string, Spec> = Record<string, Spec>> { kind: 'object'; doc: string; fields: F }
export interface NullableSpec<I extends Spec = Spec> extends Base<null> { kind: 'nullable'; of: I }
export type Spec = NumSpec | StrSpec<string> | BoolSpec | ArrSpec<any> | ObjSpec<any> | NullableSpec<any>;

/** The TypeScript type a spec validates to. */
export type Infer<S> =
  S extends NumSpec ? number
  : S extends StrSpec<infer E> ? E
  : S extends BoolSpec ? boolean
  : S extends ArrSpec<infer I> ? Infer<I>[]
  : S extends ObjSpec<infer F> ? { [K in keyof F]: Infer<F[K]> }
  : S extends NullableSpec<infer I> ? Infer<I> | null
  : never;

type Opt<T> = { doc: string; default?: T };
export const num = (o: Opt<number> & Omit<NumSpec, 'kind' | 'doc' | 'default'>): NumSpec => ({ kind: 'number', ...o });
export const int = (o: Opt<number> & Omit<NumSpec, 'kind' | 'doc' | 'default' | 'integer'>): NumSpec => ({ kind: 'number', integer: true, ...o });
export const str = (o: Opt<string>): StrSpec<string> => ({ kind: 'string', ...o });
export const oneOf = <const E extends string>(values: readonly E[], o: Opt<E>): StrSpec<E> => ({ kind: 'string', enum: values, ...o });
export const bool = (o: Opt<boolean>): BoolSpec => ({ kind: 'boolean', ...o });
export const arr = <I extends Spec>(of: I, o: Opt<unknown[]> & { minLength?: number; maxLength?: number }): ArrSpec<I> => ({ kind: 'array', of, ...o }) as ArrSpec<I>;
export const obj = <F extends Record<string, Spec>>(doc: string, fields: F): ObjSpec<F> => ({ kind: 'object', doc, fields });
/** A value that may also be null; the default is null unless given. */
export const nullable = <I extends Spec>(of: I, o: { doc: string; default?: unknown }): NullableSpec<I> =>
  ({ kind: 'nullable', of, doc: o.doc, default: (o.default === undefined ? null : o.default) as null });

export { editDistance, nearest } from './suggest.js';

export function unknownKeyMessage(key: string, valid: string[]): string {
  const near = nearest(key, valid);
  return `unknown key "${key}"` + (near ? ` (did you mean "${near}"?)` : '') + `; valid keys: ${valid.join(', ')}`;
}

const join = (path: string, k: string | number) => (typeof k === 'number' ? `${path}[${k}]` : path ? `${path}.${k}` : k);
const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) || (v && typeof v === 'object') ? JSON.stringify(v) : String(v));

function check(spec: Spec, value: unknown, path: string, issues: Issue[]): unknown {
  const bad = (message: string) => { issues.push({ path, message }); return undefined; };
  switch (spec.kind) {
    case 'nullable':
      return value === null ? null : check(spec.of, value, path, issues);
    case 'number': {
      if (typeof value !== 'number' || Number.isNaN(value)) return bad(`expected a number, got ${show(value)}`);
      if (spec.integer && !Number.isInteger(value)) return bad(`expected an integer, got ${value}`);
      if (spec.min !== undefined && value < spec.min) return bad(`must be ≥ ${spec.min}, got ${value}`);
      if (spec.max !== undefined && value > spec.max) return bad(`must be ≤ ${spec.max}, got ${value}`);
      if (spec.gt !== undefined && !(value > spec.gt)) return bad(`must be > ${spec.gt}, got ${value}`);
      if (spec.lt !== undefined && !(value < spec.lt)) return bad(`must be < ${spec.lt}, got ${value}`);
      return value;
    }
    case 'string':
      if (typeof value !== 'string') return bad(`expected ${spec.enum ? `one of ${spec.enum.join(' | ')}` : 'a string'}, got ${show(value)}`);
      if (spec.enum && !spec.enum.includes(value)) {
        const near = nearest(value, spec.enum);
        return bad(`expected one of ${spec.enum.join(' | ')}, got ${show(value)}${near ? ` (did you mean "${near}"?)` : ''}`);
      }
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') return bad(`expected true or false, got ${show(value)}`);
      return value;
    case 'array': {
      if (!Array.isArray(value)) return bad(`expected a list, got ${show(value)}`);
      if (spec.minLength !== undefined && value.length < spec.minLength) return bad(`expected at least ${spec.minLength} item(s), got ${value.length}`);
      if (spec.maxLength !== undefined && value.length > spec.maxLength) return bad(`expected at most ${spec.maxLength} item(s), got ${value.length}`);
      return value.map((v, i) => check(spec.of, v, join(path, i), issues));
    }
    case 'object': {
      if (value === undefined || value === null) value = {};
      if (typeof value !== 'object' || Array.isArray(value)) return bad(`expected a mapping, got ${show(value)}`);
      const v = value as Record<string, unknown>;
      const keys = Object.keys(spec.fields);
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v)) if (!(k in spec.fields)) issues.push({ path: join(path, k), message: unknownKeyMessage(k, keys) });
      for (const k of keys) {
        const f = spec.fields[k] as Spec;
        if (v[k] === undefined) {
          if (f.kind === 'object') out[k] = check(f, {}, join(path, k), issues);
          else if (f.default !== undefined) out[k] = structuredClone(f.default);
          else issues.push({ path: join(path, k), message: `required key is missing (${f.doc})` });
        } else out[k] = check(f, v[k], join(path, k), issues);
      }
      return out;
    }
  }
}

/** Validates `value` against `spec`, filling defaults. Throws a ConfigError listing every problem. */
export function validate<S extends Spec>(spec: S, value: unknown, source?: string): Infer<S> {
  const issues: Issue[] = [];
  const out = check(spec, value, '', issues);
  if (issues.length) throw new ConfigError(issues, source);
  return out as Infer<S>;
}

/** Every key path of an object spec (e.g. "train.lr"), for suggestions and docs. */
export function keyPaths(spec: Spec, prefix = ''): string[] {
  if (spec.kind !== 'object') return [prefix];
  return Object.entries(spec.fields as Record<string, Spec>).flatMap(([k, f]) => keyPaths(f, prefix ? `${prefix}.${k}` : k));
}

/** The spec at a dotted key path, or undefined. */
export function specAt(spec: Spec, path: string[]): Spec | undefined {
  let s: Spec | undefined = spec;
  for (const k of path) {
    if (!s || s.kind !== 'object') return undefined;
    s = (s.fields as Record<string, Spec>)[k];
  }
  return s;
}

/** A plain-text reference of every key: path, type, default, doc. */
export function describe(spec: Spec, prefix = ''): string[] {
  if (spec.kind === 'object') {
    return Object.entries(spec.fields as Record<string, Spec>).flatMap(([k, f]) => describe(f, prefix ? `${prefix}.${k}` : k));
  }
  const type = (s: Spec): string =>
    s.kind === 'nullable' ? `${type(s.of)} | null`
    : s.kind === 'array' ? `list of ${type(s.of)}`
    : s.kind === 'string' && s.enum ? s.enum.join(' | ')
    : s.kind === 'number' && s.integer ? 'integer' : s.kind;
  const def = spec.default === undefined ? 'required' : `default ${JSON.stringify(spec.default)}`;
  return [`${prefix}: ${type(spec)} (${def}) — ${spec.doc}`];
}

/** Checks every default against its own spec (defaults are written by hand; a test runs this). */
export function checkDefaults(spec: Spec, prefix = ''): Issue[] {
  if (spec.kind === 'object') return Object.entries(spec.fields as Record<string, Spec>).flatMap(([k, f]) => checkDefaults(f, prefix ? `${prefix}.${k}` : k));
  if (spec.default === undefined) return [];
  const issues: Issue[] = [];
  check(spec, spec.default, prefix, issues);
  return issues;
}
