// Stable Diffusion 1.x denoising UNet (CompVis/stable-diffusion UNetModel with SpatialTransformers), with the
// reference's state_dict keys and a loader for diffusers-named weights.
export { SDUNet, TimestepEmbedSequential, TimeEmbed } from './unet.js';
export { CrossAttention, GEGLU, FeedForward, BasicTransformerBlock, SpatialTransformer, type CrossAttentionConfig, type BasicTransformerBlockConfig, type SpatialTransformerConfig } from './transformer.js';
export { resolveSDUNetConfig, headsFor, SD15_UNET_CONFIG, LCM_SD15_UNET_CONFIG, SD_UNET_PRESETS, type SDUNetConfig, type ResolvedSDUNetConfig, type SDUNetPresetName } from './config.js';
export {
  diffusersToOriginalKey, originalToDiffusersKey, detectSDUNetLayout, toOriginalSDUNetStateDict, loadSDUNetWeights, SDUNetWeightsError,
  LDM_UNET_PREFIX, type SDUNetLayout, type SDUNetStateDict,
} from './diffusers_names.js';
