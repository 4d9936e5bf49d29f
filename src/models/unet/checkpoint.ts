// UNet weights out of checkpoints: the reference's Lightning checkpoints keep the online network under
// `model.net.` and the EMA copy (used for sampling) under `ema_model.ema_model.net.`; fmboost's own training
// checkpoints (src/artifacts/checkpoint.ts) under `model.` and `ema.`; model bundles (src/pipeline/bundle.ts) keep the
// EMA UNet under `unet.`; a bare state_dict has no prefix.
import type { Tensor } from '../../tensor/index.js';
import { ModelConfigError } from '../config_util.js';

export const UNET_PREFIXES = { online: 'model.net.', ema: 'ema_model.ema_model.net.' } as const;
/** fmboost training checkpoints: online weights under `model.`, EMA under `ema.`. */
export const TRAIN_CHECKPOINT_PREFIXES = { online: 'model.', ema: 'ema.' } as const;

/** fmboost model bundles: the (EMA) UNet under `unet.`. */
export const BUNDLE_UNET_PREFIX = 'unet.';

export type UnetWeights = 'ema' | 'online';

export interface UnetCheckpointSelection {
  /** 'lightning' (the reference), 'fmboost-checkpoint' (our training checkpoints), 'fmboost-bundle' (a model
   *  bundle's EMA UNet) or 'bare'. */
  layout: 'lightning' | 'fmboost-checkpoint' | 'fmboost-bundle' | 'bare';
  /** The copy taken; null for a bare state dict. */
  weights: UnetWeights | null;
  prefix: string | null;
  /** The source keys that were taken. */
  keys: string[];
}

const UNET_ROOTS = /^(time_embed|input_blocks|middle_block|output_blocks|out|pool|un_pool)\./;

/**
 * Decides which keys of a checkpoint hold the UNet. which: 'ema' (what the reference samples with),
 * 'online', or 'auto' = ema if present, else online, else the keys as they are.
 */
export function selectUnetWeights(allKeys: Iterable<string>, which: 'auto' | UnetWeights = 'auto'): UnetCheckpointSelection {
  const keys = [...allKeys];
  const has = (p: string) => keys.some((k) => k.startsWith(p));
  const layouts = [
    { layout: 'lightning' as const, p: UNET_PREFIXES },
    { layout: 'fmboost-checkpoint' as const, p: TRAIN_CHECKPOINT_PREFIXES },
  ];
  const found = layouts.find(({ layout, p }) => layout === 'lightning'
    ? has(p.ema) || has(p.online)
    : keys.some((k) => (k.startsWith(p.ema) || k.startsWith(p.online)) && UNET_ROOTS.test(k.slice(k.indexOf('.') + 1))));
  if (!found && which !== 'online' && keys.some((k) => k.startsWith(BUNDLE_UNET_PREFIX) && UNET_ROOTS.test(k.slice(BUNDLE_UNET_PREFIX.length)))) {
    return { layout: 'fmboost-bundle', weights: 'ema', prefix: BUNDLE_UNET_PREFIX, keys: keys.filter((k) => k.startsWith(BUNDLE_UNET_PREFIX)) };
  }
  if (!found) {
    if (which !== 'auto') throw new ModelConfigError(`checkpoint has no ${which} UNet weights (no keys starting with '${UNET_PREFIXES[which]}'), nor is it an fmboost training checkpoint (keys '${TRAIN_CHECKPOINT_PREFIXES[which]}…')`);
    return { layout: 'bare', weights: null, prefix: null, keys };
  }
  const weights: UnetWeights = which === 'auto' ? (has(found.p.ema) ? 'ema' : 'online') : which;
  const prefix = found.p[weights];
  const taken = keys.filter((k) => k.startsWith(prefix));
  if (!taken.length) throw new ModelConfigError(`checkpoint has no ${weights} UNet weights (no keys starting with '${prefix}')`);
  return { layout: found.layout, weights, prefix, keys: taken };
}

/**
 * The UNet's state dict from a checkpoint's flat tensor map (see selectUnetWeights for `which`).
 * The tensors are shared with the input map (not copied).
 */
export function unetStateDictFromCheckpoint(sd: Map<string, Tensor>, which: 'auto' | UnetWeights = 'auto'): Map<string, Tensor> {
  const sel = selectUnetWeights(sd.keys(), which);
  const out = new Map<string, Tensor>();
  for (const k of sel.keys) out.set(sel.prefix ? k.slice(sel.prefix.length) : k, sd.get(k)!);
  return out;
}
