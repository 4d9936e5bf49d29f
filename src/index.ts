// fmboost: coupling flow matching on libtorch, from TypeScript. This entry is the upscaler (Upsampler and the
// pipeline, and generate's base models), training, evaluation, models, flow, diffusion samplers, data and distributed; the tensor library is `fmboost/tensor`
// (src/tensor_library.ts).
export type { Tensor, DType, Shape } from './tensor/index.js';
export * as flow from './flow/index.js';
export * as models from './models/index.js';
export * as data from './data/index.js';
export * as evaluation from './eval/index.js';
export * as train from './train/index.js';
export * as distributed from './distributed/index.js';
export * as diffusion from './diffusion/index.js';
export {
  Upsampler, UpsampleResult, writeBundle, loadModel, ModelLoadError, DefaultModelMissingError, PipelineError, NonFiniteError,
  type UpsamplerLoadOptions, type UpsampleOptions, type ImageInput, type SaveOptions, type UpsampleInfo, type UpsampleStage, type ProgressCallback, type LatentInput, type FlowBundleConfig,
} from './pipeline/index.js';
export * as pipeline from './pipeline/index.js';
