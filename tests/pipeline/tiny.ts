// Tiny randomly initialised CFM models for the pipeline tests (a few ms per forward at 32² px).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, noGrad, randnLike, tidy } from '../../src/tensor/index.js';
import { EfficientUNet, AutoencoderKL } from '../../src/models/index.js';
import { writeBundle, type FlowBundleConfig } from '../../src/pipeline/index.js';

/** UNet: 16 ch, mult [1, 2] (size multiple 2), attention at 2×; 8 → 4 channels. */
export const TINY_UNET = {
  inChannels: 8, modelChannels: 16, outChannels: 4, numResBlocks: 1, attentionResolutions: [2], dropout: 0,
  channelMult: [1, 2], convResample: true, dimHead: 8, numHeads: 2, useLinearAttn: false, useScaleShiftNorm: true, poolFactor: -1, normGroups: 4,
};

/** VAE: 8 ch, mult [1, 2, 2] (downsampling ×4), 4 latent channels, no attention levels. */
export const TINY_VAE = { ch: 8, chMult: [1, 2, 2], numResBlocks: 1, zChannels: 4, embedDim: 4, normGroups: 4, scaleFactor: 0.5 };

export function tmpDir(prefix = 'fmboost-pipeline-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Writes a tiny bundle (weights from manualSeed(seed)) and returns its path. ADM zero-initialises the UNet's
 * output convs (a fresh UNet's velocity is 0); `perturb` adds N(0, perturb²) to every UNet weight so the
 * field is not trivially zero.
 */
export function writeTinyBundle(path: string, flow: Partial<FlowBundleConfig> = {}, seed = 0, name = 'tiny', perturb = 0.05): string {
  manualSeed(seed);
  const unet = new EfficientUNet(TINY_UNET);
  const vae = new AutoencoderKL(TINY_VAE);
  if (perturb > 0) noGrad(() => { for (const p of unet.parameters()) tidy(() => { p.add_(randnLike(p).mul(perturb)); }); });
  writeBundle(path, { unet, vae, name, flow: { factor: 2, steps: 5, solver: 'euler', noiseStep: 400, scaleFactor: 0.5, ...flow } });
  unet.dispose();
  vae.dispose();
  return path;
}
