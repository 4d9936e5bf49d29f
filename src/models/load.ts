// Loading the VAE and the UNet from the checkpoint formats found in the wild:
//   VAE:  a plain LDM state dict (sd_ae.ckpt), a whole LDM/SD checkpoint (VAE under first_stage_model.),
//         diffusers AutoencoderKL safetensors (old and new attention names, Linear attention weights),
//         the reference's Lightning checkpoints (first_stage.), our own safetensors (`fmboost convert`).
//   UNet: the reference's Lightning checkpoints (model.net. online, ema_model.ema_model.net. EMA), our
//         training checkpoints (model./ema.), our own safetensors, a bare state dict.
// Loading is strict: a missing, unexpected or mis-shaped key is an error that names it (StateDictError as
// the cause). Only the tensors that belong to the model are read from the file.
import { camelKeys, camelToSnake } from '../util/case.js';
import { Tensor } from '../tensor/index.js';
import { StateDictError } from '../nn/index.js';
import {
  detectWeightsFormat, flattenCheckpoint, loadTorchCheckpoint, readSafetensors, readSafetensorsHeader, readTorchPickle,
  CHECKPOINT_FORMAT, WEIGHTS_FORMAT,
} from '../io/index.js';
import { AutoencoderKL, resolveVAEConfig, toLdmVaeStateDict, vaeKeyLayout, VAE_PREFIXES, type ResolvedVAEConfig } from './vae/index.js';
import { EfficientUNet, resolveUNetConfig, selectUnetWeights, unetConfigToSnake, type ResolvedUNetConfig, type UnetWeights } from './unet/index.js';
import { UNET_PRESETS, VAE_PRESETS, presetConfig } from './presets.js';
import { ModelConfigError } from './config_util.js';

/** `__metadata__.format` of the weight files `fmboost convert` writes (io/format_tags.ts). */
export { WEIGHTS_FORMAT } from '../io/index.js';

/** Where the weights came from. */
export type SourceFormat =
  | 'ldm' // bare LDM-named VAE state dict (sd_ae.ckpt) or bare UNet state dict
  | 'ldm-checkpoint' // whole LDM / SD checkpoint, VAE under first_stage_model. (or vae.)
  | 'diffusers' // diffusers AutoencoderKL names
  | 'lightning' // the reference's Lightning checkpoint
  | 'fmboost' // our safetensors (fmboost convert / saveWeights)
  | 'fmboost-checkpoint'; // our training checkpoint

/** A weights file could not be turned into a model; the message names the file, its format and the keys at fault. */
export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
  constructor(readonly file: string, readonly format: SourceFormat | null, readonly detail: string, options?: { cause?: unknown }) {
    super(`${file}${format ? ` (${format})` : ''}: ${detail}`, options);
  }
}

export type ConfigSpec = string | Record<string, unknown>;

export interface LoadVaeOptions {
  /** A VAE preset name, or config keys (camelCase or snake_case, flat or {ddconfig, embed_dim}) laid over the file's config. */
  config?: ConfigSpec;
  /** For fmboost autoencoder training checkpoints: 'ema' (default when present) or 'online'. */
  weights?: UnetWeights;
}

export interface LoadUnetOptions {
  /** A UNet preset name, or EfficientUNet options laid over the file's config (needed when the file has none). */
  config?: ConfigSpec;
  /** Which copy of a training checkpoint: 'ema' (default when present, what the reference samples with) or 'online'. */
  weights?: UnetWeights;
}

export interface ModelWeights<C> {
  kind: 'vae' | 'unet';
  /** In our names (LDM names for the VAE, the reference's for the UNet). The caller disposes the tensors. */
  stateDict: Map<string, Tensor>;
  config: C;
  format: SourceFormat;
  container: 'safetensors' | 'torch';
  /** For training checkpoints: the copy taken, and (VAE) the step it was saved at. */
  weights: UnetWeights | null;
  step?: number | null;
  /** Where the config came from. */
  configSource: 'option' | 'file' | 'inferred' | 'file+option' | 'inferred+option';
  /** Tensors in the file, and how many of them were taken. */
  fileKeys: number;
  takenKeys: number;
}

// ------------------------------------------------------------------------------------------------- file access

interface OpenedFile {
  container: 'safetensors' | 'torch';
  keys: string[];
  metadata: Record<string, string>;
  /** The torch checkpoint's top-level entries other than state_dict (plain JS), e.g. hyper_parameters. */
  extra: Record<string, unknown>;
  read(keys: string[]): Map<string, Tensor>;
}

/** A checkpoint's other entries (hyper_parameters, …) as JSON-like values: bounded in depth and in values visited,
 *  since a hostile pickle can share one dict at every level (exponential paths); what lies past a bound, and any
 *  class instance, is null. */
function plain(v: unknown, budget = { left: 100_000 }, depth = 0): unknown {
  if (depth > 64 || --budget.left < 0) return null;
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) if (typeof k === 'string' || typeof k === 'number') o[String(k)] = plain(x, budget, depth + 1);
    return o;
  }
  if (Array.isArray(v)) return v.map((x) => plain(x, budget, depth + 1));
  if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return null; // PyObjects and anything else
}

function openFile(path: string): OpenedFile {
  const fmt = detectWeightsFormat(path);
  if (fmt === 'safetensors') {
    const h = readSafetensorsHeader(path);
    return {
      container: 'safetensors', keys: [...h.tensors.keys()], metadata: h.metadata, extra: {},
      read: (keys) => readSafetensors(path, { keys }).tensors,
    };
  }
  if (fmt === 'torch') {
    const { raw } = readTorchPickle(path);
    const extra: Record<string, unknown> = {};
    if (raw instanceof Map && raw.get('state_dict') instanceof Map) {
      for (const [k, v] of raw) if (k !== 'state_dict' && k !== 'optimizer_states' && typeof k === 'string') extra[k] = plain(v);
    }
    return {
      container: 'torch', keys: [...flattenCheckpoint(raw, path).keys()], metadata: {}, extra,
      read: (keys) => loadTorchCheckpoint(path, { keys }).tensors,
    };
  }
  throw new ModelLoadError(path, null, 'unrecognized weights format (expected safetensors, or a torch.save .pt/.ckpt zip archive)');
}

function disposeAll(m: Map<string, Tensor>): void {
  for (const t of m.values()) t.dispose();
}

function parseJsonMeta(path: string, format: SourceFormat, meta: Record<string, string>, key: string): Record<string, unknown> | undefined {
  if (meta[key] === undefined) return undefined;
  try {
    const v = JSON.parse(meta[key]) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch { /* reported below */ }
  throw new ModelLoadError(path, format, `metadata "${key}" is not a JSON object`);
}

// ------------------------------------------------------------------------------------------------- configs

/** Config keys in camelCase; the reference's {ddconfig: {…}, embed_dim} shape flattened. */
function flatCamel(o: Record<string, unknown>): Record<string, unknown> {
  let flat = o;
  if ('ddconfig' in o && o.ddconfig && typeof o.ddconfig === 'object') {
    const { ddconfig, ...rest } = o;
    flat = { ...(ddconfig as Record<string, unknown>), ...rest };
  }
  return camelKeys(flat, { onDuplicate: (k) => new ModelConfigError(`config key '${k}' given twice (snake_case and camelCase)`) });
}

/**
 * An AutoencoderKL config read off an LDM-named state dict: widths, levels, blocks, latent channels,
 * embed_dim, where attention is (as resolutions of a 256-pixel model) and the resampling kind. GroupNorm
 * groups cannot be seen in the shapes: 32, as in the reference.
 */
export function inferVaeConfig(sd: Map<string, Tensor>): Record<string, unknown> {
  const shape = (k: string): number[] => {
    const t = sd.get(k);
    if (!t) throw new ModelConfigError(`cannot infer the VAE config: no '${k}' in the weights (pass a config)`);
    return t.shape;
  };
  const [ch, inChannels] = shape('encoder.conv_in.weight');
  let levels = 0;
  while (sd.has(`encoder.down.${levels}.block.0.conv1.weight`)) levels++;
  if (!levels) throw new ModelConfigError("cannot infer the VAE config: no 'encoder.down.0.block.0.conv1.weight' in the weights (pass a config)");
  const chMult: number[] = [];
  for (let i = 0; i < levels; i++) chMult.push(shape(`encoder.down.${i}.block.0.conv2.weight`)[0] / ch);
  let numResBlocks = 0;
  while (sd.has(`encoder.down.0.block.${numResBlocks}.conv1.weight`)) numResBlocks++;
  const resolution = 256;
  const attnResolutions: number[] = [];
  for (let i = 0; i < levels; i++) if (sd.has(`encoder.down.${i}.attn.0.q.weight`)) attnResolutions.push(resolution / 2 ** i);
  return {
    ch, inChannels, chMult, numResBlocks, attnResolutions, resolution,
    outCh: shape('decoder.conv_out.weight')[0],
    zChannels: shape('encoder.conv_out.weight')[0] / 2,
    embedDim: shape('quant_conv.weight')[0] / 2,
    resampWithConv: levels === 1 || sd.has('encoder.down.0.downsample.conv.weight'),
    attnType: sd.has('encoder.mid.attn_1.q.weight') ? 'vanilla' : 'none',
    shortcut: sd.has('encoder_shortcut.weight') ? 'linear' : 'none',
  };
}

/** Finds {target: '…EfficientUNet', params: {…}} anywhere in a (reference) hyper-parameter tree. */
function findTargetParams(v: unknown, re: RegExp, depth = 0): Record<string, unknown> | undefined {
  if (!v || typeof v !== 'object' || depth > 16) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.target === 'string' && re.test(o.target) && o.params && typeof o.params === 'object') return o.params as Record<string, unknown>;
  for (const x of Object.values(o)) {
    const r = findTargetParams(x, re, depth + 1);
    if (r) return r;
  }
  return undefined;
}

function wrapLoad<T>(path: string, format: SourceFormat | null, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof StateDictError) throw new ModelLoadError(path, format, e.message, { cause: e });
    if (e instanceof ModelConfigError) throw new ModelLoadError(path, format, e.message, { cause: e });
    throw e;
  }
}

// ------------------------------------------------------------------------------------------------- VAE

export interface ReadVaeStateDictOptions {
  /** For fmboost autoencoder training checkpoints: 'ema' (default when present) or 'online'. */
  weights?: UnetWeights;
  /** len(ch_mult) of the model the weights are for (renumbers diffusers' decoder blocks); default: counted from the keys. */
  numLevels?: number;
}

/** A VAE state dict read from a file, before (or without) settling its config. */
export interface VaeStateDict {
  /** In LDM names. The caller disposes the tensors. */
  stateDict: Map<string, Tensor>;
  format: SourceFormat;
  container: 'safetensors' | 'torch';
  /** For training checkpoints: the copy taken, and the step it was saved at. */
  weights: UnetWeights | null;
  step: number | null;
  fileKeys: number;
  takenKeys: number;
}

/** What the file says about the config (read lazily: a caller with its own architecture never needs it). */
type FileConfig = () => Record<string, unknown> | undefined;

/**
 * The VAE's weights (in LDM names) from any supported file, without a config: for callers that have the
 * architecture already (a model built from a training config). The caller disposes stateDict.
 */
export function readVaeStateDict(path: string, opts: ReadVaeStateDictOptions = {}): VaeStateDict {
  return readVae(path, opts).sd;
}

function readVae(path: string, opts: ReadVaeStateDictOptions): { sd: VaeStateDict; fileConfig: FileConfig } {
  const f = openFile(path);
  let format: SourceFormat;
  let fileConfig: FileConfig = () => undefined;
  if (f.metadata.format === CHECKPOINT_FORMAT) return readVaeTrainingCheckpoint(path, f, opts);
  if (opts.weights) throw new ModelLoadError(path, null, `weights '${opts.weights}' applies to training checkpoints only (this file has one copy of the VAE)`);
  const layout = vaeKeyLayout(f.keys);
  const isLightning = f.container === 'torch' && 'hyper_parameters' in f.extra;
  if (f.metadata.format === WEIGHTS_FORMAT) {
    format = 'fmboost';
    if (f.metadata.kind !== 'vae') throw new ModelLoadError(path, format, `holds a ${f.metadata.kind ?? 'model of unknown kind'}, not a VAE`);
    const c = parseJsonMeta(path, format, f.metadata, 'config');
    fileConfig = () => c;
  } else if (layout.diffusers) format = 'diffusers';
  else if (layout.prefix === 'first_stage.' || isLightning) format = 'lightning';
  else if (layout.prefix) format = 'ldm-checkpoint';
  else format = 'ldm';
  if (!layout.keys.some((k) => /(^|\.)(encoder|decoder)\./.test(k))) {
    throw new ModelLoadError(path, format, `no VAE weights found: no keys named encoder.*/decoder.* (LDM or diffusers names), bare or under ${VAE_PREFIXES.join(', ')}` +
      (f.keys.some((k) => /input_blocks\./.test(k)) ? ' (this looks like a UNet checkpoint)' : ''));
  }
  if (format === 'lightning') {
    const p = findTargetParams(f.extra.hyper_parameters, /AutoencoderKL$/);
    if (p && ('ddconfig' in p || 'embed_dim' in p)) {
      const c = { ...((p.ddconfig ?? {}) as Record<string, unknown>), ...('embed_dim' in p ? { embed_dim: p.embed_dim } : {}) };
      fileConfig = () => c;
    }
  }
  return { sd: readVaeKeys(path, f, format, layout.keys, null, null, null, opts.numLevels), fileConfig };
}

/** fmboost autoencoder training checkpoints: model.* (online) / ema.* (EMA) in LDM names; config.model.vae = preset + overrides. */
function readVaeTrainingCheckpoint(path: string, f: OpenedFile, opts: ReadVaeStateDictOptions): { sd: VaeStateDict; fileConfig: FileConfig } {
  const format: SourceFormat = 'fmboost-checkpoint';
  const has = (p: string) => f.keys.some((k) => k.startsWith(p));
  if (!has('model.encoder.') && !has('ema.encoder.')) throw new ModelLoadError(path, format, 'this training checkpoint holds a UNet (flow mode), not a VAE');
  const weights: UnetWeights = opts.weights ?? (has('ema.encoder.') ? 'ema' : 'online');
  const prefix = weights === 'ema' ? 'ema.' : 'model.';
  if (!has(`${prefix}encoder.`)) throw new ModelLoadError(path, format, `this training checkpoint has no ${weights} weights (no keys starting with '${prefix}')`);
  const cfg = parseJsonMeta(path, format, f.metadata, 'config') as { model?: { vae?: Record<string, unknown> } } | undefined;
  const fileConfig: FileConfig = () => {
    const v = cfg?.model?.vae;
    if (!v) return undefined;
    const base = typeof v.preset === 'string' ? presetConfig(VAE_PRESETS, v.preset, 'VAE') : {};
    const overrides = flatCamel(Object.fromEntries(Object.entries(v).filter(([k, x]) => k !== 'preset' && k !== 'path' && x !== null)));
    return { ...base, ...overrides };
  };
  const step = f.metadata.step !== undefined && Number.isInteger(Number(f.metadata.step)) ? Number(f.metadata.step) : null;
  return { sd: readVaeKeys(path, f, format, f.keys.filter((k) => k.startsWith(prefix)), prefix, weights, step, opts.numLevels), fileConfig };
}

/** Reads `keys` (stripping `strip`) and maps them to LDM names. */
function readVaeKeys(path: string, f: OpenedFile, format: SourceFormat, keys: string[], strip: string | null, weights: UnetWeights | null,
  step: number | null, numLevels: number | undefined): VaeStateDict {
  const read = f.read(keys);
  const src = strip ? new Map([...read].map(([k, t]) => [k.slice(strip.length), t] as [string, Tensor])) : read;
  try {
    const ldm = wrapLoad(path, format, () => toLdmVaeStateDict(src, numLevels));
    // toLdmVaeStateDict returns views of src's tensors: hand the caller its own handles.
    const stateDict = new Map<string, Tensor>();
    const srcTensors = new Set(src.values());
    for (const [k, v] of ldm) stateDict.set(k, srcTensors.has(v) ? v.alias() : v);
    return { stateDict, format, container: f.container, weights, step, fileKeys: f.keys.length, takenKeys: keys.length };
  } finally {
    disposeAll(src);
  }
}

/** The VAE's weights (in LDM names) and config from any supported file. The caller disposes stateDict. */
export function readVaeWeights(path: string, opts: LoadVaeOptions = {}): ModelWeights<ResolvedVAEConfig> {
  const { sd: w, fileConfig } = readVae(path, { weights: opts.weights });
  try {
    const { config, source } = wrapLoad(path, w.format, () => {
      const user = typeof opts.config === 'string' ? presetConfig(VAE_PRESETS, opts.config, 'VAE') : opts.config ? flatCamel(opts.config) : undefined;
      if (typeof opts.config === 'string') return { config: resolveVAEConfig(user!), source: 'option' as const };
      const fc = fileConfig();
      const base = fc ? flatCamel(fc) : inferVaeConfig(w.stateDict);
      const kind = fc ? 'file' : 'inferred';
      return { config: resolveVAEConfig({ ...base, ...user }), source: (user ? `${kind}+option` : kind) as ModelWeights<unknown>['configSource'] };
    });
    return { kind: 'vae', ...w, config, configSource: source };
  } catch (e) {
    disposeAll(w.stateDict);
    throw e;
  }
}

/**
 * Loads the VAE weights of `path` (any supported format) strictly into an existing model, whose config is
 * taken as it is (nothing is inferred from the file). Errors name the file, its format and the keys at fault.
 */
export function loadVaeWeightsInto(vae: AutoencoderKL, path: string, opts: { weights?: UnetWeights } = {}): Omit<VaeStateDict, 'stateDict'> {
  const { stateDict, ...info } = readVaeStateDict(path, { weights: opts.weights, numLevels: vae.config.chMult.length });
  try {
    wrapLoad(path, info.format, () => vae.loadStateDict(stateDict, { strict: true }));
    return info;
  } finally {
    disposeAll(stateDict);
  }
}

/** An AutoencoderKL (eval mode) with the weights of `path` (any supported format), loaded strictly. */
export function loadVae(path: string, opts: LoadVaeOptions = {}): AutoencoderKL {
  return buildVae(readVaeWeights(path, opts), path);
}

/** Builds the model for weights read by readVaeWeights and loads them strictly (disposes the weights). */
export function buildVae(w: ModelWeights<ResolvedVAEConfig>, path: string): AutoencoderKL {
  let vae: AutoencoderKL;
  try {
    vae = wrapLoad(path, w.format, () => new AutoencoderKL(w.config));
  } catch (e) {
    disposeAll(w.stateDict);
    // GroupNorm groups are the one thing the shapes do not show.
    if (w.configSource.startsWith('inferred') && /GroupNorm groups/.test((e as Error).message)) {
      (e as Error).message += ` (the config was inferred from the weights with ${w.config.normGroups} groups; give norm_groups in the config)`;
    }
    throw e;
  }
  try {
    wrapLoad(path, w.format, () => vae.loadStateDict(w.stateDict, { strict: true }));
    return vae.eval();
  } catch (e) {
    vae.dispose();
    throw e;
  } finally {
    disposeAll(w.stateDict);
  }
}

// ------------------------------------------------------------------------------------------------- UNet

/** The UNet's weights (reference names) and config from any supported file. The caller disposes stateDict. */
export function readUnetWeights(path: string, opts: LoadUnetOptions = {}): ModelWeights<ResolvedUNetConfig> {
  const f = openFile(path);
  let format: SourceFormat;
  let fileConfig: Record<string, unknown> | undefined;
  let keys = f.keys;
  if (f.metadata.format === WEIGHTS_FORMAT && f.metadata.kind !== 'unet') {
    throw new ModelLoadError(path, 'fmboost', `holds a ${f.metadata.kind ?? 'model of unknown kind'}, not a UNet`);
  }
  const sel = wrapLoad(path, null, () => selectUnetWeights(keys, opts.weights ?? 'auto'));
  if (f.metadata.format === WEIGHTS_FORMAT) {
    format = 'fmboost';
    fileConfig = parseJsonMeta(path, format, f.metadata, 'config');
  } else if (sel.layout === 'fmboost-checkpoint' || f.metadata.format === CHECKPOINT_FORMAT) {
    format = 'fmboost-checkpoint';
    const cfg = parseJsonMeta(path, format, f.metadata, 'config') as { model?: { unet?: Record<string, unknown> } } | undefined;
    fileConfig = cfg?.model?.unet;
  } else if (sel.layout === 'lightning') {
    format = 'lightning';
    fileConfig = findTargetParams(f.extra.hyper_parameters, /EfficientUNet$/);
  } else format = 'ldm';
  keys = sel.keys;
  if (!keys.some((k) => /^(input_blocks|time_embed)\./.test(sel.prefix ? k.slice(sel.prefix.length) : k))) {
    throw new ModelLoadError(path, format, 'no UNet weights found (no time_embed.* / input_blocks.* keys, bare or under model.net., ema_model.ema_model.net., model., ema.)' +
      (f.keys.some((k) => /(^|\.)(encoder|decoder)\.(down|up|mid|conv_in)/.test(k)) ? ' (this looks like a VAE checkpoint)' : ''));
  }
  const config = wrapLoad(path, format, () => {
    if (typeof opts.config === 'string') return { c: resolveUNetConfig(presetConfig(UNET_PRESETS, opts.config, 'UNet')), s: 'option' as const };
    const user = opts.config ? flatCamel(unetSection(opts.config)) : undefined;
    if (!fileConfig && !user) {
      throw new ModelConfigError('the file holds no UNet config: pass one (a preset name such as unet_small or paper, or the EfficientUNet options as JSON/YAML)');
    }
    return { c: resolveUNetConfig({ ...(fileConfig ? flatCamel(fileConfig) : {}), ...user }), s: (fileConfig ? (user ? 'file+option' : 'file') : 'option') as ModelWeights<unknown>['configSource'] };
  });
  const src = f.read(keys);
  const stateDict = new Map<string, Tensor>();
  for (const [k, v] of src) stateDict.set(sel.prefix ? k.slice(sel.prefix.length) : k, v);
  return { kind: 'unet', stateDict, config: config.c, format, container: f.container, weights: sel.weights, configSource: config.s, fileKeys: f.keys.length, takenKeys: keys.length };
}

/**
 * The UNet options out of a whole training config: ours ({model: {unet: {…}}}) or the reference's
 * ({model: {target, params: {fm_cfg: … {target: …EfficientUNet, params}}}}); other objects are taken as they are.
 */
function unetSection(o: Record<string, unknown>): Record<string, unknown> {
  const model = o.model as Record<string, unknown> | undefined;
  if (!model || typeof model !== 'object') return o;
  if (model.unet && typeof model.unet === 'object') return model.unet as Record<string, unknown>;
  return findTargetParams(model, /EfficientUNet$/) ?? o;
}

/** An EfficientUNet (eval mode) with the weights of `path`, loaded strictly. EMA weights by default when the file has both. */
export function loadUnet(path: string, opts: LoadUnetOptions = {}): EfficientUNet {
  return buildUnet(readUnetWeights(path, opts), path);
}

/** Builds the model for weights read by readUnetWeights and loads them strictly (disposes the weights). */
export function buildUnet(w: ModelWeights<ResolvedUNetConfig>, path: string): EfficientUNet {
  let net: EfficientUNet;
  try {
    net = wrapLoad(path, w.format, () => new EfficientUNet(w.config));
  } catch (e) {
    disposeAll(w.stateDict);
    throw e;
  }
  try {
    wrapLoad(path, w.format, () => net.loadStateDict(w.stateDict, { strict: true }));
    return net.eval();
  } catch (e) {
    net.dispose();
    throw e;
  } finally {
    disposeAll(w.stateDict);
  }
}

/** The config as stored in our weight files: the reference's snake_case option names. */
export function configForMetadata(kind: 'vae' | 'unet', config: ResolvedVAEConfig | ResolvedUNetConfig): Record<string, unknown> {
  if (kind === 'unet') return unetConfigToSnake(config as ResolvedUNetConfig);
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [camelToSnake(k), v]));
}
