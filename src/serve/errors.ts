// An HTTP-facing failure: a status code and a message the client can act on.
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}
