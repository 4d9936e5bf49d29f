// Upscaling pipeline: model bundles, tiled encode/flow/decode, cascades and the Upsampler API.
export { Upsampler } from './upsampler.js';
export type * from './types.js';
