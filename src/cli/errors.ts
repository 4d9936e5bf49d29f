// How the CLI shows a failure: one clear line (the error's own message), the stack only with FMBOOST_DEBUG=1.
export function reportError(e: unknown): void {
  const err = e as Error;
  const name = err?.name && err.name !== 'Error' ? `${err.name}: ` : '';
  process.stderr.write(`fmboost: ${name}${err?.message ?? String(e)}\n`);
  if (process.env.FMBOOST_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
}
