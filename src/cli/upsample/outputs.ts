// Where `fmboost upsample` writes, decided before any work: `-o` is a file when there is one input and it has an
// image extension (or `-` for stdout), a folder otherwise; names come from a template. Two inputs that would
// write one file, and outputs that already exist (unless --overwrite / --skip-existing), are refused up front.
import { existsSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import type { ImageFormat } from '../../data/index.js';
import { nearest } from '../../util/suggest.js';
import { UsageError } from '../errors.js';
import type { InputItem } from './inputs.js';

/** --format names → encoder formats and file extensions. */
export const FORMATS: Record<string, { format: ImageFormat; ext: string }> = {
  png: { format: 'png', ext: 'png' }, jpg: { format: 'jpeg', ext: 'jpg' }, jpeg: { format: 'jpeg', ext: 'jpg' }, webp: { format: 'webp', ext: 'webp' },
};

export const DEFAULT_NAME = '{stem}_x{scale}.{ext}';
/** Fields of the --name template. */
export const NAME_FIELDS = {
  stem: 'input file name without its extension (stdin: "stdin")',
  srcext: 'input extension without the dot (tells photo.png and photo.webp apart)',
  ext: 'output extension (png, jpg, webp)',
  scale: 'overall scale',
  model: 'model name',
  steps: 'solver steps',
  solver: 'ODE solver',
  seed: 'seed',
  index: 'position of the input in the batch, from 1',
} as const;
export type NameField = keyof typeof NAME_FIELDS;

export interface RunFields { scale: number; model: string; steps: number; solver: string; seed: number }

export interface PlannedOutput {
  item: InputItem;
  /** Absolute output path, or '-' for stdout. */
  path: string;
  format: ImageFormat;
  /** --compare's side-by-side image (not for stdout or latents). */
  comparePath?: string;
}

export interface OutputPlanOptions {
  /** -o/--out as given (undefined: the folder 'upscaled'). */
  out?: string;
  /** --name template (default DEFAULT_NAME). */
  name?: string;
  /** --format as given. */
  format?: string;
  compare?: boolean;
}

function formatOf(name: string, flag: string): { format: ImageFormat; ext: string } {
  const f = FORMATS[name.toLowerCase()];
  if (!f) throw new UsageError(`${flag} must be png, jpg or webp, got '${name}'`);
  return f;
}

/** Checks a --name template: known fields only, no folders. */
export function checkTemplate(t: string): void {
  if (!t.trim()) throw new UsageError('--name must not be empty');
  if (/[/\\]/.test(t) || t.includes('..')) throw new UsageError(`--name '${t}' must be a file name, without folders or '..'`);
  for (const m of t.matchAll(/\{([^}]*)\}/g)) {
    if (m[1] in NAME_FIELDS) continue;
    const near = nearest(m[1], Object.keys(NAME_FIELDS));
    throw new UsageError(`--name: unknown field {${m[1]}}${near ? ` (did you mean {${near}}?)` : ''}; fields: ${Object.keys(NAME_FIELDS).map((k) => `{${k}}`).join(', ')}`);
  }
}

/** Fills a --name template for one input. */
export function fillTemplate(t: string, item: InputItem, index: number, ext: string, run: RunFields): string {
  const src = item.path === '-' ? '' : extname(item.path);
  const v: Record<NameField, string> = {
    stem: item.path === '-' ? 'stdin' : basename(item.path, src), srcext: src.replace(/^\./, '').toLowerCase(), ext,
    scale: String(run.scale), model: run.model.replace(/[^\w.-]+/g, '_'), steps: String(run.steps), solver: run.solver, seed: String(run.seed), index: String(index + 1),
  };
  return t.replace(/\{(\w+)\}/g, (_, k: NameField) => v[k]);
}

/** Every output path of the batch; throws UsageError on a bad -o / template / format, or a name collision. */
export function planOutputs(items: InputItem[], run: RunFields, o: OutputPlanOptions): PlannedOutput[] {
  const explicit = o.format !== undefined ? formatOf(o.format, '--format') : undefined;
  if (o.out === '-') {
    if (items.length !== 1) throw new UsageError(`-o - (stdout) takes one input, got ${items.length}`);
    if (o.compare) throw new UsageError('--compare cannot go to stdout (-o -): give an output folder');
    return [{ item: items[0], path: '-', format: (explicit ?? FORMATS.png).format }];
  }
  const out = o.out ?? 'upscaled';
  const ext = extname(out).toLowerCase().replace(/^\./, '');
  const isDir = existsSync(out) && statSync(out).isDirectory();
  if (!isDir && ext in FORMATS && o.name === undefined) {
    // a file name: one input, one output
    if (items.length !== 1) throw new UsageError(`-o ${out} names one file, but there are ${items.length} inputs; give a folder for several`);
    const f = formatOf(ext, '-o');
    if (explicit && explicit.format !== f.format) throw new UsageError(`--format ${o.format} does not match the extension of -o ${out}`);
    const path = resolve(out);
    const cmp = o.compare && items[0].kind === 'image' ? path.slice(0, -extname(path).length) + `_compare.${f.ext}` : undefined;
    return [{ item: items[0], path, format: f.format, ...(cmp ? { comparePath: cmp } : {}) }];
  }
  const template = o.name ?? DEFAULT_NAME;
  checkTemplate(template);
  const f = explicit ?? FORMATS.png;
  const plan = items.map((item, i): PlannedOutput => {
    const name = fillTemplate(template, item, i, f.ext, run);
    const path = resolve(out, item.dir, name);
    const e = extname(name);
    const cmp = o.compare && item.kind === 'image' ? resolve(out, item.dir, `${e ? name.slice(0, -e.length) : name}_compare${e}`) : undefined;
    return { item, path, format: f.format, ...(cmp ? { comparePath: cmp } : {}) };
  });
  const seen = new Map<string, string>();
  const clashes: string[] = [];
  for (const p of plan) {
    for (const path of [p.path, p.comparePath]) {
      if (!path) continue;
      const prev = seen.get(path);
      if (prev !== undefined) clashes.push(`${prev} and ${p.item.path} → ${path}`);
      else seen.set(path, p.item.path);
    }
  }
  if (clashes.length) {
    throw new UsageError(`${clashes.length} output name collision${clashes.length > 1 ? 's' : ''} (nothing was written): ${clashes.slice(0, 5).join('; ')}${clashes.length > 5 ? '; …' : ''}. Add {srcext} or {index} to --name (e.g. --name '{stem}_{srcext}_x{scale}.{ext}'), or use separate -o folders`);
  }
  return plan;
}

export type ExistingPolicy = 'refuse' | 'overwrite' | 'skip';

/** The planned outputs that already exist (an existing folder in the way counts too). */
export function existingOutputs(plan: PlannedOutput[]): string[] {
  return plan.flatMap((p) => [p.path, p.comparePath]).filter((x): x is string => x !== undefined && x !== '-' && existsSync(x));
}

/** Applies --overwrite / --skip-existing: throws when outputs exist and neither was given; returns what to run. */
export function applyExisting(plan: PlannedOutput[], policy: ExistingPolicy): { run: PlannedOutput[]; skipped: PlannedOutput[] } {
  if (policy === 'overwrite') return { run: plan, skipped: [] };
  const exists = (p: PlannedOutput) => p.path !== '-' && existsSync(p.path);
  if (policy === 'skip') return { run: plan.filter((p) => !exists(p)), skipped: plan.filter(exists) };
  const there = existingOutputs(plan);
  if (there.length) {
    throw new UsageError(`${there.length} output${there.length > 1 ? 's' : ''} already exist${there.length > 1 ? '' : 's'} (nothing was written): ${there.slice(0, 3).join(', ')}${there.length > 3 ? ', …' : ''}; add --overwrite to replace them or --skip-existing to keep them`);
  }
  return { run: plan, skipped: [] };
}
