// Named model configurations. Costs are per sample, forward only, in multiply-accumulates (FLOPs ≈ 2 × MACs),
// from flops.ts (conv + linear + attention products; checked against PyTorch hook counts in the tests).
//
// | preset      | params       | cost per sample (forward)                                       |
// |-------------|--------------|-----------------------------------------------------------------|
// | paper       | 305,806,340  | 14.15 GMAC at 32² latents, 226.47 GMAC at 128² (1024² px)        |
// | unet_small  | 10,872,452   | 0.371 GMAC at 16² latents, 1.482 GMAC at 32²                     |
// | unet_tiny   | 724,740      | 0.0637 GMAC at 16² latents, 0.267 GMAC at 32²                    |
// | sd          | 83,653,863   | encode 136.36 GMAC, decode 311.09 GMAC at 256² px                |
// | vae_small   | 5,252,487    | encode 8.77 GMAC, decode 19.69 GMAC at 256² px                   |
// | vae_f4c8    | 851,251      | encode 2.43 GMAC, decode 4.95 GMAC at 256² px                    |
//
// Training costs about 3× the forward. On 2 cores at ~300 GFLOP/s sustained, unet_small at 32² latents
// is ~3 GFLOP per sample forward, ~9 GFLOP per training sample.
import { EfficientUNet, type EfficientUNetConfig } from './unet/index.js';
import { AutoencoderKL, SD_VAE_DEFAULTS, type AutoencoderKLConfig } from './vae/index.js';
import { ModelConfigError } from './config_util.js';
import type { UNetPresetName, VAEPresetName } from './preset_names.js';

export { UNET_PRESET_NAMES, VAE_PRESET_NAMES, type UNetPresetName, type VAEPresetName } from './preset_names.js';

export interface Preset<C> {
  description: string;
  config: C;
  /** Parameter count (checked by the tests). */
  params: number;
  /** Forward cost per sample at given input sizes, in MACs (for VAEs: encode/decode at an image size). */
  cost: Record<string, number>;
}

export const UNET_PRESETS = {
  /** The paper's flow model (reference config): 8 input channels = noisy latent 4 + PSU context latent 4. */
  paper: {
    description: 'FMBoost paper UNet: 128 ch, mult [1,2,4,8], 3 res blocks, attention at 8× (and middle), 4 heads × 64, scale-shift norm',
    config: { inChannels: 8, modelChannels: 128, outChannels: 4, numResBlocks: 3, attentionResolutions: [8, 16], dropout: 0,
      channelMult: [1, 2, 4, 8], convResample: true, dimHead: 64, numHeads: 4, useLinearAttn: false, useScaleShiftNorm: true, poolFactor: -1 },
    params: 305_806_340,
    cost: { 'macs@32': 14_153_613_312, 'macs@128': 226_466_660_352 },
  },
  /** A CPU-trainable flow model for 16²–32² latents (128–256 px images with an f8 VAE). */
  unet_small: {
    description: 'CPU UNet: 64 ch, mult [1,2,4], 1 res block, attention at 4× (and middle), 4 heads × 32, scale-shift norm',
    config: { inChannels: 8, modelChannels: 64, outChannels: 4, numResBlocks: 1, attentionResolutions: [4], dropout: 0,
      channelMult: [1, 2, 4], convResample: true, dimHead: 32, numHeads: 4, useLinearAttn: false, useScaleShiftNorm: true, poolFactor: -1 },
    params: 10_872_452,
    cost: { 'macs@16': 370_589_696, 'macs@32': 1_482_407_936 },
  },
  /** The shared parity fixture's config: for smoke tests and demos. */
  unet_tiny: {
    description: 'Test UNet: 32 ch, mult [1,2], 1 res block, attention at 2×, 2 heads × 16',
    config: { inChannels: 8, modelChannels: 32, outChannels: 4, numResBlocks: 1, attentionResolutions: [2], dropout: 0,
      channelMult: [1, 2], convResample: true, dimHead: 16, numHeads: 2, useLinearAttn: false, useScaleShiftNorm: true, poolFactor: -1 },
    params: 724_740,
    cost: { 'macs@16': 63_729_664, 'macs@32': 267_120_640 },
  },
} satisfies Record<UNetPresetName, Preset<EfficientUNetConfig>>;

export const VAE_PRESETS = {
  /** Stable Diffusion's KL-f8 autoencoder (the reference's DEFAULT_DDCONFIG, embed_dim 4): loads sd_ae.ckpt. */
  sd: {
    description: 'SD KL-f8 VAE: ch 128, mult [1,2,4,4], 2 res blocks, 4 latent channels, scale 0.18215',
    config: { ...SD_VAE_DEFAULTS },
    params: 83_653_863,
    cost: { 'encode@256': 136_361_082_880, 'decode@256': 311_093_641_216 },
  },
  /** SD's layout at a quarter of the width: an f8, 4-channel VAE trainable on CPU. */
  vae_small: {
    // 8 GroupNorm groups keeps SD's 4 channels per group at the 32-channel levels. With the reference's 32 groups
    // every norm there is an instance norm: the decoder's norm_out then maps any flat region to the same colour
    // (trained that way it plateaued at ~18 dB with grey, desaturated reconstructions after 1,400 steps).
    description: 'CPU VAE: ch 32, mult [1,2,4,4], 2 res blocks, 8 GroupNorm groups, f8, 4 latent channels',
    config: { ...SD_VAE_DEFAULTS, ch: 32, normGroups: 8 },
    params: 5_252_487,
    cost: { 'encode@256': 8_773_500_928, 'decode@256': 19_690_700_800 },
  },
  /** The bundled model's first stage: f4, 8 latent channels, a PCA-initialised linear shortcut around a narrow
   *  conv coder without attention (the latent-space ablation in models/default/training/README.md). */
  vae_f4c8: {
    description: 'CPU VAE: f4, 8 latent channels, linear (PCA-initialised) pixel-unshuffle shortcut around a ch 16, mult [1,2,4], 2-res-block conv coder, no attention',
    config: { ...SD_VAE_DEFAULTS, ch: 16, chMult: [1, 2, 4], normGroups: 8, zChannels: 8, embedDim: 8, attnType: 'none', shortcut: 'linear' },
    params: 851_251,
    cost: { 'encode@256': 2_425_880_576, 'decode@256': 4_947_968_000 },
  },
} satisfies Record<VAEPresetName, Preset<AutoencoderKLConfig>>;


/** A UNet from a preset name or a config (with optional overrides on top of a preset). */
export function createUNet(spec: UNetPresetName | EfficientUNetConfig | Record<string, unknown>, overrides: Partial<EfficientUNetConfig> = {}): EfficientUNet {
  return new EfficientUNet({ ...(typeof spec === 'string' ? presetConfig(UNET_PRESETS, spec, 'UNet') : spec), ...overrides });
}

/** An AutoencoderKL from a preset name or a config. */
export function createVAE(spec: VAEPresetName | AutoencoderKLConfig | Record<string, unknown>, overrides: Partial<AutoencoderKLConfig> = {}): AutoencoderKL {
  return new AutoencoderKL({ ...(typeof spec === 'string' ? presetConfig(VAE_PRESETS, spec, 'VAE') : spec), ...overrides });
}

/** A copy of a preset's config by name, without building the model; an unknown name is a ModelConfigError listing the known ones. */
export function presetConfig<C>(presets: Record<string, Preset<C>>, name: string, what: 'UNet' | 'VAE'): C {
  const p = presets[name];
  if (!p) throw new ModelConfigError(`unknown ${what} preset '${name}' (known: ${Object.keys(presets).join(', ')})`);
  return { ...p.config };
}
