// openArtifact: what a weights file is, its metadata, config and tensor names, from its header alone; tensors
// are read per section on request. Every reader that asks "what is this file?" asks here.
import type { Tensor } from '../tensor/index.js';
import { detectWeightsFormat, readSafetensors, readSafetensorsHeader, WeightsFileError, type SafetensorsEntry } from '../io/index.js';
import { BASE_FORMAT, BUNDLE_FORMAT, CHECKPOINT_FORMAT, WEIGHTS_FORMAT } from './formats.js';

/** bundle / base / checkpoint / weights: ours (formats.ts); safetensors: anyone's (diffusers, LDM); torch: a .ckpt / .pt. */
export type ArtifactKind = 'bundle' | 'base' | 'checkpoint' | 'weights' | 'safetensors' | 'torch';

export class ArtifactError extends Error {
  override name = 'ArtifactError';
  constructor(readonly path: string, detail: string) {
    super(`${path}: ${detail}`);
  }
}

export interface Artifact {
  path: string;
  kind: ArtifactKind;
  /** The safetensors metadata ({} for torch files). */
  metadata: Record<string, string>;
  /** Tensor names and shapes in the file (empty for torch files: their pickle is read by models/load.ts). */
  tensors: Map<string, SafetensorsEntry>;
  /** The parsed JSON of metadata[key] (e.g. 'config', 'flow', 'info'); undefined when absent. */
  json(key: string): Record<string, unknown> | undefined;
  /** The sections (the part before the first '.') of the tensor names: model, ema, unet, vae, … */
  sections(): string[];
  /** The tensors of one section with the prefix stripped ('' = every tensor, names kept). The caller disposes them. */
  read(section: string): Map<string, Tensor>;
}

function kindOf(format: string | undefined): ArtifactKind {
  if (format === BUNDLE_FORMAT) return 'bundle';
  if (format === BASE_FORMAT) return 'base';
  if (format === CHECKPOINT_FORMAT) return 'checkpoint';
  if (format === WEIGHTS_FORMAT) return 'weights';
  return 'safetensors';
}

/** Opens a weights file by its header (bounded work whatever its size); throws ArtifactError for anything else. */
export function openArtifact(path: string): Artifact {
  let container: ReturnType<typeof detectWeightsFormat>;
  try {
    container = detectWeightsFormat(path);
  } catch (e) {
    throw new ArtifactError(path, e instanceof WeightsFileError ? e.detail : (e as Error).message);
  }
  if (container === null) throw new ArtifactError(path, 'not a safetensors or PyTorch file');
  const head = container === 'safetensors' ? readSafetensorsHeader(path) : null;
  const metadata = head?.metadata ?? {};
  const tensors = head?.tensors ?? new Map<string, SafetensorsEntry>();
  return {
    path,
    kind: head ? kindOf(metadata.format) : 'torch',
    metadata,
    tensors,
    json(key) {
      const text = metadata[key];
      if (text === undefined) return undefined;
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (e) {
        throw new ArtifactError(path, `metadata "${key}" is not valid JSON (${(e as Error).message})`);
      }
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ArtifactError(path, `metadata "${key}" is not a JSON object`);
      return v as Record<string, unknown>;
    },
    sections() {
      return [...new Set([...tensors.keys()].map((k) => (k.includes('.') ? k.slice(0, k.indexOf('.')) : '')))];
    },
    read(section) {
      if (!head) throw new ArtifactError(path, 'a PyTorch file has no sections to read here (load it with src/models/load.ts)');
      if (section === '') return readSafetensors(path).tensors;
      const prefix = `${section}.`;
      const { tensors: t } = readSafetensors(path, { keys: (k) => k.startsWith(prefix) });
      return new Map([...t].map(([k, v]) => [k.slice(prefix.length), v] as [string, Tensor]));
    },
  };
}
