export { EfficientUNet, TimestepEmbedSequential } from './model.js';
export { resolveUNetConfig, unetConfigToSnake, type EfficientUNetConfig, type ResolvedUNetConfig } from './config.js';
export { timestepEmbedding } from './timestep.js';
export { ResBlock, type ResBlockConfig } from './resblock.js';
export { SpatialSelfAttention, qkvAttention, linearQkvAttention, type SpatialSelfAttentionConfig } from './attention.js';
export { Downsample, Upsample, Pool2d, UnPool2d } from './resample.js';
export { unetStateDictFromCheckpoint, selectUnetWeights, UNET_PREFIXES, TRAIN_CHECKPOINT_PREFIXES, type UnetWeights, type UnetCheckpointSelection } from './checkpoint.js';
