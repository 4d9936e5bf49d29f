// SD UNet weights in either naming: the original LDM layout (v1-5-pruned.safetensors: model.diffusion_model.*) or
// diffusers' (unet/diffusion_pytorch_model.safetensors). The renaming is the one diffusers' convert_ldm_unet_checkpoint
// performs (checked key for key against it in tests/models/sd_unet.test.ts), written as a pure map per config.
//
//   conv_in ↔ input_blocks.0.0            time_embedding.linear_1/2 ↔ time_embed.0/2 (cond_proj ↔ time_embed.cond_proj)
//   down_blocks.i.resnets.j / attentions.j ↔ input_blocks.(1 + i·(R+1) + j).0 / .1        (R = numResBlocks)
//   down_blocks.i.downsamplers.0.conv ↔ input_blocks.((i+1)·(R+1)).0.op
//   mid_block.resnets.0 / attentions.0 / resnets.1 ↔ middle_block.0 / 1 / 2
//   up_blocks.i.resnets.j / attentions.j ↔ output_blocks.(i·(R+1) + j).0 / .1   (up block i = level L−1−i)
//   up_blocks.i.upsamplers.0.conv ↔ output_blocks.(i·(R+1) + R).(2 if that level has attention, else 1).conv
//   conv_norm_out / conv_out ↔ out.0 / out.2
//   inside resnets: norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut ↔
//                   in_layers.0, in_layers.2, emb_layers.1, out_layers.0, out_layers.3, skip_connection
//   inside attentions (norm, proj_in, transformer_blocks.*, proj_out) names are the same in both.
import type { Tensor } from '../../tensor/index.js';
import { resolveSDUNetConfig, type ResolvedSDUNetConfig, type SDUNetConfig } from './config.js';
import type { SDUNet } from './unet.js';

export type SDUNetLayout = 'original' | 'diffusers';

/** Where a full LDM checkpoint (v1-5-pruned.ckpt/.safetensors) keeps the UNet. */
export const LDM_UNET_PREFIX = 'model.diffusion_model.';

/** A state dict did not fit an SDUNet; the message names every offending key in the file's own naming. */
export class SDUNetWeightsError extends Error {
  override name = 'SDUNetWeightsError';
  constructor(message: string, readonly problems: string[] = []) {
    super(message);
  }
}

const RESNET: [string, string][] = [
  ['norm1', 'in_layers.0'], ['conv1', 'in_layers.2'], ['time_emb_proj', 'emb_layers.1'],
  ['norm2', 'out_layers.0'], ['conv2', 'out_layers.3'], ['conv_shortcut', 'skip_connection'],
];
const TOP: [string, string][] = [
  ['time_embedding.linear_1', 'time_embed.0'], ['time_embedding.linear_2', 'time_embed.2'],
  ['time_embedding.cond_proj', 'time_embed.cond_proj'],
  ['conv_in', 'input_blocks.0.0'], ['conv_norm_out', 'out.0'], ['conv_out', 'out.2'],
];

/** `rest` (a key below a resnet) renamed by the pairs, or null when its module is not a resnet's. */
function renameResnet(rest: string, from: 0 | 1): string | null {
  for (const pair of RESNET) {
    const a = pair[from], b = pair[1 - from];
    if (rest.startsWith(a + '.')) return b + rest.slice(a.length);
  }
  return null;
}

// Resolving is idempotent, so a resolved config (model.config) passes through unchanged.
const cfg = (config: SDUNetConfig | ResolvedSDUNetConfig): ResolvedSDUNetConfig => resolveSDUNetConfig(config as SDUNetConfig);

const hasAttention = (c: ResolvedSDUNetConfig, level: number) => c.attentionResolutions.includes(2 ** level);

/** The original (LDM) key of a diffusers UNet key for this config, or null if the config has no such module. */
export function diffusersToOriginalKey(key: string, config: SDUNetConfig | ResolvedSDUNetConfig): string | null {
  const c = cfg(config);
  const L = c.channelMult.length, R = c.numResBlocks, per = R + 1;
  for (const [d, o] of TOP) if (key.startsWith(d + '.')) return o + key.slice(d.length);
  let m = /^down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const i = +m[1], j = +m[3];
    if (i >= L || j >= R) return null;
    const idx = 1 + i * per + j;
    if (m[2] === 'attentions') return hasAttention(c, i) ? `input_blocks.${idx}.1.${m[4]}` : null;
    const r = renameResnet(m[4], 0);
    return r && `input_blocks.${idx}.0.${r}`;
  }
  m = /^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$/.exec(key);
  if (m) return +m[1] < L - 1 && c.convResample ? `input_blocks.${(+m[1] + 1) * per}.0.op.${m[2]}` : null;
  m = /^mid_block\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const j = +m[2];
    if (m[1] === 'attentions') return j === 0 ? `middle_block.1.${m[3]}` : null;
    const r = renameResnet(m[3], 0);
    return j <= 1 && r ? `middle_block.${2 * j}.${r}` : null;
  }
  m = /^up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const i = +m[1], j = +m[3];
    if (i >= L || j > R) return null;
    const idx = i * per + j;
    if (m[2] === 'attentions') return hasAttention(c, L - 1 - i) ? `output_blocks.${idx}.1.${m[4]}` : null;
    const r = renameResnet(m[4], 0);
    return r && `output_blocks.${idx}.0.${r}`;
  }
  m = /^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$/.exec(key);
  if (m) {
    const i = +m[1];
    if (i >= L - 1 || !c.convResample) return null;
    return `output_blocks.${i * per + R}.${hasAttention(c, L - 1 - i) ? 2 : 1}.conv.${m[2]}`;
  }
  return null;
}

/** The diffusers key of an original (LDM) UNet key for this config, or null if it has none. */
export function originalToDiffusersKey(key: string, config: SDUNetConfig | ResolvedSDUNetConfig): string | null {
  const c = cfg(config);
  const L = c.channelMult.length, R = c.numResBlocks, per = R + 1;
  for (const [d, o] of TOP) if (key.startsWith(o + '.')) return d + key.slice(o.length);
  let m = /^input_blocks\.(\d+)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const idx = +m[1], sub = +m[2];
    if (idx < 1 || idx > L * per - 1) return null;
    const i = Math.floor((idx - 1) / per), j = (idx - 1) % per;
    if (j === R) return sub === 0 && m[3].startsWith('op.') ? `down_blocks.${i}.downsamplers.0.conv.${m[3].slice(3)}` : null;
    if (sub === 1) return hasAttention(c, i) ? `down_blocks.${i}.attentions.${j}.${m[3]}` : null;
    const r = sub === 0 ? renameResnet(m[3], 1) : null;
    return r && `down_blocks.${i}.resnets.${j}.${r}`;
  }
  m = /^middle_block\.(\d)\.(.+)$/.exec(key);
  if (m) {
    if (m[1] === '1') return `mid_block.attentions.0.${m[2]}`;
    const r = renameResnet(m[2], 1);
    return r && (m[1] === '0' || m[1] === '2') ? `mid_block.resnets.${+m[1] / 2}.${r}` : null;
  }
  m = /^output_blocks\.(\d+)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const idx = +m[1], sub = +m[2];
    const i = Math.floor(idx / per), j = idx % per;
    if (i >= L) return null;
    const attn = hasAttention(c, L - 1 - i);
    if (sub === 0) {
      const r = renameResnet(m[3], 1);
      return r && `up_blocks.${i}.resnets.${j}.${r}`;
    }
    if (sub === 1 && attn) return `up_blocks.${i}.attentions.${j}.${m[3]}`;
    if (sub === (attn ? 2 : 1) && j === R && i < L - 1 && m[3].startsWith('conv.')) return `up_blocks.${i}.upsamplers.0.${m[3]}`;
    return null;
  }
  return null;
}

const DIFFUSERS_ROOTS = /^(conv_in|time_embedding|down_blocks|mid_block|up_blocks|conv_norm_out|conv_out)\./;
const ORIGINAL_ROOTS = /^(time_embed|input_blocks|middle_block|output_blocks|out)\./;

/**
 * Which naming a state dict uses. A full LDM checkpoint's UNet is under model.diffusion_model. (its other tensors,
 * VAE and text encoder, are then ignored); otherwise the keys are the UNet's own, in one naming or the other.
 */
export function detectSDUNetLayout(keys: Iterable<string>): { layout: SDUNetLayout; prefix: string | null } {
  const all = [...keys];
  if (all.some((k) => k.startsWith(LDM_UNET_PREFIX))) return { layout: 'original', prefix: LDM_UNET_PREFIX };
  const diff = all.find((k) => DIFFUSERS_ROOTS.test(k)), orig = all.find((k) => ORIGINAL_ROOTS.test(k));
  if (diff && orig) throw new SDUNetWeightsError(`SDUNet weights mix diffusers keys ('${diff}') and original LDM keys ('${orig}')`);
  if (diff) return { layout: 'diffusers', prefix: null };
  if (orig) return { layout: 'original', prefix: null };
  const sample = all.slice(0, 5).join(', ');
  throw new SDUNetWeightsError(`SDUNet weights: no UNet keys found (neither '${LDM_UNET_PREFIX}…', original 'input_blocks.…' nor diffusers 'down_blocks.…'); first keys: ${sample || '(none)'}`);
}

export interface SDUNetStateDict {
  /** The weights under original (LDM) keys; the tensors are the input's (not copied). */
  stateDict: Map<string, Tensor>;
  layout: SDUNetLayout;
  /** The prefix stripped (model.diffusion_model.) or null. */
  prefix: string | null;
  /** Tensors of the input that are not the UNet's (a full checkpoint's VAE, text encoder, …). */
  ignored: number;
  /** The input's name of each original key (for messages). */
  sourceName: Map<string, string>;
}

/**
 * The UNet's weights in original (LDM) naming, from a state dict in either layout. Throws SDUNetWeightsError listing
 * every diffusers key this config has no place for.
 */
export function toOriginalSDUNetStateDict(sd: Map<string, Tensor> | Record<string, Tensor>, config: SDUNetConfig | ResolvedSDUNetConfig): SDUNetStateDict {
  const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
  const { layout, prefix } = detectSDUNetLayout(src.keys());
  const c = cfg(config);
  const out = new Map<string, Tensor>(), sourceName = new Map<string, string>();
  const unmatched: string[] = [];
  let ignored = 0;
  for (const [k, v] of src) {
    if (prefix && !k.startsWith(prefix)) { ignored++; continue; }
    const name = prefix ? k.slice(prefix.length) : k;
    const orig = layout === 'diffusers' ? diffusersToOriginalKey(name, c) : name;
    if (orig === null) { unmatched.push(name); continue; }
    if (out.has(orig)) throw new SDUNetWeightsError(`SDUNet weights: '${k}' and '${sourceName.get(orig)}' both map to '${orig}'`);
    out.set(orig, v);
    sourceName.set(orig, k);
  }
  if (unmatched.length) {
    throw new SDUNetWeightsError(`SDUNet weights: ${unmatched.length} diffusers key(s) have no counterpart in this config's original layout: ${list(unmatched)}`, unmatched);
  }
  return { stateDict: out, layout, prefix, ignored, sourceName };
}

function list(xs: string[]): string {
  return xs.slice(0, 20).join(', ') + (xs.length > 20 ? `, … (${xs.length} in all)` : '');
}

/**
 * Loads a state dict in either layout into `model` strictly: a missing, unexpected or mis-shaped key is an
 * SDUNetWeightsError naming it as the input spells it (and its original name), and then nothing is copied.
 */
export function loadSDUNetWeights(model: SDUNet, sd: Map<string, Tensor> | Record<string, Tensor>): Omit<SDUNetStateDict, 'stateDict' | 'sourceName'> {
  const r = toOriginalSDUNetStateDict(sd, model.config);
  const named = (orig: string) => {
    const s = r.sourceName.get(orig) ?? (r.layout === 'diffusers' ? originalToDiffusersKey(orig, model.config) : (r.prefix ?? '') + orig) ?? orig;
    return s === orig ? `'${orig}'` : `'${s}' (original '${orig}')`;
  };
  const shape = (t: Tensor) => `[${t.shape.join(', ')}]`;
  const own = model.stateDict();
  const missing: string[] = [], unexpected: string[] = [], mismatched: string[] = [];
  for (const [k, t] of own) if (!r.stateDict.has(k)) missing.push(`${named(k)} ${shape(t)}`);
  for (const [k, v] of r.stateDict) {
    const t = own.get(k);
    if (!t) unexpected.push(named(k));
    else if (t.shape.join(',') !== v.shape.join(',')) mismatched.push(`${named(k)}: expected ${shape(t)}, got ${shape(v)}`);
  }
  if (missing.length || unexpected.length || mismatched.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing keys: ${list(missing)}`);
    if (unexpected.length) parts.push(`unexpected keys: ${list(unexpected)}`);
    if (mismatched.length) parts.push(`shape mismatches: ${list(mismatched)}`);
    throw new SDUNetWeightsError(`SDUNet: the ${r.layout} weights do not fit this config: ${parts.join('; ')}`, [...missing, ...unexpected, ...mismatched]);
  }
  model.loadStateDict(r.stateDict, { strict: true });
  return { layout: r.layout, prefix: r.prefix, ignored: r.ignored };
}
