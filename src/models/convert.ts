// Any supported VAE / UNet checkpoint → our safetensors (LDM names for the VAE, the reference's names for
// the UNet), with the model config and the source format in __metadata__, loadable by loadVae/loadUnet
// without further options. The weights go through a strict load into the model first, so a file that
// converts is a file that loads.
import { basename } from 'node:path';
import { writeSafetensors, detectWeightsFormat, readSafetensorsHeader, readTorchPickle, flattenCheckpoint, CHECKPOINT_FORMAT } from '../io/index.js';
import { vaeKeyLayout } from './vae/index.js';
import { selectUnetWeights, type UnetWeights } from './unet/index.js';
import {
  buildUnet, buildVae, configForMetadata, ModelLoadError, readUnetWeights, readVaeWeights, WEIGHTS_FORMAT, type ConfigSpec, type ModelWeights, type SourceFormat,
} from './load.js';

export type ModelKind = 'vae' | 'unet';

export interface ConvertOptions {
  kind?: ModelKind | 'auto';
  weights?: UnetWeights;
  config?: ConfigSpec;
}

export interface ConvertReport {
  input: string;
  output: string;
  kind: ModelKind;
  format: SourceFormat;
  container: 'safetensors' | 'torch';
  weights: UnetWeights | null;
  configSource: ModelWeights<unknown>['configSource'];
  config: Record<string, unknown>;
  /** Tensors in the input file / taken from it / written. */
  fileKeys: number;
  takenKeys: number;
  keys: number;
  params: number;
}

/** What a weights file holds: 'vae', 'unet', or both (a reference Lightning checkpoint has the UNet and its VAE). */
export function detectModelKinds(path: string): ModelKind[] {
  const fmt = detectWeightsFormat(path);
  let keys: string[];
  if (fmt === 'safetensors') {
    const h = readSafetensorsHeader(path);
    if (h.metadata.format === WEIGHTS_FORMAT && (h.metadata.kind === 'vae' || h.metadata.kind === 'unet')) return [h.metadata.kind];
    if (h.metadata.format === CHECKPOINT_FORMAT) return [...h.tensors.keys()].some((k) => /^(model|ema)\.encoder\./.test(k)) ? ['vae'] : ['unet'];
    keys = [...h.tensors.keys()];
  } else if (fmt === 'torch') keys = [...flattenCheckpoint(readTorchPickle(path).raw, path).keys()];
  else throw new ModelLoadError(path, null, 'unrecognized weights format (expected safetensors, or a torch.save .pt/.ckpt zip archive)');
  const kinds: ModelKind[] = [];
  const sel = selectUnetWeights(keys);
  if (sel.keys.some((k) => /^(input_blocks|time_embed)\./.test(sel.prefix ? k.slice(sel.prefix.length) : k))) kinds.push('unet');
  if (vaeKeyLayout(keys).keys.some((k) => /(^|\.)(encoder|decoder)\./.test(k))) kinds.push('vae');
  return kinds;
}

/** Reads `input` (any supported format), loads it strictly into the model and writes our safetensors to `output`. */
export function convertWeights(input: string, output: string, opts: ConvertOptions = {}): ConvertReport {
  let kind = opts.kind ?? 'auto';
  if (kind === 'auto') {
    const kinds = detectModelKinds(input);
    if (kinds.length === 0) throw new ModelLoadError(input, null, 'holds neither UNet weights (time_embed.*, input_blocks.*) nor VAE weights (encoder.*, decoder.*)');
    if (kinds.length > 1) throw new ModelLoadError(input, null, `holds both a UNet and a VAE: choose one with kind 'unet' or 'vae' (--kind)`);
    kind = kinds[0];
  }
  const w: ModelWeights<any> = kind === 'vae' ? readVaeWeights(input, { config: opts.config, weights: opts.weights }) : readUnetWeights(input, { config: opts.config, weights: opts.weights });
  const info = { format: w.format, container: w.container, weights: w.weights, configSource: w.configSource, fileKeys: w.fileKeys, takenKeys: w.takenKeys };
  const model = kind === 'vae' ? buildVae(w, input) : buildUnet(w, input);
  try {
    const sd = model.stateDict();
    const config = configForMetadata(kind, model.config);
    const metadata: Record<string, string> = {
      format: WEIGHTS_FORMAT, kind, config: JSON.stringify(config), source_format: info.format, source: basename(input),
    };
    if (info.weights) metadata.weights = info.weights;
    let params = 0;
    for (const t of sd.values()) params += t.numel;
    metadata.params = String(params);
    writeSafetensors(output, sd, metadata);
    return { input, output, kind, ...info, config, keys: sd.size, params };
  } finally {
    model.dispose();
  }
}
