// Typed errors for everything the tensor layer rejects; they name the op and its inputs.

/** libtorch rejected an op (bad shapes, dtypes, indices...). `op` is the ATen schema name. */
export class TorchError extends Error {
  override name = 'TorchError';
  constructor(readonly op: string, readonly inputs: string, readonly detail: string, readonly code = 'ETORCH') {
    super(`${op}(${inputs}): ${detail}`);
  }
}

/** A tensor was used after dispose(). */
export class DisposedTensorError extends TorchError {
  override name = 'DisposedTensorError';
  constructor(op: string, inputs: string) {
    super(op, inputs, 'tensor was disposed', 'EDISPOSED');
  }
}
