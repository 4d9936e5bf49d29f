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

const PREFIXES = ['first_stage_model.', 'first_stage.', 'vae.'];

/**
 * A VAE state dict in LDM names from LDM, prefixed LDM (Lightning/SD checkpoints) or diffusers layouts.
 * Attention Linear weights [C, C] become 1×1 conv weights [C, C, 1, 1] (reshape views of the inputs; the
 * caller owns and disposes both maps). Keys outside the VAE (e.g. a whole SD checkpoint's UNet) are dropped
 * when a prefix selected the VAE; otherwise an unknown key is an error naming it.
 */
export function toLdmVaeStateDict(sd: Map<string, Tensor>, numLevels: number): Map<string, Tensor> {
  const keys = [...sd.keys()];
  const prefix = PREFIXES.find((p) => keys.some((k) => k.startsWith(p) && /(encoder|decoder|quant_conv)/.test(k)));
  const out = new Map<string, Tensor>();
  const diffusers = keys.some((k) => /(down_blocks|up_blocks|mid_block)\./.test(k));
  for (const [k0, v] of sd) {
    let k = k0;
    if (prefix) {
      if (!k.startsWith(prefix)) continue;
      k = k.slice(prefix.length);
    }
    if (!diffusers) {
      out.set(k, v);
      continue;
    }
    const ldm = diffusersVaeKeyToLdm(k, numLevels);
    if (!ldm) throw new ModelConfigError(`VAE weights: diffusers key '${k0}' has no LDM equivalent`);
    const isAttnWeight = /\.(mid\.attn_1|attn\.\d+)\.(q|k|v|proj_out)\.weight$/.test(ldm);
    out.set(ldm, isAttnWeight && v.ndim === 2 ? v.reshape([...v.shape, 1, 1]) : v);
  }
  return out;
}
