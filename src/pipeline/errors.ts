// Typed errors of the upscaling pipeline: each names the file, option or input at fault.

/** A model file is missing, malformed, or not an fmboost CFM model / training checkpoint: the one error of every
 *  weight loader (src/models/load.ts), so the pipeline's and the loaders' failures are the same type. */
export { ModelLoadError } from '../models/load.js';
import { PipelineError } from '../upscale/errors.js';
export { PipelineError, NonFiniteError } from '../upscale/errors.js';

/** No --model was given and the bundled default model is not installed. */
export class DefaultModelMissingError extends Error {
  override name = 'DefaultModelMissingError';
  readonly code = 'ENOMODEL';
  constructor(readonly path: string) {
    super(
      `the bundled default model is not installed (looked for ${path}). ` +
        'It is trained separately and ships later; until then pass a model explicitly: ' +
        '`fmboost upsample --model PATH ...` or `Upsampler.load({ model: PATH })`, where PATH is a CFM model bundle ' +
        '(.safetensors with unet.*, vae.* and fmboost-cfm metadata) or a training checkpoint (with its VAE weights).',
    );
  }
}

/** A run that would not fit the memory budget by estimate (pipeline/memory.ts); nothing was run. */
export class MemoryBudgetError extends PipelineError {
  override name = 'MemoryBudgetError';
  constructor(readonly estimateBytes: number, readonly budgetBytes: number, detail: string) {
    super('upsample', detail);
  }
}
