// CFM model bundles: one safetensors file with everything an upscaler needs.
//   tensors       unet.<key>  the flow UNet (EMA weights when exported from training)
//                 vae.<key>   the autoencoder (LDM key names)
//   __metadata__  format = fmboost-cfm-model, version, name, and JSON strings unet (EfficientUNet config),
//                 vae (AutoencoderKL config), flow (FlowBundleConfig).
// A training checkpoint (src/artifacts/checkpoint.ts) also loads: its EMA UNet and config, plus the VAE
// weights its config names (or a VAE given by the caller).
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { tidy, withDefaultDevice, type Tensor } from '../tensor/index.js';
import { writeSafetensors } from '../io/index.js';
import {
  EfficientUNet, AutoencoderKL, resolveUNetConfig, resolveVAEConfig, readVaeStateDict, presetConfig, VAE_PRESETS, type ResolvedUNetConfig, type ResolvedVAEConfig,
} from '../models/index.js';
import type { SolverName } from '../flow/index.js';
import { BUNDLE_FORMAT, BUNDLE_VERSION } from '../artifacts/formats.js';
import { openArtifact, type Artifact, type ArtifactKind } from '../artifacts/open.js';
import { unetModelConfig, vaeModelOverrides } from '../artifacts/config_translation.js';
import { ModelLoadError } from './errors.js';
import { disposeModel, flowConfigOfRun, resolveFlowConfig, type CfmModel, type FlowBundleConfig } from '../upscale/model.js';

export { DEFAULT_FLOW_CONFIG, disposeModel, layOutFor, resolveFlowConfig, type CfmModel, type FlowBundleConfig } from '../upscale/model.js';

export { BUNDLE_FORMAT, BUNDLE_VERSION } from '../artifacts/formats.js';

export interface WriteBundleOptions {
  unet: EfficientUNet;
  vae: AutoencoderKL;
  flow?: Partial<FlowBundleConfig>;
  name?: string;
  /** Free-form provenance (training run, data, steps), stored as JSON. */
  info?: Record<string, unknown>;
  /** Storage dtype of the weights (default float32). float16 halves the file; loading casts back to float32. */
  dtype?: 'float32' | 'float16';
}

/** Writes a CFM model bundle (atomically). */
export function writeBundle(path: string, o: WriteBundleOptions): void {
  const flow = resolveFlowConfig(o.flow ?? {}, path);
  const tensors = new Map<string, Tensor>();
  const half = o.dtype === 'float16';
  const owned: Tensor[] = [];
  const put = (k: string, t: Tensor) => {
    // only floating tensors are narrowed (integer buffers, if any, keep their dtype)
    if (half && t.dtype === 'float32') { const h = t.to('float16'); owned.push(h); tensors.set(k, h); } else tensors.set(k, t);
  };
  for (const [k, t] of o.unet.stateDict()) put(`unet.${k}`, t);
  for (const [k, t] of o.vae.stateDict()) put(`vae.${k}`, t);
  const metadata: Record<string, string> = {
    format: BUNDLE_FORMAT,
    version: String(BUNDLE_VERSION),
    name: o.name ?? 'fmboost-cfm',
    unet: JSON.stringify(o.unet.config),
    vae: JSON.stringify(o.vae.config),
    flow: JSON.stringify(flow),
  };
  if (o.info) metadata.info = JSON.stringify(o.info);
  metadata.dtype = half ? 'float16' : 'float32';
  try {
    writeSafetensors(path, tensors, metadata);
  } finally {
    for (const t of owned) t.dispose();
  }
}

function parseJson(path: string, key: string, text: string | undefined): Record<string, unknown> {
  if (text === undefined) throw new ModelLoadError(path, null, `metadata has no "${key}" entry`);
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new ModelLoadError(path, null, `metadata "${key}" is not a JSON object (${(e as Error).message})`);
  }
}

/** Loads state into a module; any missing / unexpected / mismatched key is an error naming it. */
function loadInto(path: string, what: string, m: EfficientUNet | AutoencoderKL, sd: Map<string, Tensor>): void {
  const r = m.loadStateDict(sd, { strict: false });
  const problems = [
    ...r.missing.slice(0, 3).map((k) => `missing ${what}.${k}`),
    ...r.unexpected.slice(0, 3).map((k) => `unexpected ${what}.${k}`),
    ...r.mismatched.slice(0, 3).map((k) => `shape of ${what}.${k}`),
  ];
  const n = r.missing.length + r.unexpected.length + r.mismatched.length;
  if (n) throw new ModelLoadError(path, null, `${what} weights do not fit its config (${n} problem(s)): ${problems.join('; ')}`);
}

function checkFile(path: string): void {
  if (!existsSync(path)) throw new ModelLoadError(path, null, 'no such file');
  if (statSync(path).isDirectory()) throw new ModelLoadError(path, null, 'is a directory (give the model .safetensors file)');
}

/** Reads a CFM model bundle into eval-mode networks. */
export function loadBundle(path: string): CfmModel {
  checkFile(path);
  let a: Artifact;
  try {
    a = openArtifact(path);
    if (a.kind === 'torch') throw new Error('a PyTorch pickle, not safetensors');
  } catch (e) {
    throw new ModelLoadError(path, null, `not a readable safetensors file (${(e as Error).message})`);
  }
  const md = a.metadata;
  if (a.kind !== 'bundle') throw new ModelLoadError(path, null, `not a CFM model bundle (metadata format is ${JSON.stringify(md.format)}, expected "${BUNDLE_FORMAT}")`);
  if (Number(md.version) > BUNDLE_VERSION) throw new ModelLoadError(path, null, `bundle version ${md.version} is newer than this fmboost reads (${BUNDLE_VERSION})`);
  const unetCfg = parseJson(path, 'unet', md.unet), vaeCfg = parseJson(path, 'vae', md.vae);
  const flow = resolveFlowConfig(parseJson(path, 'flow', md.flow), path);
  const m = build(path, md.name ?? 'fmboost-cfm', unetCfg, vaeCfg, flow, () => split(path, a.read('')));
  try {
    const info = md.info ? JSON.parse(md.info) : undefined;
    if (info && typeof info === 'object' && !Array.isArray(info)) m.info = info;
  } catch { /* provenance is informational: a bad one does not stop the model */ }
  return m;
}

function split(path: string, tensors: Map<string, Tensor>): { unet: Map<string, Tensor>; vae: Map<string, Tensor> } {
  const unet = new Map<string, Tensor>(), vae = new Map<string, Tensor>();
  for (const [k, t] of tensors) {
    if (k.startsWith('unet.')) unet.set(k.slice(5), t);
    else if (k.startsWith('vae.')) vae.set(k.slice(4), t);
    else {
      for (const x of tensors.values()) x.dispose();
      throw new ModelLoadError(path, null, `unexpected tensor "${k}" (a bundle holds unet.* and vae.*)`);
    }
  }
  return { unet, vae };
}

function build(
  path: string, name: string, unetCfg: Record<string, unknown>, vaeCfg: Record<string, unknown>, flow: FlowBundleConfig,
  weights: () => { unet: Map<string, Tensor>; vae: Map<string, Tensor> },
): CfmModel {
  return { path, name, ...buildNets(path, unetCfg, vaeCfg, weights, 'concat'), flow };
}

/**
 * A UNet and a VAE in eval mode from their configs and weights, shapes checked on the meta device first.
 * `context`: 'concat' for a CFM (x_t and the context latent concatenated: in = 2 × out), 'none' for an
 * unconditional base model (in = out).
 */
export function buildNets(
  path: string, unetCfg: Record<string, unknown>, vaeCfg: Record<string, unknown>,
  weights: () => { unet: Map<string, Tensor>; vae: Map<string, Tensor> }, context: 'concat' | 'none',
): { unet: EfficientUNet; vae: AutoencoderKL } {
  let uc: ResolvedUNetConfig, vc: ResolvedVAEConfig;
  try {
    uc = resolveUNetConfig(unetCfg);
    vc = resolveVAEConfig(vaeCfg);
  } catch (e) {
    throw new ModelLoadError(path, null, `bad model config: ${(e as Error).message}`);
  }
  const k = context === 'concat' ? 2 : 1;
  if (uc.inChannels !== k * uc.outChannels || uc.outChannels !== vc.embedDim) {
    throw new ModelLoadError(path, null, `UNet in/out channels ${uc.inChannels}/${uc.outChannels} do not fit a VAE with ${vc.embedDim} latent channels (need in = ${k === 2 ? '2 × out = 2 × ' : 'out = '}${vc.embedDim})`);
  }
  const w = weights(); // bounded by the file's size
  let unet: EfficientUNet | undefined, vae: AutoencoderKL | undefined;
  try {
    // The config's shapes against the file's before anything is allocated: built on the meta device, the models
    // are shapes only, so metadata asking for a far larger model than its weights (modelChannels 4096) fails here.
    for (const [what, make, sd] of [['unet', () => new EfficientUNet(uc), w.unet], ['vae', () => new AutoencoderKL(vc), w.vae]] as const) {
      const probe = withDefaultDevice<EfficientUNet | AutoencoderKL>('meta', make);
      try { loadInto(path, what, probe, sd); } finally { probe.dispose(); }
    }
    unet = new EfficientUNet(uc);
    vae = new AutoencoderKL(vc);
    loadInto(path, 'unet', unet, w.unet);
    loadInto(path, 'vae', vae, w.vae);
  } catch (e) {
    unet?.dispose();
    vae?.dispose();
    throw e;
  } finally {
    for (const t of [...w.unet.values(), ...w.vae.values()]) t.dispose();
  }
  unet.eval();
  vae.eval();
  return { unet, vae };
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

export interface CheckpointLoadOptions {
  /** VAE weights (LDM / diffusers safetensors or .ckpt, or a CFM bundle) when the checkpoint's config names none. */
  vae?: string;
  /** Use the online weights instead of the EMA (default: EMA when present, as the reference samples). */
  online?: boolean;
}

/** A training checkpoint (src/artifacts/checkpoint.ts) as a CfmModel: EMA UNet + config + VAE weights. */
export function loadTrainingCheckpoint(path: string, opts: CheckpointLoadOptions = {}): CfmModel {
  const run = openTrainingRun(path, opts);
  return build(path, run.name, run.unetCfg, run.vaeCfg, flowConfigOfRun(run.config, path), run.weights);
}

/** A flow training checkpoint's parts, nothing loaded yet: its config, the UNet and VAE configs, and a reader of
 *  the (EMA) UNet and VAE weights (the VAE from the file its config names, or opts.vae). */
export interface TrainingRun {
  config: Record<string, unknown>;
  name: string;
  unetCfg: Record<string, unknown>;
  vaeCfg: Record<string, unknown>;
  weights: () => { unet: Map<string, Tensor>; vae: Map<string, Tensor> };
}

export function openTrainingRun(path: string, opts: CheckpointLoadOptions = {}): TrainingRun {
  checkFile(path);
  let a: Artifact;
  try {
    a = openArtifact(path);
  } catch (e) {
    throw new ModelLoadError(path, null, `not a readable training checkpoint (${(e as Error).message})`);
  }
  const md = a.metadata;
  if (a.kind !== 'checkpoint') throw new ModelLoadError(path, null, `not an fmboost training checkpoint (metadata format ${JSON.stringify(md.format)})`);
  const cfg = parseJson(path, 'config', md.config);
  if (cfg.mode !== undefined && cfg.mode !== 'flow') throw new ModelLoadError(path, null, `a training checkpoint of mode ${JSON.stringify(cfg.mode)}, not of a flow model (an autoencoder checkpoint can be the VAE: --vae ${path})`);
  const model = obj(cfg.model);
  const unetCfg = unetModelConfig(obj(model.unet));
  const vaeOpts = obj(model.vae), flowOpts = obj(model.flow);
  const vaeOverrides = vaeModelOverrides(vaeOpts);
  const preset = typeof vaeOpts.preset === 'string' ? vaeOpts.preset : 'sd';
  let vaeCfg: Obj;
  try {
    // the config alone (no weights allocated): the preset's, with the checkpoint's overrides on top
    const resolved = resolveVAEConfig({ ...presetConfig(VAE_PRESETS, preset, 'VAE'), ...vaeOverrides });
    vaeCfg = { ...resolved, scaleFactor: flowOpts.scale_factor ?? resolved.scaleFactor };
  } catch (e) {
    throw new ModelLoadError(path, null, `config model.vae: ${(e as Error).message}`);
  }
  let vaePath = opts.vae ?? (typeof vaeOpts.path === 'string' ? vaeOpts.path : undefined);
  if (!vaePath) throw new ModelLoadError(path, null, 'the checkpoint\'s config has no model.vae.path; pass the VAE weights (--vae PATH / { vae: PATH })');
  if (!isAbsolute(vaePath) && !opts.vae && !existsSync(vaePath)) vaePath = join(dirname(resolve(path)), vaePath);
  checkFile(vaePath);
  const name = `${String(cfg.name ?? 'checkpoint')}@step${md.step}`;
  return { config: cfg, name, unetCfg, vaeCfg, weights: () => {
    const unet = a.read(a.sections().includes('ema') && !opts.online ? 'ema' : 'model');
    try {
      return { unet, vae: readAnyVaeStateDict(vaePath!, (vaeCfg.chMult as number[]).length) };
    } catch (e) {
      for (const t of unet.values()) t.dispose();
      throw e instanceof ModelLoadError ? e : new ModelLoadError(vaePath!, null, `VAE weights: ${(e as Error).message}`);
    }
  } };
}

/**
 * VAE weights with LDM names from a CFM bundle (its vae.*) or any file src/models reads (LDM, diffusers,
 * Lightning, prefixed checkpoints, our weights, an autoencoder training checkpoint: EMA weights when present).
 * The caller disposes the tensors.
 */
export function readAnyVaeStateDict(path: string, numLevels: number): Map<string, Tensor> {
  checkFile(path);
  let a: Artifact | null = null;
  try {
    a = openArtifact(path);
  } catch {
    a = null; // unreadable here: models/load.ts says what is wrong with it
  }
  if (a?.kind === 'bundle') return a.read('vae');
  try {
    return readVaeStateDict(path, { numLevels }).stateDict;
  } catch (e) {
    if (e instanceof ModelLoadError) throw new ModelLoadError(path, null, `VAE weights${e.format ? ` (${e.format})` : ''}: ${e.detail}`, { cause: e });
    throw e;
  }
}

/** A bundle or a training checkpoint, told apart by the file's metadata. */
export function loadModel(path: string, opts: CheckpointLoadOptions = {}): CfmModel {
  checkFile(path);
  let kind: ArtifactKind;
  try {
    kind = openArtifact(path).kind;
  } catch (e) {
    throw new ModelLoadError(path, null, `not a CFM model (.safetensors bundle or training checkpoint): ${(e as Error).message}`);
  }
  const m = kind === 'checkpoint' ? loadTrainingCheckpoint(path, opts) : loadBundle(path);
  try {
    checkFiniteWeights(m, path);
  } catch (e) {
    disposeModel(m);
    throw e;
  }
  return m;
}

/** Every floating weight of the UNet and VAE finite, checked once at load: a NaN weight would give black images. */
function checkFiniteWeights(m: CfmModel, path: string): void {
  for (const [part, mod] of [['unet', m.unet], ['vae', m.vae]] as const) {
    for (const [name, t] of mod.stateDict()) {
      if (!['float32', 'float16', 'bfloat16', 'float64'].includes(t.dtype)) continue;
      const bad = tidy(() => t.isfinite().logicalNot().sum().item());
      if (bad > 0) throw new ModelLoadError(path, null, `weight ${part}.${name} has ${bad} of ${t.numel} values NaN or infinite (a corrupt or diverged model)`);
    }
  }
}

/**
 * Turns a training checkpoint (EMA UNet + config + VAE) into a self-contained CFM bundle. The bundle's sampling
 * defaults are the run's validation sampler unless `sampling` sets them (e.g. from an evaluation of steps).
 */
export function exportBundle(checkpoint: string, out: string, opts: CheckpointLoadOptions & {
  name?: string; info?: Record<string, unknown>; dtype?: 'float32' | 'float16'; sampling?: { solver?: SolverName; steps?: number };
} = {}): void {
  const m = loadTrainingCheckpoint(checkpoint, opts);
  try {
    const s = opts.sampling ?? {};
    const flow = resolveFlowConfig({ ...m.flow, ...(s.solver !== undefined && { solver: s.solver }), ...(s.steps !== undefined && { steps: s.steps }) }, out);
    writeBundle(out, { unet: m.unet, vae: m.vae, flow, name: opts.name ?? m.name, info: { checkpoint, ...opts.info }, dtype: opts.dtype });
  } finally {
    disposeModel(m);
  }
}
