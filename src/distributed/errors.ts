// The one error type of data-parallel work: which rank saw it, in which operation, and why.

export class DistributedError extends Error {
  override name = 'DistributedError';
  constructor(readonly rank: number, readonly op: string, readonly detail: string) {
    super(`rank ${rank}: ${op} failed: ${detail}`);
  }
}

// Gloo's words for a peer whose process ended or whose connection broke
const PEER_GONE = /connection reset|connection closed|broken pipe|end of file|EOF|Connection refused/i;

/**
 * A native rejection (code EDIST) or any other error, as a DistributedError naming rank and op; an
 * error that already is one keeps its rank and detail and gets `op` as its context.
 */
export function asDistributedError(e: unknown, rank: number, op: string): DistributedError {
  if (e instanceof DistributedError) return e.op === op ? e : new DistributedError(e.rank, op.startsWith(e.op) ? op : `${op}: ${e.op}`, e.detail);
  const err = e as { code?: string; op?: string; rank?: number; message?: string };
  let detail = String(err?.message ?? e).replace(/\s+/g, ' ').trim();
  if (PEER_GONE.test(detail)) detail += ' (another rank has stopped or lost its connection)';
  // the native op name ('init') unless the caller's description already starts with it ('init (rendezvous at …)')
  const nativeOp = err?.code === 'EDIST' && err.op ? err.op : undefined;
  return new DistributedError(typeof err?.rank === 'number' ? err.rank : rank, nativeOp && !op.startsWith(nativeOp) ? nativeOp : op, detail);
}
