// The presets' names alone (presets.ts holds their configs): pure, so the config schema lists them without
// importing model code.
export const UNET_PRESET_NAMES = ['paper', 'unet_small', 'unet_tiny'] as const;
export const VAE_PRESET_NAMES = ['sd', 'vae_small', 'vae_f4c8'] as const;
export type UNetPresetName = (typeof UNET_PRESET_NAMES)[number];
export type VAEPresetName = (typeof VAE_PRESET_NAMES)[number];
