// UNet weights out of the reference's Lightning checkpoints: the online network is under `model.net.`, the EMA
// copy (used for sampling) under `ema_model.ema_model.net.`; a bare state_dict has no prefix.
import type { Tensor } from '../../tensor/index.js';
import { ModelConfigError } from '../config_util.js';

export const UNET_PREFIXES = { online: 'model.net.', ema: 'ema_model.ema_model.net.' } as const;

/**
 * The UNet's state dict from a checkpoint's flat tensor map. which: 'ema' (what the
 * reference samples with), 'online', or 'auto' = ema if present, else online, else the keys as they are.
 * The tensors are shared with the input map (not copied).
 */
export function unetStateDictFromCheckpoint(sd: Map<string, Tensor>, which: 'auto' | 'ema' | 'online' = 'auto'): Map<string, Tensor> {
  const has = (p: string) => [...sd.keys()].some((k) => k.startsWith(p));
  let prefix: string | null;
  if (which === 'auto') prefix = has(UNET_PREFIXES.ema) ? UNET_PREFIXES.ema : has(UNET_PREFIXES.online) ? UNET_PREFIXES.online : null;
  else {
    prefix = UNET_PREFIXES[which];
    if (!has(prefix)) throw new ModelConfigError(`checkpoint has no ${which} UNet weights (no keys starting with '${prefix}')`);
  }
  if (!prefix) return new Map(sd);
  const out = new Map<string, Tensor>();
  for (const [k, v] of sd) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}
