// Stable Diffusion 1.x UNet options: CompVis/stable-diffusion's UNetModel arguments with use_spatial_transformer
// (camelCase here; the reference's snake_case, e.g. a v1-inference.yaml unet_config's params, is accepted too).
import { ModelConfigError, intListOpt, intOpt, normalizeKeys, numOpt, checkGroups } from '../config_util.js';

export interface SDUNetConfig {
  inChannels: number;
  outChannels: number;
  /** Base width; level i has modelChannels · channelMult[i] channels; the time embedding has 4 · modelChannels. */
  modelChannels: number;
  /** Downsampling factors (1, 2, 4, …) whose blocks get a SpatialTransformer (the middle block always has one). */
  attentionResolutions: number[];
  numResBlocks: number;
  /** Default [1, 2, 4, 8] as the reference's constructor (SD 1.x uses [1, 2, 4, 4]). */
  channelMult?: number[];
  /** Heads per transformer (dim per head = channels / numHeads): give this or numHeadChannels (SD 1.x: numHeads 8). */
  numHeads?: number;
  /** Channels per head (heads = channels / numHeadChannels), as SD 2.x's num_head_channels 64. */
  numHeadChannels?: number;
  /** BasicTransformerBlocks per SpatialTransformer. */
  transformerDepth?: number;
  /** Width of the cross-attention context (CLIP ViT-L/14 hidden states: 768). */
  contextDim: number;
  dropout?: number;
  /** Learned resampling (stride-2 conv down, nearest + conv up) or avg-pool / plain nearest. */
  convResample?: boolean;
  /** GroupNorm groups. Not a reference option (always 32); smaller values allow tiny test models. */
  normGroups?: number;
  /**
   * LCM's guidance-scale embedding width (diffusers' time_cond_proj_dim, 256 for LCM-SD1.5): adds a bias-free
   * Linear timeCondProjDim → modelChannels whose output is added to the sinusoidal timestep embedding. null: none.
   */
  timeCondProjDim?: number | null;
}

export interface ResolvedSDUNetConfig {
  inChannels: number;
  outChannels: number;
  modelChannels: number;
  attentionResolutions: number[];
  numResBlocks: number;
  channelMult: number[];
  /** Exactly one of numHeads / numHeadChannels is set; the other is null. */
  numHeads: number | null;
  numHeadChannels: number | null;
  transformerDepth: number;
  contextDim: number;
  dropout: number;
  convResample: boolean;
  normGroups: number;
  timeCondProjDim: number | null;
}

const M = 'SDUNet';
const KNOWN = ['inChannels', 'outChannels', 'modelChannels', 'attentionResolutions', 'numResBlocks', 'channelMult', 'numHeads',
  'numHeadChannels', 'transformerDepth', 'contextDim', 'dropout', 'convResample', 'normGroups', 'timeCondProjDim',
  'useSpatialTransformer', 'legacy'] as const;
// Reference arguments that do not change the weights or the math of an fp32 forward.
const IGNORED = ['imageSize', 'useCheckpoint', 'useFp16'];

/** The reference's "unset" for the head options is -1. */
function optionalInt(o: Record<string, unknown>, key: string): number | null {
  const v = o[key];
  if (v === undefined || v === null || v === -1) return null;
  return intOpt(M, o, key, undefined, 1);
}

/** Fills defaults and validates; accepts the reference's snake_case keys (image_size, use_checkpoint, use_fp16 are ignored). */
export function resolveSDUNetConfig(raw: SDUNetConfig | Record<string, unknown>): ResolvedSDUNetConfig {
  const o = normalizeKeys(M, raw as Record<string, unknown>, KNOWN, IGNORED);
  if (o.useSpatialTransformer !== undefined && o.useSpatialTransformer !== true) {
    throw new ModelConfigError(`${M}: only the SpatialTransformer UNet is implemented (use_spatial_transformer must be true, got ${JSON.stringify(o.useSpatialTransformer)})`);
  }
  // legacy only changes the head split of the non-transformer AttentionBlock: with SpatialTransformers both values agree.
  if (o.legacy !== undefined && typeof o.legacy !== 'boolean') throw new ModelConfigError(`${M}: 'legacy' must be a boolean, got ${JSON.stringify(o.legacy)}`);
  const c: ResolvedSDUNetConfig = {
    inChannels: intOpt(M, o, 'inChannels', undefined, 1),
    outChannels: intOpt(M, o, 'outChannels', undefined, 1),
    modelChannels: intOpt(M, o, 'modelChannels', undefined, 1),
    attentionResolutions: intListOpt(M, o, 'attentionResolutions', undefined, 1, false),
    numResBlocks: intOpt(M, o, 'numResBlocks', undefined, 1),
    channelMult: intListOpt(M, o, 'channelMult', [1, 2, 4, 8], 1, true),
    numHeads: optionalInt(o, 'numHeads'),
    numHeadChannels: optionalInt(o, 'numHeadChannels'),
    transformerDepth: intOpt(M, o, 'transformerDepth', 1, 1),
    contextDim: intOpt(M, o, 'contextDim', undefined, 1),
    dropout: numOpt(M, o, 'dropout', 0, 0, 1),
    convResample: o.convResample === undefined ? true : (o.convResample as boolean),
    normGroups: intOpt(M, o, 'normGroups', 32, 1),
    timeCondProjDim: optionalInt(o, 'timeCondProjDim'),
  };
  if (typeof c.convResample !== 'boolean') throw new ModelConfigError(`${M}: 'convResample' must be a boolean, got ${JSON.stringify(c.convResample)}`);
  if ((c.numHeads === null) === (c.numHeadChannels === null)) {
    throw new ModelConfigError(`${M}: give exactly one of numHeads (SD 1.x: 8) and numHeadChannels (SD 2.x: 64), got numHeads ${c.numHeads ?? 'unset'}, numHeadChannels ${c.numHeadChannels ?? 'unset'}`);
  }
  if (c.modelChannels % 2) throw new ModelConfigError(`${M}: modelChannels must be even (it is the sinusoidal embedding width), got ${c.modelChannels}`);
  // Every width a GroupNorm sees: each level's channels and the decoder's concatenations (level width + skip width).
  for (const { channels, where } of normWidths(c)) checkGroups(M, where, channels, c.normGroups);
  for (const ch of new Set(c.channelMult.map((m) => m * c.modelChannels))) {
    const { heads, dimHead } = headsFor(c, ch);
    if (heads < 1 || dimHead < 1) throw new ModelConfigError(`${M}: a ${ch}-channel transformer would get ${heads} heads of ${dimHead} channels (numHeads ${c.numHeads ?? 'unset'}, numHeadChannels ${c.numHeadChannels ?? 'unset'})`);
  }
  return c;
}

/** Heads and channels per head of a transformer over `channels`, as the reference computes them (floor division). */
export function headsFor(c: ResolvedSDUNetConfig, channels: number): { heads: number; dimHead: number } {
  if (c.numHeadChannels !== null) return { heads: Math.floor(channels / c.numHeadChannels), dimHead: c.numHeadChannels };
  return { heads: c.numHeads!, dimHead: Math.floor(channels / c.numHeads!) };
}

/** The channel counts every GroupNorm of the UNet normalises, with where they are (for error messages). */
function normWidths(c: ResolvedSDUNetConfig): { channels: number; where: string }[] {
  const out: { channels: number; where: string }[] = [];
  const skips = [c.modelChannels];
  let ch = c.modelChannels;
  c.channelMult.forEach((mult, level) => {
    for (let i = 0; i < c.numResBlocks; i++) {
      out.push({ channels: ch, where: `input level ${level}` });
      ch = mult * c.modelChannels;
      out.push({ channels: ch, where: `input level ${level}` });
      skips.push(ch);
    }
    if (level !== c.channelMult.length - 1) skips.push(ch);
  });
  for (let level = c.channelMult.length - 1; level >= 0; level--) {
    for (let i = 0; i <= c.numResBlocks; i++) {
      out.push({ channels: ch + skips.pop()!, where: `output level ${level} (skip concatenation)` });
      ch = c.channelMult[level] * c.modelChannels;
      out.push({ channels: ch, where: `output level ${level}` });
    }
  }
  return out;
}

/** Stable Diffusion v1.x (configs/stable-diffusion/v1-inference.yaml unet_config): 859,520,964 parameters. */
export const SD15_UNET_CONFIG: SDUNetConfig = {
  inChannels: 4, outChannels: 4, modelChannels: 320, attentionResolutions: [4, 2, 1], numResBlocks: 2, channelMult: [1, 2, 4, 4],
  numHeads: 8, transformerDepth: 1, contextDim: 768,
};

/**
 * A full LCM UNet distilled from SD 1.5 (e.g. SimianLuo/LCM_Dreamshaper_v7, whose diffusers config has
 * time_cond_proj_dim 256): SD 1.5 plus the guidance-scale embedding projection. (LCM-LoRA has no such projection.)
 */
export const LCM_SD15_UNET_CONFIG: SDUNetConfig = { ...SD15_UNET_CONFIG, timeCondProjDim: 256 };

export const SD_UNET_PRESETS = { sd15: SD15_UNET_CONFIG, lcm_sd15: LCM_SD15_UNET_CONFIG } as const;
export type SDUNetPresetName = keyof typeof SD_UNET_PRESETS;
