// Option parsers shared by the subcommands (commander calls them with the raw string).
import { isSolverName, SOLVER_NAMES, type SolverName } from '../flow/index.js';

/** An integer option ≥ min; the error names the flag and the value given. */
export function intOption(name: string, min: number, max?: number) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min || (max !== undefined && x > max)) {
      throw new Error(`--${name} must be an integer ${max === undefined ? `≥ ${min}` : `from ${min} to ${max}`}, got '${v}'`);
    }
    return x;
  };
}

/** An ODE solver name; the error lists the known ones. */
export function solverOption(v: string): SolverName {
  if (!isSolverName(v)) throw new Error(`--solver must be one of ${SOLVER_NAMES.join(', ')}, got '${v}'`);
  return v;
}
