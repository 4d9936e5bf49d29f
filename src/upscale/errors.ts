// Typed errors of the upscaling stages: each names the option, input or stage at fault.

/** An option or input the pipeline cannot use (sizes, scale, tiles, latent shapes). */
export class PipelineError extends Error {
  override name = 'PipelineError';
  constructor(readonly fn: string, detail: string) {
    super(`${fn}: ${detail}`);
  }
}

/** A NaN or Inf appeared in a stage (the input, the ODE state, the decoded image): the output would be garbage
 *  (an all-black image) rather than an error otherwise. */
export class NonFiniteError extends PipelineError {
  override name = 'NonFiniteError';
  constructor(readonly stage: string, readonly count: number, total: number) {
    super(stage, `${count} of ${total} values are NaN or infinite (a corrupt input, or weights that overflow)`);
  }
}
