// EfficientUNet options: the reference's constructor arguments (camelCase here, snake_case accepted).
import { ModelConfigError, boolOpt, intListOpt, intOpt, normalizeKeys, numOpt } from '../config_util.js';
import { camelToSnake } from '../../util/case.js';

export interface EfficientUNetConfig {
  /** Channels of the network input after the context is concatenated (x channels + context channels). */
  inChannels: number;
  /** Base width; level i has modelChannels · channelMult[i] channels. */
  modelChannels: number;
  outChannels: number;
  /** ResBlocks per level in the encoder (the decoder has one more per level). */
  numResBlocks: number;
  /** Downsampling factors (1, 2, 4, …) at which encoder/decoder blocks get self-attention. */
  attentionResolutions: number[];
  dropout?: number;
  /** Default [1, 2, 3, 4] as the reference. */
  channelMult?: number[];
  /** Learned stride-2 conv / nearest+conv resampling (true) or avg-pool / plain nearest (false). */
  convResample?: boolean;
  dimHead?: number;
  numHeads?: number;
  /** Linear attention in encoder/decoder blocks (the middle block always uses softmax attention). */
  useLinearAttn?: boolean;
  /** FiLM the second GroupNorm with the time embedding (norm(h)·(1+scale)+shift) instead of adding it. */
  useScaleShiftNorm?: boolean;
  /** >1: patchify conv in and transposed conv out by this factor (2, 4 or 8); ≤1: none. */
  poolFactor?: number;
  /** GroupNorm groups. Not an option of the reference (always 32); smaller values allow tiny test models. */
  normGroups?: number;
}

export type ResolvedUNetConfig = Required<EfficientUNetConfig>;

const KNOWN = ['inChannels', 'modelChannels', 'outChannels', 'numResBlocks', 'attentionResolutions', 'dropout', 'channelMult',
  'convResample', 'dimHead', 'numHeads', 'useLinearAttn', 'useScaleShiftNorm', 'poolFactor', 'normGroups'] as const;

/** Fills the reference's defaults and validates; accepts snake_case keys (as in the reference's YAML/JSON). */
export function resolveUNetConfig(raw: EfficientUNetConfig | Record<string, unknown>): ResolvedUNetConfig {
  const M = 'EfficientUNet';
  const o = normalizeKeys(M, raw as Record<string, unknown>, KNOWN);
  const c: ResolvedUNetConfig = {
    inChannels: intOpt(M, o, 'inChannels', undefined, 1),
    modelChannels: intOpt(M, o, 'modelChannels', undefined, 1),
    outChannels: intOpt(M, o, 'outChannels', undefined, 1),
    numResBlocks: intOpt(M, o, 'numResBlocks', undefined, 1),
    attentionResolutions: intListOpt(M, o, 'attentionResolutions', undefined, 1, false),
    dropout: numOpt(M, o, 'dropout', 0, 0, 1),
    channelMult: intListOpt(M, o, 'channelMult', [1, 2, 3, 4], 1, true),
    convResample: boolOpt(M, o, 'convResample', true),
    dimHead: intOpt(M, o, 'dimHead', 64, 1),
    numHeads: intOpt(M, o, 'numHeads', 4, 1),
    useLinearAttn: boolOpt(M, o, 'useLinearAttn', true),
    useScaleShiftNorm: boolOpt(M, o, 'useScaleShiftNorm', true),
    poolFactor: intOpt(M, o, 'poolFactor', -1),
    normGroups: intOpt(M, o, 'normGroups', 32, 1),
  };
  if (c.poolFactor > 1 && ![2, 4, 8].includes(c.poolFactor)) throw new ModelConfigError(`${M}: poolFactor must be ≤ 1 or one of 2, 4, 8, got ${c.poolFactor}`);
  if (c.modelChannels % 2) throw new ModelConfigError(`${M}: modelChannels must be even (it is the sinusoidal embedding width), got ${c.modelChannels}`);
  return c;
}

/** The config in the reference's snake_case (what its constructor and our fixture sidecars use). */
export function unetConfigToSnake(c: ResolvedUNetConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    if (k === 'normGroups' && v === 32) continue; // not a reference option: only written when it differs
    out[camelToSnake(k)] = v;
  }
  return out;
}
