// Key maps for VAE weights saved in other layouts: diffusers' AutoencoderKL names (down_blocks.i.resnets.j, …;
// attention as Linear layers) and checkpoint prefixes (first_stage_model., first_stage., vae.). The target is the
// LDM layout AutoencoderKL uses (encoder.down.i.block.j, …; attention as 1×1 convs).
import type { Tensor } from '../../tensor/index.js';
import { ModelConfigError } from '../config_util.js';

const ATTN: [RegExp, string][] = [
  [/^group_norm\./, 'norm.'],
  [/^(to_q|query)\./, 'q.'],
  [/^(to_k|key)\./, 'k.'],
  [/^(to_v|value)\./, 'v.'],
  [/^(to_out\.0|proj_attn)\./, 'proj_out.'],
];

function resnetPart(rest: string): string {
  return rest.replace(/^conv_shortcut\./, 'nin_shortcut.');
}

function attnPart(rest: string): string {
  for (const [re, to] of ATTN) if (re.test(rest)) return rest.replace(re, to);
  return rest;
}

/**
 * One diffusers VAE key → its LDM name. numLevels = len(ch_mult) (4 for SD): diffusers numbers decoder
 * up_blocks from the lowest resolution, LDM's decoder.up from the highest. Returns null for unknown keys.
 */
export function diffusersVaeKeyToLdm(key: string, numLevels: number): string | null {
  let m: RegExpMatchArray | null;
  if (/^(quant_conv|post_quant_conv)\./.test(key)) return key;
  if ((m = key.match(/^(encoder|decoder)\.(conv_in|conv_out)\.(.+)$/))) return key;
  if ((m = key.match(/^(encoder|decoder)\.conv_norm_out\.(.+)$/))) return `${m[1]}.norm_out.${m[2]}`;
  if ((m = key.match(/^(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.+)$/))) return `${m[1]}.mid.block_${Number(m[2]) + 1}.${resnetPart(m[3])}`;
  if ((m = key.match(/^(encoder|decoder)\.mid_block\.attentions\.0\.(.+)$/))) return `${m[1]}.mid.attn_1.${attnPart(m[2])}`;
  if ((m = key.match(/^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/))) return `encoder.down.${m[1]}.block.${m[2]}.${resnetPart(m[3])}`;
  if ((m = key.match(/^encoder\.down_blocks\.(\d+)\.attentions\.(\d+)\.(.+)$/))) return `encoder.down.${m[1]}.attn.${m[2]}.${attnPart(m[3])}`;
  if ((m = key.match(/^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$/))) return `encoder.down.${m[1]}.downsample.conv.${m[2]}`;
  const up = (i: string) => numLevels - 1 - Number(i);
  if ((m = key.match(/^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/))) return `decoder.up.${up(m[1])}.block.${m[2]}.${resnetPart(m[3])}`;
  if ((m = key.match(/^decoder\.up_blocks\.(\d+)\.attentions\.(\d+)\.(.+)$/))) return `decoder.up.${up(m[1])}.attn.${m[2]}.${attnPart(m[3])}`;
  if ((m = key.match(/^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$/))) return `decoder.up.${up(m[1])}.upsample.conv.${m[2]}`;
  return null;
}

export const VAE_PREFIXES = ['first_stage_model.', 'first_stage.', 'vae.'];

const ATTN_WEIGHT = /\.(mid\.attn_1|attn\.\d+)\.(q|k|v|proj_out)\.weight$/;

/** How a flat key list holds VAE weights: under which prefix (null: none), in diffusers names or LDM names. */
export interface VaeKeyLayout {
  prefix: string | null;
  diffusers: boolean;
  /** Resolution levels (len(ch_mult)), counted from the encoder's down blocks; 0 if there are none. */
  numLevels: number;
  /** Keys that belong to the VAE (still in the source names; a training loss's loss.* keys are left out). */
  keys: string[];
}

/** Finds the VAE inside a key list (a bare VAE state dict, a prefixed one in a whole checkpoint, diffusers names). */
export function vaeKeyLayout(allKeys: Iterable<string>): VaeKeyLayout {
  const all = [...allKeys];
  const prefix = VAE_PREFIXES.find((p) => all.some((k) => k.startsWith(p) && /^(encoder|decoder|quant_conv|post_quant_conv)\./.test(k.slice(p.length)))) ?? null;
  // loss.* (LPIPS / discriminator / logvar of LDM's autoencoder training) is not part of the autoencoder.
  const keys = (prefix ? all.filter((k) => k.startsWith(prefix)) : all).filter((k) => !k.slice(prefix?.length ?? 0).startsWith('loss.'));
  const local = prefix ? keys.map((k) => k.slice(prefix.length)) : keys;
  const diffusers = local.some((k) => /^(encoder|decoder)\.(down_blocks|up_blocks|mid_block)\./.test(k));
  const levels = new Set<string>();
  for (const k of local) {
    const m = k.match(diffusers ? /^encoder\.down_blocks\.(\d+)\./ : /^encoder\.down\.(\d+)\./);
    if (m) levels.add(m[1]);
  }
  return { prefix, diffusers, numLevels: levels.size, keys };
}

/**
 * A VAE state dict in LDM names from LDM, prefixed LDM (Lightning/SD checkpoints) or diffusers layouts.
 * Attention Linear weights [C, C] become 1×1 conv weights [C, C, 1, 1] (reshape views of the inputs; the
 * caller owns and disposes both maps). Keys outside the VAE (e.g. a whole SD checkpoint's UNet) are dropped
 * when a prefix selected the VAE; otherwise an unknown key is an error naming it. numLevels (len(ch_mult),
 * needed to renumber diffusers' decoder blocks) defaults to the number of encoder levels in the keys.
 */
export function toLdmVaeStateDict(sd: Map<string, Tensor>, numLevels?: number): Map<string, Tensor> {
  const layout = vaeKeyLayout(sd.keys());
  const levels = numLevels ?? layout.numLevels;
  const out = new Map<string, Tensor>();
  for (const k0 of layout.keys) {
    const v = sd.get(k0)!;
    const k = layout.prefix ? k0.slice(layout.prefix.length) : k0;
    const ldm = layout.diffusers ? diffusersVaeKeyToLdm(k, levels) : k;
    if (!ldm) throw new ModelConfigError(`VAE weights: diffusers key '${k0}' has no LDM equivalent`);
    // Linear-layout attention weights (diffusers, some converted LDM files) → the 1×1 convs of the LDM layout.
    out.set(ldm, ATTN_WEIGHT.test(ldm) && v.ndim === 2 ? v.reshape([...v.shape, 1, 1]) : v);
  }
  return out;
}
