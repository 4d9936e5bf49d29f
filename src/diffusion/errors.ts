// Typed errors of the diffusion samplers: a bad option names the function, the option and the value.

/** A sampler or schedule was given an input it cannot use. `option` names the offending option, if one. */
export class DiffusionError extends Error {
  override name = 'DiffusionError';
  readonly code = 'EDIFFUSION';
  constructor(readonly fn: string, readonly option: string | undefined, detail: string) {
    super(`${fn}: ${option === undefined ? '' : `option '${option}': `}${detail}`);
  }
}

/** Sampling was cancelled through an AbortSignal (same name as the DOM's AbortError). */
export class DiffusionAbortError extends Error {
  override name = 'AbortError';
  readonly code = 'ABORT_ERR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
