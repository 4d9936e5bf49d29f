// Loading a training config: YAML (native or reference layout) → dotlist overrides → schema validation
// (defaults filled) → cross-key checks. The resolved config can be dumped back to YAML.
import { readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { Document, isScalar, parse, parseDocument, visit } from 'yaml';
import { ConfigError, specAt, unknownKeyMessage, validate, type Issue, type Spec } from '../../util/schema.js';
import { configSpec, type FmboostConfig } from './spec.js';
import { adaptReferenceConfig, isReferenceLayout } from './reference.js';

export interface LoadedConfig {
  config: FmboostConfig;
  /** 'reference' when the file used the reference's target/params layout. */
  layout: 'native' | 'reference';
  warnings: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses YAML text strictly (duplicate keys are errors: the later one would silently win). */
export function parseYaml(text: string, source = 'config'): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) {
    throw new ConfigError(doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message.split('\n')[0].replace(/:$/, '')}` })), source);
  }
  return doc.toJS();
}

/** One `a.b.c=value` override: the key path and the value parsed as a YAML scalar or flow collection. */
export function parseOverride(s: string): { path: string[]; value: unknown } {
  const eq = s.indexOf('=');
  if (eq <= 0) throw new ConfigError([{ path: s, message: 'an override must look like key.path=value (e.g. train.lr=1e-4)' }], 'override');
  const key = s.slice(0, eq).trim();
  const raw = s.slice(eq + 1);
  let value: unknown;
  try {
    value = raw.trim() === '' ? null : parse(raw);
  } catch (e) {
    throw new ConfigError([{ path: key, message: `cannot parse value ${JSON.stringify(raw)} as YAML: ${(e as Error).message.split('\n')[0]}` }], 'override');
  }
  return { path: key.split('.'), value };
}

/** Checks an override's key path against the schema, naming the first wrong segment with a suggestion. */
function checkOverridePath(path: string[]): Issue | undefined {
  let spec: Spec = configSpec;
  for (let i = 0; i < path.length; i++) {
    if (spec.kind !== 'object') return { path: path.slice(0, i).join('.'), message: `"${path.slice(0, i).join('.')}" is a value, not a section; cannot set "${path.slice(i).join('.')}" inside it` };
    const fields = spec.fields as Record<string, Spec>;
    const next: Spec | undefined = fields[path[i]];
    if (!next) return { path: path.slice(0, i + 1).join('.'), message: unknownKeyMessage(path[i], Object.keys(fields)) };
    spec = next;
  }
  return undefined;
}

/** Applies overrides to a raw (unvalidated) native-layout object, in order. */
export function applyOverrides(raw: Obj, overrides: readonly string[]): Obj {
  const issues: Issue[] = [];
  const out = structuredClone(raw);
  for (const o of overrides) {
    const { path, value } = parseOverride(o);
    const bad = checkOverridePath(path);
    if (bad) { issues.push({ path: bad.path, message: `${bad.message} (in override "${o}")` }); continue; }
    let cur = out;
    for (const k of path.slice(0, -1)) {
      if (!isObj(cur[k])) cur[k] = {};
      cur = cur[k] as Obj;
    }
    // A whole section given as a mapping replaces only the keys it names.
    const last = path[path.length - 1];
    const spec = specAt(configSpec, path);
    cur[last] = spec?.kind === 'object' && isObj(value) && isObj(cur[last]) ? { ...(cur[last] as Obj), ...value } : value;
  }
  if (issues.length) throw new ConfigError(issues, 'override');
  return out;
}

/** Rules between keys that the per-key schema cannot express. */
export function crossChecks(c: FmboostConfig): { issues: Issue[]; warnings: string[] } {
  const issues: Issue[] = [];
  const warnings: string[] = [];
  const { unet, flow } = c.model;
  const d = c.data;
  if (d.low_res_size % 8 !== 0) issues.push({ path: 'data.low_res_size', message: `must be divisible by 8 (the autoencoder downsamples 8×), got ${d.low_res_size}` });
  if (d.image_size % 8 !== 0) issues.push({ path: 'data.image_size', message: `must be divisible by 8, got ${d.image_size}` });
  if (d.resize_shorter !== null && d.resize_shorter < d.image_size) issues.push({ path: 'data.resize_shorter', message: `must be at least data.image_size (${d.image_size}), got ${d.resize_shorter}` });
  if (d.low_res_size >= d.image_size && flow.source !== 'noise') issues.push({ path: 'data.low_res_size', message: `must be smaller than data.image_size (${d.image_size}), got ${d.low_res_size}` });
  if (flow.source === 'noise_upsampling' && d.image_size % d.low_res_size !== 0) {
    issues.push({ path: 'model.flow.source', message: `noise_upsampling needs data.image_size (${d.image_size}) to be a multiple of data.low_res_size (${d.low_res_size})` });
  }
  if (flow.start_from_noise && flow.noising_step > 0) {
    issues.push({ path: 'model.flow.noising_step', message: `start_from_noise cannot be combined with noising (as in the reference); set model.flow.noising_step=-1` });
  }
  if (flow.noising_step === 0 || flow.noising_step === 1) issues.push({ path: 'model.flow.noising_step', message: `must be −1 (off) or ≥ 2 (as in the reference), got ${flow.noising_step}` });
  if (flow.schedule === 'gvp' && flow.sigma_min !== 0) issues.push({ path: 'model.flow.sigma_min', message: 'the gvp schedule does not support sigma_min' });
  if (flow.source === 'noise') {
    if (unet.in_channels !== unet.out_channels) issues.push({ path: 'model.unet.in_channels', message: `must equal out_channels with source noise (no context latent is concatenated): ${unet.out_channels}, got ${unet.in_channels}` });
    if (flow.start_from_noise || flow.noising_step > 0) issues.push({ path: 'model.flow.source', message: 'source noise already starts from N(0, I): set model.flow.start_from_noise=false and model.flow.noising_step=-1' });
  } else if (unet.in_channels !== 2 * unet.out_channels) {
    issues.push({ path: 'model.unet.in_channels', message: `must be 2 × out_channels (x_t concatenated with the context latent): ${2 * unet.out_channels}, got ${unet.in_channels}` });
  }
  for (const [i, m] of unet.channel_mult.entries()) {
    if ((unet.model_channels * m) % 32 !== 0) issues.push({ path: `model.unet.channel_mult[${i}]`, message: `model_channels × mult = ${unet.model_channels * m} is not divisible by 32 (GroupNorm(32))` });
  }
  const maxDs = 2 ** (unet.channel_mult.length - 1);
  const unreached = unet.attention_resolutions.filter((r) => r > maxDs || (r & (r - 1)) !== 0);
  if (unreached.length && c.mode === 'flow') warnings.push(`model.unet.attention_resolutions ${JSON.stringify(unreached)} are never reached (downsampling factors go 1…${maxDs}); attention is used at the others and in the middle block`);
  const t = c.train;
  if (t.lr_schedule === 'cosine_warmup') {
    if (t.max_steps === null) issues.push({ path: 'train.max_steps', message: 'cosine_warmup needs a finite max_steps' });
    else if (t.max_steps <= t.warmup_steps) issues.push({ path: 'train.warmup_steps', message: `must be smaller than train.max_steps (${t.max_steps}) for cosine_warmup` });
  }
  if (t.val.every > 0 && t.val.crop_size > d.image_size) issues.push({ path: 'train.val.crop_size', message: `larger than data.image_size (${d.image_size}), got ${t.val.crop_size}` });
  if (t.optimizer === 'adam' && t.weight_decay > 0) warnings.push('train.weight_decay with adam is L2 regularization; use train.optimizer=adamw for decoupled decay');
  return { issues, warnings };
}

/** Parses, adapts, overrides and validates config text. */
export function resolveConfig(text: string, overrides: readonly string[] = [], source = 'config'): LoadedConfig {
  const doc = parseYaml(text, source) ?? {};
  let raw: Obj;
  let layout: LoadedConfig['layout'] = 'native';
  const warnings: string[] = [];
  if (isReferenceLayout(doc)) {
    const a = adaptReferenceConfig(doc, source);
    raw = a.config;
    warnings.push(...a.warnings);
    layout = 'reference';
  } else if (isObj(doc)) raw = doc;
  else throw new ConfigError([{ path: '', message: `expected a mapping at the top level, got ${JSON.stringify(doc)}` }], source);
  raw = applyOverrides(raw, overrides);
  const config = validate(configSpec, raw, source);
  const x = crossChecks(config);
  if (x.issues.length) throw new ConfigError(x.issues, source);
  warnings.push(...x.warnings);
  return { config, layout, warnings };
}

/** Reads a config file (native or reference layout) and resolves it; the name defaults to the file's. */
export function loadConfig(path: string, overrides: readonly string[] = []): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError([{ path: '', message: `cannot read config file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }], path);
  }
  const r = resolveConfig(text, overrides, path);
  if (r.config.name === null) r.config.name = basename(path, extname(path));
  return r;
}

/** The resolved config as YAML (every key, defaults included), loadable again by loadConfig. */
export function dumpConfig(config: FmboostConfig, header?: string): string {
  const head = header ? header.split('\n').map((l) => `# ${l}`.trimEnd()).join('\n') + '\n' : '';
  const doc = new Document(config);
  // Lists of plain values read best inline: channel_mult: [1, 2, 4, 8].
  visit(doc, { Seq: (_k, node) => { if (node.items.every((i) => isScalar(i))) node.flow = true; } });
  return head + doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** Writes the resolved config beside an experiment (atomic: temp file + rename). */
export function saveResolvedConfig(path: string, config: FmboostConfig, header = 'resolved fmboost config (all defaults filled in)'): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, dumpConfig(config, header));
  renameSync(tmp, path);
}
