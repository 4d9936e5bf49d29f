// Samplers for eps-prediction latent diffusion models (SD1.x, LCM-distilled SD1.x): the DDPM schedule,
// DDIM, k-diffusion Euler / Euler ancestral, LCM multistep, and classifier-free guidance.
export { DiffusionError, DiffusionAbortError } from './errors.js';
export type { EpsModel, NoiseSource, DiffusionStepInfo, SamplerOptions, SampleResult } from './types.js';
export { ddpmSchedule, sdSchedule, scheduleSigmas, linspace, SD_SCHEDULE, type DdpmSchedule, type DdpmScheduleConfig, type BetaSchedule } from './schedule.js';
export { sampleDDIM, ddimTimesteps, ddimParameters, type DdimOptions, type DdimParameters, type DdimDiscretize } from './ddim.js';
export { sigmaToT, tToSigma, discreteSigmas, karrasSigmas, sigmaMin, sigmaMax } from './sigmas.js';
export { sampleEuler, sampleEulerAncestral, ancestralStep, type EulerOptions, type EulerAncestralOptions } from './euler.js';
export { sampleLCM, lcmTimesteps, lcmBoundaryScalings, guidanceScaleEmbedding, lcmGuidanceEmbedding, type LcmOptions } from './lcm.js';
export { classifierFreeGuidance, combineGuidance, type ConditionalEpsModel, type GuidanceOptions } from './guidance.js';
