// The training config's model sections (snake_case, reference names) as the model constructors' configs: one
// translation for the trainer, the CLI and every loader of training checkpoints.
import { camelKeys } from '../util/case.js';

/** model.unet → the EfficientUNet config (in_channels → inChannels). */
export function unetModelConfig(unet: Record<string, unknown>): Record<string, unknown> {
  return camelKeys(unet);
}

/** model.vae → AutoencoderKL overrides on top of its preset: the non-null architecture keys (ch_mult → chMult). */
export function vaeModelOverrides(vae: Record<string, unknown>): Record<string, unknown> {
  return camelKeys(vae, { keep: (k, v) => k !== 'preset' && k !== 'path' && v !== null });
}
