// How the CLI shows a failure and which exit code it gets. One format everywhere: `fmboost: <message>` on stderr
// (the stack only with FMBOOST_DEBUG=1). Exit codes (README "Exit codes"):
//   0 done · 1 usage (flags, option values, configs) · 2 bad input (an image, latent, model or checkpoint that
//   cannot be used) · 3 failure while running (libtorch, NaN, a write that failed) · 130 / 143 SIGINT / SIGTERM.

export const EXIT = { ok: 0, usage: 1, badInput: 2, failure: 3, sigint: 130, sigterm: 143 } as const;

/** A flag or option value the command cannot use. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Error classes (by name, so no layer has to be imported here) whose fault is the input. */
const BAD_INPUT = new Set([
  'ImageDecodeError', 'ModelLoadError', 'DefaultModelMissingError', 'CheckpointError', 'ArtifactError', 'WeightsFileError', 'UnpicklingError',
  'StateDictError', 'ModelConfigError', 'DataSourceError', 'PrecomputeError', 'ParityFixtureError', 'BaselineCacheError',
  'UpscaleError', // serve: the workers could not load the model
  'MemoryBudgetError', // an input too large for the memory budget (nothing was run)
]);
/** Error classes that mean a wrong option or config. */
const USAGE = new Set(['UsageError', 'ConfigError', 'EvalSpecError', 'EvalError', 'DegradationError', 'CommanderError', 'TrainerSetupError']);

/** The exit code an error stands for. */
export function exitCodeFor(e: unknown): number {
  const name = (e as Error)?.name ?? '';
  if (name === 'AbortError') return EXIT.sigint;
  if (USAGE.has(name)) return EXIT.usage;
  if (BAD_INPUT.has(name)) return EXIT.badInput;
  // Plain Errors and RangeErrors thrown by the commands are their argument checks.
  if (name === 'Error' || name === 'RangeError') return EXIT.usage;
  return EXIT.failure;
}

/** One line on stderr: `fmboost: <message>`. */
export function reportError(e: unknown): void {
  const err = e as Error;
  process.stderr.write(`fmboost: ${err?.message ?? String(e)}\n`);
  if (process.env.FMBOOST_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
}

/** Reports the error and sets the process's exit code for it. */
export function fail(e: unknown): void {
  reportError(e);
  process.exitCode = exitCodeFor(e);
}

/** commander's error text ("error: unknown option '--x'\n(Did you mean --y?)") as our one line with a hint. */
export function usageLine(commanderText: string): string {
  const text = commanderText.trim().replace(/^error: /, '').replace(/\s*\n\s*\(Did you mean ([^)]*)\)/, ' (did you mean $1)').replace(/\s*\n\s*/g, ' ');
  return `fmboost: ${text}; --help lists the options`;
}
