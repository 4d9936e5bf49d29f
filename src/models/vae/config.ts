// AutoencoderKL options: the LDM ddconfig (snake_case accepted) plus embed_dim.
import { ModelConfigError, boolOpt, intListOpt, intOpt, normalizeKeys, numOpt } from '../config_util.js';

export interface AutoencoderKLConfig {
  ch?: number;
  outCh?: number;
  chMult?: number[];
  numResBlocks?: number;
  /** Feature-map sizes (in pixels, relative to `resolution`) at which down/up blocks get attention. */
  attnResolutions?: number[];
  dropout?: number;
  resampWithConv?: boolean;
  inChannels?: number;
  /** Nominal input size; only used to decide where attnResolutions apply. */
  resolution?: number;
  zChannels?: number;
  /** The encoder outputs mean and logvar (2·zChannels); the reference requires true. */
  doubleZ?: boolean;
  /** 'vanilla' (single-head attention) or 'none' (identity) in the mid blocks and attn levels. */
  attnType?: 'vanilla' | 'none';
  tanhOut?: boolean;
  embedDim?: number;
  /** Latent scale of SD (0.18215): encode(x).mode() · scaleFactor is the trained latent. */
  scaleFactor?: number;
  /** GroupNorm groups (32 in the reference; smaller only for tiny test models). */
  normGroups?: number;
  /**
   * 'linear' adds a space-to-channel shortcut around the convolutional coder (after DC-AE's residual
   * autoencoding): posterior mean += encoder_shortcut(pixel_unshuffle(x, f)) and image +=
   * pixel_shuffle(decoder_shortcut(z), f), both 1×1 convs. Initialised by PCA of f×f patches (vae/pca.ts),
   * the VAE starts as the best linear autoencoder and the conv coder learns the residual. 'none': LDM/SD.
   */
  shortcut?: 'none' | 'linear';
}

export type ResolvedVAEConfig = Required<AutoencoderKLConfig>;

/** The reference's DEFAULT_DDCONFIG (SD's KL-f8) with embed_dim 4. */
export const SD_VAE_DEFAULTS: ResolvedVAEConfig = {
  ch: 128, outCh: 3, chMult: [1, 2, 4, 4], numResBlocks: 2, attnResolutions: [], dropout: 0, resampWithConv: true,
  inChannels: 3, resolution: 256, zChannels: 4, doubleZ: true, attnType: 'vanilla', tanhOut: false, embedDim: 4,
  scaleFactor: 0.18215, normGroups: 32, shortcut: 'none',
};

const KNOWN = Object.keys(SD_VAE_DEFAULTS);

/**
 * Resolves a config: either flat ({ch, chMult, …, embedDim}) or the reference's shape
 * ({ddconfig: {…}, embed_dim}). Missing keys take SD's values.
 */
export function resolveVAEConfig(raw: AutoencoderKLConfig | Record<string, unknown> = {}): ResolvedVAEConfig {
  const M = 'AutoencoderKL';
  let flat = raw as Record<string, unknown>;
  if (flat && typeof flat === 'object' && 'ddconfig' in flat) {
    const { ddconfig, ...rest } = flat;
    flat = { ...(ddconfig as Record<string, unknown>), ...rest };
  }
  // Sidecar fields of the reference/fixture JSON: latent_scale is our scaleFactor; the rest describe the file.
  const o = normalizeKeys(M, flat, [...KNOWN, 'latentScale'], ['model', 'calls', 'params']);
  if (o.latentScale !== undefined) {
    if (o.scaleFactor !== undefined && o.scaleFactor !== o.latentScale) throw new ModelConfigError(`${M}: latent_scale and scale_factor disagree`);
    o.scaleFactor = o.latentScale;
    delete o.latentScale;
  }
  const d = SD_VAE_DEFAULTS;
  const attnType = o.attnType ?? d.attnType;
  if (attnType !== 'vanilla' && attnType !== 'none') throw new ModelConfigError(`${M}: attnType must be 'vanilla' or 'none', got ${JSON.stringify(attnType)}`);
  const shortcut = o.shortcut ?? d.shortcut;
  if (shortcut !== 'none' && shortcut !== 'linear') throw new ModelConfigError(`${M}: shortcut must be 'none' or 'linear', got ${JSON.stringify(shortcut)}`);
  const c: ResolvedVAEConfig = {
    ch: intOpt(M, o, 'ch', d.ch, 1),
    outCh: intOpt(M, o, 'outCh', d.outCh, 1),
    chMult: intListOpt(M, o, 'chMult', d.chMult, 1, true),
    numResBlocks: intOpt(M, o, 'numResBlocks', d.numResBlocks, 1),
    attnResolutions: intListOpt(M, o, 'attnResolutions', d.attnResolutions, 1, false),
    dropout: numOpt(M, o, 'dropout', d.dropout, 0, 1),
    resampWithConv: boolOpt(M, o, 'resampWithConv', d.resampWithConv),
    inChannels: intOpt(M, o, 'inChannels', d.inChannels, 1),
    resolution: intOpt(M, o, 'resolution', d.resolution, 1),
    zChannels: intOpt(M, o, 'zChannels', d.zChannels, 1),
    doubleZ: boolOpt(M, o, 'doubleZ', d.doubleZ),
    attnType,
    tanhOut: boolOpt(M, o, 'tanhOut', d.tanhOut),
    embedDim: intOpt(M, o, 'embedDim', d.embedDim, 1),
    scaleFactor: numOpt(M, o, 'scaleFactor', d.scaleFactor, 1e-12, 1e12),
    normGroups: intOpt(M, o, 'normGroups', d.normGroups, 1),
    shortcut,
  };
  if (!c.doubleZ) throw new ModelConfigError(`${M}: doubleZ must be true (the posterior needs mean and logvar)`);
  return c;
}
