// CLIP text encoder weights from the layouts SD1.5 ships in: a diffusers folder (text_encoder/model.safetensors +
// config.json, keys text_model.*), an original SD checkpoint (keys cond_stage_model.transformer.text_model.*, beside
// the UNet's and VAE's), or a bare state dict in either naming. Loading is strict; every key at fault is named.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, dispose, withDefaultDevice } from '../../tensor/index.js';
import { loadWeights } from '../../io/index.js';
import { StateDictError, type LoadReport } from '../../nn/index.js';
import { CLIPTextModel } from './text_encoder.js';
import { resolveCLIPTextConfig, type CLIPTextConfig, type CLIPTextPresetName, type ResolvedCLIPTextConfig } from './config.js';

/** Where SD's original checkpoints keep the text encoder. */
export const SD_TEXT_PREFIX = 'cond_stage_model.transformer.';
/** HF files sometimes carry this buffer (an arange of positions); we compute positions instead. */
const IGNORED = new Set(['text_model.embeddings.position_ids']);

export class CLIPLoadError extends Error {
  override name = 'CLIPLoadError';
}

/** Keys a file may hold the text encoder under (what loadCLIPTextModel reads of a whole checkpoint). */
const TEXT_KEY = /^(cond_stage_model\.transformer\.)?(text_model\.)?(embeddings|encoder|final_layer_norm)\./;

/**
 * The text encoder's tensors under CLIPTextModel's names: the SD prefix stripped (and, when present, everything
 * outside it dropped: the UNet and VAE of a whole checkpoint), a missing 'text_model.' added (transformers < 4.x
 * saved CLIPTextTransformer's keys bare), position_ids dropped. Tensors are shared with the input, not copied.
 */
export function clipTextStateDict(sd: Map<string, Tensor> | Record<string, Tensor>): Map<string, Tensor> {
  const entries = sd instanceof Map ? [...sd] : Object.entries(sd);
  const hasSd = entries.some(([k]) => k.startsWith(SD_TEXT_PREFIX));
  const out = new Map<string, Tensor>();
  for (const [k0, v] of entries) {
    if (hasSd && !k0.startsWith(SD_TEXT_PREFIX)) continue;
    let k = hasSd ? k0.slice(SD_TEXT_PREFIX.length) : k0;
    if (!k.startsWith('text_model.') && /^(embeddings|encoder|final_layer_norm)\./.test(k)) k = `text_model.${k}`;
    if (IGNORED.has(k)) continue;
    if (out.has(k)) throw new CLIPLoadError(`CLIP text encoder: key '${k}' appears twice (as '${k0}' and in another spelling)`);
    out.set(k, v);
  }
  return out;
}

/**
 * Compares a state dict's keys and shapes with the model a config makes, built on the meta device (nothing is
 * allocated), so a wrong config fails before 500 MB of ViT-L weights are.
 */
export function checkCLIPTextStateDict(config: ResolvedCLIPTextConfig, sd: Map<string, Tensor>): LoadReport {
  const probe = withDefaultDevice('meta', () => new CLIPTextModel(config));
  try {
    const own = probe.stateDict();
    const report: LoadReport = { missing: [], unexpected: [], mismatched: [], loaded: [] };
    for (const k of own.keys()) if (!sd.has(k)) report.missing.push(k);
    for (const [k, v] of sd) {
      const t = own.get(k);
      if (!t) report.unexpected.push(k);
      else if (t.shape.join(',') !== v.shape.join(',')) report.mismatched.push(`${k}: expected [${t.shape.join(', ')}], got [${v.shape.join(', ')}]`);
    }
    return report;
  } finally {
    probe.dispose();
  }
}

/** Reads the config from the weights' shapes; heads are not in the shapes: width / 64 (CLIP's rule) unless given. */
export function inferCLIPTextConfig(sd: Map<string, Tensor>, heads?: number): ResolvedCLIPTextConfig {
  const shape = (k: string) => {
    const t = sd.get(k);
    if (!t) throw new CLIPLoadError(`CLIP text encoder: cannot infer the config: no '${k}' among ${sd.size} keys`);
    return t.shape;
  };
  const [vocabSize, width] = shape('text_model.embeddings.token_embedding.weight');
  const [maxPositions] = shape('text_model.embeddings.position_embedding.weight');
  const [intermediate] = shape('text_model.encoder.layers.0.mlp.fc1.weight');
  let layers = 0;
  while (sd.has(`text_model.encoder.layers.${layers}.self_attn.q_proj.weight`)) layers++;
  return resolveCLIPTextConfig({ vocabSize, maxPositions, width, layers, heads: heads ?? Math.max(1, Math.round(width / 64)), intermediate });
}

/** Strictly loads a state dict (either layout) into a model; a StateDictError-like CLIPLoadError names the keys at fault. */
export function loadCLIPTextWeights(model: CLIPTextModel, sd: Map<string, Tensor> | Record<string, Tensor>, source = 'state dict'): LoadReport {
  const named = clipTextStateDict(sd);
  const report = checkCLIPTextStateDict(model.config, named);
  if (report.missing.length || report.unexpected.length || report.mismatched.length) {
    throw new CLIPLoadError(`${source}: ${new StateDictError('CLIPTextModel', report).message}`);
  }
  return model.loadStateDict(named);
}

export interface LoadCLIPTextOptions {
  /** Preset name or config (our names or HF's); default: text_encoder/config.json of a folder, else inferred from the shapes. */
  config?: CLIPTextConfig | CLIPTextPresetName | Record<string, unknown>;
}

/**
 * Builds a CLIPTextModel from a weights file (safetensors or torch checkpoint: a bare state dict in HF names, or a
 * whole SD checkpoint) or a diffusers folder (model root or its text_encoder/).
 */
export function loadCLIPTextModel(path: string, opts: LoadCLIPTextOptions = {}): CLIPTextModel {
  if (!existsSync(path)) throw new CLIPLoadError(`CLIP text encoder: ${path} does not exist`);
  let file = path;
  let config = opts.config;
  if (statSync(path).isDirectory()) {
    const dir = existsSync(join(path, 'text_encoder')) ? join(path, 'text_encoder') : path;
    file = ['model.safetensors', 'pytorch_model.bin'].map((f) => join(dir, f)).find((f) => existsSync(f)) ?? '';
    if (!file) throw new CLIPLoadError(`CLIP text encoder: no model.safetensors or pytorch_model.bin in ${dir}`);
    const cfgPath = join(dir, 'config.json');
    if (config === undefined && existsSync(cfgPath)) {
      try {
        config = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new CLIPLoadError(`CLIP text encoder: ${cfgPath} is not valid JSON: ${(e as Error).message}`);
      }
    }
  }
  // Only the text encoder's tensors are read: a whole SD checkpoint also holds a UNet and a VAE (and HF files may
  // hold a text_projection, which the last hidden state does not use).
  const raw = loadWeights(file, { keys: (k) => TEXT_KEY.test(k) });
  if (!raw.size) throw new CLIPLoadError(`${file}: no CLIP text encoder keys (text_model.*, or ${SD_TEXT_PREFIX}text_model.*)`);
  let model: CLIPTextModel | undefined;
  try {
    const named = clipTextStateDict(raw);
    const resolved = config === undefined ? inferCLIPTextConfig(named) : resolveCLIPTextConfig(config);
    const report = checkCLIPTextStateDict(resolved, named);
    if (report.missing.length || report.unexpected.length || report.mismatched.length) {
      throw new CLIPLoadError(`${file}: ${new StateDictError('CLIPTextModel', report).message}`);
    }
    model = new CLIPTextModel(resolved);
    model.loadStateDict(named);
    return model.eval();
  } catch (e) {
    model?.dispose();
    throw e;
  } finally {
    dispose(raw);
  }
}
