// Typed errors of the flow module: bad inputs name the function and the offending value.

/** A flow function was given an input it cannot use (grid, shapes, names, options). */
export class FlowError extends Error {
  override name = 'FlowError';
  readonly code = 'EFLOW';
  constructor(readonly fn: string, detail: string) {
    super(`${fn}: ${detail}`);
  }
}

/** Integration was cancelled through an AbortSignal (same name as the DOM's AbortError). */
export class AbortError extends Error {
  override name = 'AbortError';
  readonly code = 'ABORT_ERR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
