// The networks a training config describes: the EfficientUNet (flow mode) and the KL autoencoder,
// with the VAE weights loaded from a file by models/load.ts (any format it reads, including an fmboost
// training checkpoint of mode = autoencoder, whose EMA weights are used).
import { existsSync } from 'node:fs';
import { Dropout, type Module } from '../../nn/index.js';
import type { Generator } from '../../tensor/index.js';
import { AutoencoderKL, EfficientUNet, createVAE, loadVaeWeightsInto } from '../../models/index.js';
import { openArtifact } from '../../artifacts/open.js';
import { unetModelConfig, vaeModelOverrides, type FmboostConfig, type VaeOptions } from '../config/index.js';

export class ModelSetupError extends Error {
  override name = 'ModelSetupError';
}

export function buildUNet(c: FmboostConfig): EfficientUNet {
  return new EfficientUNet(unetModelConfig(c.model.unet));
}

/** The VAE architecture of the config (preset plus non-null overrides), randomly initialised. */
export function buildVAE(o: VaeOptions): AutoencoderKL {
  return createVAE(o.preset, vaeModelOverrides(o));
}

/** True when the file is an fmboost training checkpoint (a safetensors file with our format tag). */
export function isTrainingCheckpoint(path: string): boolean {
  try {
    return openArtifact(path).kind === 'checkpoint';
  } catch {
    return false;
  }
}

/**
 * Loads VAE weights into `vae` (strict: every key must fit, so a wrong preset fails loudly). Any file
 * models/load.ts reads: plain / whole-checkpoint LDM, diffusers, Lightning, our weights, a CFM bundle's vae.*,
 * or an fmboost training checkpoint of mode = autoencoder (its EMA weights when present).
 * Returns a description of what was loaded.
 */
export function loadVaeWeights(vae: AutoencoderKL, path: string): string {
  if (!existsSync(path)) throw new ModelSetupError(`VAE weights file not found: ${path}`);
  const r = loadVaeWeightsInto(vae, path);
  if (r.format !== 'fmboost-checkpoint') return path;
  return `${path} (${r.weights === 'ema' ? 'EMA' : 'online'} weights of an autoencoder run at step ${r.step})`;
}

/** The frozen VAE of flow training (eval mode, no gradients). */
export function frozenVAE(o: VaeOptions): { vae: AutoencoderKL; source: string } {
  if (o.path === null) {
    throw new ModelSetupError('model.vae.path is null and no bundled VAE weights exist yet: train one with mode=autoencoder (fmboost train --config … mode=autoencoder) or give model.vae.path=FILE');
  }
  const vae = buildVAE(o);
  try {
    const source = loadVaeWeights(vae, o.path);
    vae.eval();
    vae.requiresGrad_(false);
    return { vae, source };
  } catch (e) {
    vae.dispose();
    throw e;
  }
}

/** Points every Dropout of a module at a seeded generator (so dropout masks are part of the resumable state). */
export function seedDropout(m: Module, g: Generator): number {
  let n = 0;
  for (const [, sub] of m.namedModules()) {
    if (sub instanceof Dropout && sub.p > 0) {
      (sub as { generator?: Generator }).generator = g;
      n++;
    }
  }
  return n;
}
