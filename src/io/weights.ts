// One entry point for weight files: the format is decided by the file's first bytes, not its name.
import { closeSync, openSync } from 'node:fs';
import type { Tensor } from '../tensor/tensor.js';
import { WeightsFileError } from './errors.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { loadTorchCheckpoint } from './torch_load.js';
import { readAt } from './zip.js';

export type WeightsFormat = 'safetensors' | 'torch';

export interface LoadWeightsOptions {
  /** Load only these keys (each must exist) or the keys this predicate accepts. */
  keys?: readonly string[] | ((key: string) => boolean);
}

/** 'safetensors' (u64 header length then '{'), 'torch' (zip, or a legacy pickle), or null. */
export function detectWeightsFormat(path: string): WeightsFormat | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new WeightsFileError(path, undefined, `cannot open: ${(e as Error).message}`);
  }
  try {
    const h = readAt(fd, 0, 9);
    if (h.length >= 4 && h.readUInt32LE(0) === 0x04034b50) return 'torch';
    if (h.length === 9 && h[8] === 0x7b && h.readBigUInt64LE(0) < 100_000_000n) return 'safetensors';
    if (h.length >= 2 && h[0] === 0x80 && h[1] <= 5) return 'torch';
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Reads a safetensors file or a torch.save checkpoint (flattened state_dict) into tensors. */
export function loadWeights(path: string, opts: LoadWeightsOptions = {}): Map<string, Tensor> {
  const fmt = detectWeightsFormat(path);
  if (fmt === 'safetensors') return readSafetensors(path, opts).tensors;
  if (fmt === 'torch') return loadTorchCheckpoint(path, opts).tensors;
  throw new WeightsFileError(path, undefined, 'unrecognized weights format (expected safetensors, or a torch.save .pt/.ckpt/.bin zip archive)');
}

/** Saves tensors as safetensors (atomically). */
export function saveWeights(path: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata?: Record<string, string>): void {
  writeSafetensors(path, tensors, metadata);
}
