// Option parsers shared by the subcommands (commander calls them with the raw string).
import { isSolverName, SOLVER_NAMES, type SolverName } from '../flow/index.js';
import { isPrecisionOption, PRECISIONS, type PrecisionOption } from '../tensor/precision_names.js';
import { maxThreads, maxThreadsText } from '../tensor/limits.js';
import { DEVICE_NAME } from '../pipeline/upsampler.js';
import { parseMemorySize } from '../pipeline/memory.js';

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

/** fp32, bf16 or auto (tensor/precision.ts). */
export function precisionOption(v: string): PrecisionOption {
  if (!isPrecisionOption(v)) throw new Error(`--precision must be one of ${PRECISIONS.join(', ')}, got '${v}'`);
  return v;
}

/** The help text of --precision, one for every command. */
export const PRECISION_HELP = 'model precision: fp32, bf16 (mixed: convs and matmuls in bf16, norms in fp32) or auto (bf16 where the CPU has bf16 instructions, AMX or AVX512-BF16)';

/** --threads: 1 to the machine's cores, 4 per core when FMBOOST_FORCE_THREADS=1 (tensor/limits.ts). */
export function threadsOption(v: string): number {
  const n = Number(v);
  if (Number.isInteger(n) && n > maxThreads()) throw new Error(`--threads ${v} is more than this machine's ${maxThreads()} (${maxThreadsText()}): more threads than cores only contend`);
  return intOption('threads', 1, maxThreads())(v);
}

/**
 * Flags are kebab-case; the reference's snake_case spellings (--resume_checkpoint, --load_weights, --use_wandb,
 * --image_size, …) are accepted as aliases by rewriting `--a_b` to `--a-b` (values and `key.path=value`
 * overrides are left alone; nothing after a `--` terminator is touched).
 */
export function kebabFlags(argv: string[]): string[] {
  const out: string[] = [];
  let done = false;
  for (const a of argv) {
    if (a === '--') done = true;
    if (done || !a.startsWith('--') || !a.includes('_')) { out.push(a); continue; }
    const eq = a.indexOf('=');
    const name = eq < 0 ? a : a.slice(0, eq);
    out.push(name.replace(/_/g, '-') + (eq < 0 ? '' : a.slice(eq)));
  }
  return out;
}

/** --device: cpu, cuda or cuda:N (pipeline/upsampler.ts checkDevice; CUDA itself is checked at load). */
export function deviceOption(v: string): string {
  if (!DEVICE_NAME.test(v)) throw new Error(`--device must be cpu, cuda or cuda:N, got '${v}'`);
  return v;
}

/** --max-memory: bytes from '8G', '512M', … (pipeline/memory.ts parseMemorySize), at least 64 MB. */
export function memoryOption(v: string): number {
  const b = parseMemorySize(v);
  if (b < 64 * 2 ** 20) throw new Error(`--max-memory must be at least 64M, got '${v}'`);
  return b;
}
