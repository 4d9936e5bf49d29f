export { Module, StateDictError, type StateDict, type StateDictLike, type LoadReport } from './module.js';
export * as init from './init.js';
export { Linear, type LinearConfig } from './layers/linear.js';
export { Conv1d, Conv2d, ConvTranspose2d, type Conv1dConfig, type Conv2dConfig, type ConvTranspose2dConfig } from './layers/conv.js';
export { GroupNorm, LayerNorm, type GroupNormConfig, type LayerNormConfig } from './layers/norm.js';
export { SiLU, GELU, ReLU, Identity, Dropout } from './layers/simple.js';
export { ModuleList, Sequential, type Forward1 } from './layers/containers.js';
export * as optim from './optim/index.js';
export { Adam, AdamW, clipGradNorm, gradNorm, type AdamConfig } from './optim/index.js';
