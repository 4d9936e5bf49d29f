// CLIPTextModel options, with HF transformers' CLIPTextConfig spellings (config.json of a diffusers text_encoder/) accepted.
import { ModelConfigError, intOpt, normalizeKeys, numOpt } from '../config_util.js';

export type CLIPActivation = 'quick_gelu' | 'gelu';

export interface CLIPTextConfig {
  vocabSize: number;
  /** Positions (the context length, 77 for CLIP). */
  maxPositions: number;
  /** Hidden width. */
  width: number;
  layers: number;
  heads: number;
  /** MLP hidden width (4 · width in CLIP). */
  intermediate: number;
  /** quick_gelu (x·σ(1.702x), CLIP's) or exact gelu. */
  activation?: CLIPActivation;
  /** LayerNorm epsilon. */
  eps?: number;
}

export type ResolvedCLIPTextConfig = Required<CLIPTextConfig>;

/** CLIP ViT-L/14's text encoder: SD1.5's conditioning (cond_stage_model.transformer), 123,060,480 parameters. */
export const CLIP_TEXT_PRESETS = {
  vit_l14_text: { vocabSize: 49408, maxPositions: 77, width: 768, layers: 12, heads: 12, intermediate: 3072, activation: 'quick_gelu', eps: 1e-5 },
} as const satisfies Record<string, ResolvedCLIPTextConfig>;
export type CLIPTextPresetName = keyof typeof CLIP_TEXT_PRESETS;

const KNOWN = ['vocabSize', 'maxPositions', 'width', 'layers', 'heads', 'intermediate', 'activation', 'eps'] as const;
/** HF CLIPTextConfig name → ours. */
const HF_NAMES: Record<string, (typeof KNOWN)[number]> = {
  vocab_size: 'vocabSize', max_position_embeddings: 'maxPositions', hidden_size: 'width', num_hidden_layers: 'layers',
  num_attention_heads: 'heads', intermediate_size: 'intermediate', hidden_act: 'activation', layer_norm_eps: 'eps',
};
// HF config.json fields that do not change the forward pass of the last hidden state.
const HF_IGNORED = ['architectures', 'attention_dropout', 'bos_token_id', 'dropout', 'eos_token_id', 'pad_token_id', 'initializer_factor',
  'initializer_range', 'model_type', 'projection_dim', 'torch_dtype', 'transformers_version', '_name_or_path', 'hidden_dropout_prob'];

/** Validates a config given in our names, snake_case, or HF's CLIPTextConfig names; a preset name resolves to it. */
export function resolveCLIPTextConfig(raw: CLIPTextConfig | CLIPTextPresetName | Record<string, unknown>): ResolvedCLIPTextConfig {
  const M = 'CLIPTextModel';
  if (typeof raw === 'string') {
    const p = (CLIP_TEXT_PRESETS as Record<string, ResolvedCLIPTextConfig>)[raw];
    if (!p) throw new ModelConfigError(`${M}: unknown preset '${raw}' (known: ${Object.keys(CLIP_TEXT_PRESETS).join(', ')})`);
    return { ...p };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ModelConfigError(`${M}: config must be an object`);
  const renamed: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const ours = HF_NAMES[k] ?? k;
    if (ours in renamed) throw new ModelConfigError(`${M}: config key '${ours}' given twice`);
    renamed[ours] = v;
  }
  const o = normalizeKeys(M, renamed, KNOWN, HF_IGNORED);
  const c: ResolvedCLIPTextConfig = {
    vocabSize: intOpt(M, o, 'vocabSize', undefined, 1),
    maxPositions: intOpt(M, o, 'maxPositions', undefined, 1),
    width: intOpt(M, o, 'width', undefined, 1),
    layers: intOpt(M, o, 'layers', undefined, 0),
    heads: intOpt(M, o, 'heads', undefined, 1),
    intermediate: intOpt(M, o, 'intermediate', undefined, 1),
    activation: (o.activation ?? 'quick_gelu') as CLIPActivation,
    eps: numOpt(M, o, 'eps', 1e-5, 0, 1),
  };
  if (c.activation !== 'quick_gelu' && c.activation !== 'gelu') throw new ModelConfigError(`${M}: 'activation' must be 'quick_gelu' or 'gelu', got ${JSON.stringify(o.activation)}`);
  if (c.width % c.heads) throw new ModelConfigError(`${M}: width ${c.width} is not divisible by ${c.heads} heads`);
  return c;
}
