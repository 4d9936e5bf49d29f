// Typed errors for weight files: they name the file and, where there is one, the tensor key.

/** A weights file is malformed, truncated, or asks for something this reader does not support. */
export class WeightsFileError extends Error {
  override name = 'WeightsFileError';
  constructor(readonly file: string, readonly key: string | undefined, readonly detail: string) {
    super(`${file}${key !== undefined ? ` [${key}]` : ''}: ${detail}`);
  }
}
