// Optimizers and gradient utilities.
export { Optimizer, OptimizerStateError, type BaseHyper, type ParamGroup, type ParamsInput, type ParamState, type OptimizerMeta, type OptimizerStateDict, type Json } from './optimizer.js';
export { Adam, AdamW, ADAM_DEFAULTS, type AdamConfig } from './adam.js';
export { clipGradNorm, gradNorm } from './clip_grad.js';
