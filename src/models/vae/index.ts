export { AutoencoderKL } from './autoencoder.js';
export { Encoder, Decoder } from './coder.js';
export { ResnetBlock, AttnBlock, Downsample, Upsample } from './blocks.js';
export { DiagonalGaussianDistribution } from './distribution.js';
export { diffusersVaeKeyToLdm, toLdmVaeStateDict, vaeKeyLayout, VAE_PREFIXES, type VaeKeyLayout } from './diffusers.js';
export { resolveVAEConfig, SD_VAE_DEFAULTS, type AutoencoderKLConfig, type ResolvedVAEConfig } from './config.js';
export { tiledDecode, tiledEncode, type TiledVAEOptions } from './tiled.js';
export { PatchMoments, pcaInitShortcut, type PcaInitResult } from './pca.js';
