// The tags of fmboost's on-disk formats (the `format` key of a safetensors file's metadata), in one place.
//   bundle       unet.* + vae.* + flow config: what `fmboost upsample --model` and `fmboost export` speak
//   base         unet.* + vae.* + base config: an unconditional base model for `fmboost generate` (pipeline/own_base.ts)
//   checkpoint   model.* / ema.* / optimizer.* / rng.* + trainer state: resumable training (artifacts/checkpoint.ts)
//   weights      one converted model (vae or unet) with its config (`fmboost convert`; read by models/load.ts)
// The tags themselves live in io/format_tags.ts, below every reader; the versions here.
export { BUNDLE_FORMAT, BASE_FORMAT, CHECKPOINT_FORMAT, WEIGHTS_FORMAT } from '../io/index.js';

export const BUNDLE_VERSION = 1;

export const BASE_VERSION = 1;

export const CHECKPOINT_VERSION = 1;
