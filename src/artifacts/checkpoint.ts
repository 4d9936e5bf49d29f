// Training checkpoints: one safetensors file holding everything needed to resume.
//   tensors   model.<key>       online weights (the model's state_dict keys)
//             ema.<key>         EMA weights
//             optimizer.<key>   optimizer state tensors (optimizer.state.0.exp_avg, …)
//             rng.<name>        generator states (uint8)
//   __metadata__  format, version, step, and JSON strings: trainer (scheduler/EMA/loop state),
//                 optimizer (its stateDict meta: type, hyper-parameters, per-param steps), config.
// Writes are atomic (src/io writeSafetensors: temp file in the same directory, fsync, rename, fsync
// dir), so a crash or a full disk mid-save leaves the previous checkpoint as it was.
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, copyFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Tensor } from '../tensor/index.js';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../io/safetensors.js';
import type { Json, OptimizerMeta, OptimizerStateDict } from '../nn/optim/index.js';

import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from './formats.js';

export { CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from './formats.js';
export const CHECKPOINT_EXT = '.safetensors';

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export interface CheckpointData {
  /** Optimizer steps done (the step to resume from). */
  step: number;
  model: Map<string, Tensor>;
  ema?: Map<string, Tensor>;
  optimizer?: OptimizerStateDict;
  /** Generator states by name (uint8 tensors from Generator.getState()). */
  rng?: Map<string, Tensor>;
  /** Loop state as JSON: LR-scheduler step, EMA counter, data-loader position, … */
  trainer?: { [k: string]: Json };
  /** The resolved config. */
  config?: Json;
}

export interface LoadedCheckpoint {
  path: string;
  step: number;
  model: Map<string, Tensor>;
  ema: Map<string, Tensor>;
  optimizer?: OptimizerStateDict;
  rng: Map<string, Tensor>;
  trainer: { [k: string]: Json };
  config?: Json;
}

const SECTIONS = ['model', 'ema', 'optimizer', 'rng'] as const;

/** Writes a checkpoint file atomically. */
export function saveCheckpoint(path: string, data: CheckpointData): void {
  if (!Number.isInteger(data.step) || data.step < 0) throw new CheckpointError(`saveCheckpoint ${path}: step must be an integer ≥ 0, got ${data.step}`);
  const tensors = new Map<string, Tensor>();
  const put = (prefix: string, m: Map<string, Tensor> | undefined) => {
    if (m) for (const [k, t] of m) tensors.set(`${prefix}.${k}`, t);
  };
  put('model', data.model);
  put('ema', data.ema);
  put('optimizer', data.optimizer?.tensors);
  if (data.rng) {
    for (const [k, t] of data.rng) {
      if (t.dtype !== 'uint8') throw new CheckpointError(`saveCheckpoint ${path}: rng state "${k}" must be a uint8 tensor, got ${t.dtype}`);
    }
    put('rng', data.rng);
  }
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    version: String(CHECKPOINT_VERSION),
    step: String(data.step),
    trainer: JSON.stringify(data.trainer ?? {}),
  };
  if (data.optimizer) metadata.optimizer = JSON.stringify(data.optimizer.meta);
  if (data.config !== undefined) metadata.config = JSON.stringify(data.config);
  mkdirSync(dirname(path), { recursive: true });
  writeSafetensors(path, tensors, metadata);
}

function parseJson(path: string, key: string, text: string | undefined): Json | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw new CheckpointError(`${path}: metadata "${key}" is not valid JSON (${(e as Error).message})`);
  }
}

function checkHeader(path: string, metadata: Record<string, string>): number {
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${path}: not an fmboost training checkpoint (metadata format is ${JSON.stringify(metadata.format)}); use it as weights instead (--load_weights)`);
  }
  if (Number(metadata.version) > CHECKPOINT_VERSION) throw new CheckpointError(`${path}: checkpoint version ${metadata.version} is newer than this fmboost (${CHECKPOINT_VERSION})`);
  const step = Number(metadata.step);
  if (!Number.isInteger(step) || step < 0) throw new CheckpointError(`${path}: metadata step ${JSON.stringify(metadata.step)} is not a step count`);
  return step;
}

/** Reads a checkpoint back (tensors are new: the caller owns and disposes them). */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  const head = readSafetensorsHeader(path);
  const step = checkHeader(path, head.metadata);
  const { tensors, metadata } = readSafetensors(path);
  const out: LoadedCheckpoint = { path, step, model: new Map(), ema: new Map(), rng: new Map(), trainer: {} };
  const opt = new Map<string, Tensor>();
  for (const [k, t] of tensors) {
    const dot = k.indexOf('.');
    const section = k.slice(0, dot) as (typeof SECTIONS)[number];
    const rest = k.slice(dot + 1);
    if (section === 'model') out.model.set(rest, t);
    else if (section === 'ema') out.ema.set(rest, t);
    else if (section === 'optimizer') opt.set(rest, t);
    else if (section === 'rng') out.rng.set(rest, t);
    else {
      for (const x of tensors.values()) x.dispose();
      throw new CheckpointError(`${path}: unexpected tensor "${k}" (sections are ${SECTIONS.join(', ')})`);
    }
  }
  out.trainer = (parseJson(path, 'trainer', metadata.trainer) ?? {}) as { [k: string]: Json };
  out.config = parseJson(path, 'config', metadata.config);
  const optMeta = parseJson(path, 'optimizer', metadata.optimizer);
  if (optMeta !== undefined) out.optimizer = { tensors: opt, meta: optMeta as unknown as OptimizerMeta };
  else if (opt.size) throw new CheckpointError(`${path}: optimizer tensors without optimizer metadata`);
  return out;
}

export type CheckpointKind = 'last' | 'step' | 'interrupted';

export interface CheckpointInfo {
  path: string;
  name: string;
  kind: CheckpointKind;
  step: number;
  mtimeMs: number;
}

/**
 * A run's checkpoint folder: `step-000010000.safetensors` every N steps, `last.safetensors` (the
 * newest, a hard link to the step file when one was written at the same step), `interrupted.safetensors`
 * (saved on a signal).
 */
export class CheckpointDir {
  constructor(readonly dir: string) {}

  pathFor(kind: CheckpointKind, step?: number): string {
    if (kind === 'step') {
      if (step === undefined || !Number.isInteger(step) || step < 0) throw new CheckpointError(`a step checkpoint needs a step, got ${step}`);
      return join(this.dir, `step-${String(step).padStart(9, '0')}${CHECKPOINT_EXT}`);
    }
    return join(this.dir, `${kind}${CHECKPOINT_EXT}`);
  }

  /**
   * Saves under each requested name. The file is written once; further names are hard links made
   * atomically (link to a temp name, rename), falling back to a copy where links are not supported.
   */
  save(data: CheckpointData, kinds: CheckpointKind[]): string[] {
    if (!kinds.length) throw new CheckpointError('CheckpointDir.save: no checkpoint names requested');
    mkdirSync(this.dir, { recursive: true });
    const paths = kinds.map((k) => this.pathFor(k, data.step));
    saveCheckpoint(paths[0], data);
    for (const p of paths.slice(1)) {
      const tmp = join(this.dir, `.${basename(p)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        try {
          linkSync(paths[0], tmp);
        } catch {
          copyFileSync(paths[0], tmp);
          const fd = openSync(tmp, 'r');
          try { fsyncSync(fd); } finally { closeSync(fd); }
        }
        renameSync(tmp, p);
      } catch (e) {
        try { unlinkSync(tmp); } catch { /* not created */ }
        throw new CheckpointError(`saving ${p}: ${(e as Error).message}`);
      }
    }
    try {
      const dfd = openSync(this.dir, 'r');
      try { fsyncSync(dfd); } finally { closeSync(dfd); }
    } catch { /* best effort, as in writeSafetensors */ }
    return paths;
  }

  /** Every readable checkpoint in the folder (temp files and other files are skipped), oldest step first. */
  list(): CheckpointInfo[] {
    if (!existsSync(this.dir)) return [];
    const out: CheckpointInfo[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith(CHECKPOINT_EXT) || name.startsWith('.')) continue;
      const kind: CheckpointKind | undefined = name === `last${CHECKPOINT_EXT}` ? 'last'
        : name === `interrupted${CHECKPOINT_EXT}` ? 'interrupted'
        : /^step-\d+\.safetensors$/.test(name) ? 'step' : undefined;
      if (!kind) continue;
      const path = join(this.dir, name);
      try {
        const step = checkHeader(path, readSafetensorsHeader(path).metadata);
        out.push({ path, name, kind, step, mtimeMs: statSync(path).mtimeMs });
      } catch {
        // unreadable or foreign file: not a resume candidate
      }
    }
    return out.sort((a, b) => a.step - b.step || a.mtimeMs - b.mtimeMs);
  }

  /** The checkpoint to resume from: highest step; at equal steps the most recently written. */
  latest(): CheckpointInfo | undefined {
    const all = this.list();
    return all[all.length - 1];
  }
}
