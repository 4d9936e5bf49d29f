// Upscaling pipeline: CFM model bundles, tiled encode / flow / decode, cascades and the Upsampler API.
export { Upsampler, defaultModelPath, type ImageInput } from './upsampler.js';
export { planScale, checkScale, offeredScales, MAX_SCALE, type ScalePlan } from './scale_plan.js';
export type * from './types.js';
export { ModelLoadError, DefaultModelMissingError, PipelineError, NonFiniteError, MemoryBudgetError } from './errors.js';
export { UpsampleResult, runMetadata, type SaveOptions } from './result.js';
export { overallFraction } from './progress.js';
export { estimatePass, chooseTiling, defaultMemoryBudget, unetTerms, vaeTerms, formatBytes, parseMemorySize, type PassMemory, type TilingChoice } from './memory.js';
export { assertFinite } from '../upscale/finite.js';
export {
  BUNDLE_FORMAT, BUNDLE_VERSION, DEFAULT_FLOW_CONFIG, writeBundle, loadBundle, loadTrainingCheckpoint, loadModel, disposeModel, resolveFlowConfig, readAnyVaeStateDict, exportBundle,
  type FlowBundleConfig, type CfmModel, type WriteBundleOptions, type CheckpointLoadOptions,
} from './bundle.js';
export { planTiles, tileStarts, rampWeights, tileWeights, blendTiles, blendTilesSync, coverage, type Tile, type TilePlan } from '../upscale/tiles.js';
export { encodeTiled, decodeTiled, flowTiled, tiledField, buildSource, buildContext, upscalePass, decodeBaseLatent, sizeMultiples, type StageContext, type FlowOptions, type PassResult } from '../upscale/stages.js';
export { parseNpy, readNpy, npyBytes, readLatentFile, type LatentFile } from './latent_io.js';
export { listModels, describeBundle, modelDirs, type ModelEntry } from './catalog.js';
export type { BaseModel, BaseSampleOptions } from './base_model.js';
export { SDBase, SD_SAMPLERS, LCM_SAMPLERS, unetConfigFromDiffusers, inferSDUNetConfig, readSchedulerConfig, type SDBaseLoadOptions, type SDBaseParts } from './sd_base.js';
export { generate, checkBoostFits, type GenerateOptions, type GenerateResult, type GenerateInfo } from './generate.js';
export { OwnBase, writeBaseBundle, exportBaseBundle, defaultBasePath, type BaseSpec } from './own_base.js';
