// The tags of fmboost's on-disk formats: the `format` key of a safetensors file's metadata, defined once here,
// below every reader (models/load.ts, models/convert.ts, artifacts/, pipeline/). artifacts/formats.ts says what
// each format holds.
export const BUNDLE_FORMAT = 'fmboost-cfm-model';
export const BASE_FORMAT = 'fmboost-base-model';
export const CHECKPOINT_FORMAT = 'fmboost-checkpoint';
export const WEIGHTS_FORMAT = 'fmboost-weights';
