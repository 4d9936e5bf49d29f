// Coupling flow matching: paths, the matcher and its loss, noise augmentation, source/context
// construction, time grids, ODE solvers and the sampling entry point.
export { FlowError, AbortError } from './errors.js';
export { linspaceGrid, checkGrid, type LinspaceOptions } from './time_grid.js';
export { MAX_GRID_POINTS, MAX_SOLVER_STEPS, NOISE_STEP_MIN, NOISE_STEP_MAX, samplingOptionProblem, type SamplingOption } from './sampling_options.js';
export { LinearPath, GVPPath, type ProbabilityPath, type PathName } from './path.js';
export { FlowMatcher, checkContext, type VelocityNet, type FlowMatcherOptions, type LossOptions, type LossTerms } from './matcher.js';
export { cosineAlphaBar, NoiseAugmenter, type CosineScheduleOptions, type NoiseAugmenterOptions } from './noise_augment.js';
export {
  SD_SCALE_FACTOR, UPSAMPLING_MODES, scaleLatent, unscaleLatent, upsampleLatent, buildSourceAndContext, psuImage, contextLatent, contextLatentAsync,
  type ContextSpec, type PixelResize, type LatentInterpolation, type UpsamplingMode, type EncodeFn, type DecodeFn, type UpsampleInputs, type UpsampleOptions, type CouplingOptions, type SourceAndContext,
} from './source.js';
export * from './solvers/index.js';
export { sample, sampleAsync, type SampleOptions, type SampleInput, type SampleResult } from './sample.js';
export { sampleSde, scoreFromVelocity, diffusionWeight, type SdeSampleOptions, type DiffusionForm } from './sde_sample.js';
