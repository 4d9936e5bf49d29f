// The tags of fmboost's on-disk formats (the `format` key of a safetensors file's metadata), in one place.
//   bundle       unet.* + vae.* + flow config: what `fmboost upsample --model` and `fmboost export` speak
//   checkpoint   model.* / ema.* / optimizer.* / rng.* + trainer state: resumable training (artifacts/checkpoint.ts)
//   weights      one converted model (vae or unet) with its config (`fmboost convert`; read by models/load.ts,
//                which sits below this layer and so keeps the tag's definition)
export { WEIGHTS_FORMAT } from '../models/load.js';

export const BUNDLE_FORMAT = 'fmboost-cfm-model';
export const BUNDLE_VERSION = 1;

export const CHECKPOINT_FORMAT = 'fmboost-checkpoint';
export const CHECKPOINT_VERSION = 1;
