// Inference precision: fp32, or bf16 mixed precision (libtorch CPU autocast: convs and matmuls in bf16 with
// fp32 accumulation; GroupNorm is normalised in fp32 by functional.groupNorm, softmax and the rest stay fp32).
// 'auto' picks bf16 only where the CPU has bf16 dot-product instructions (AMX-BF16 or AVX512-BF16): elsewhere
// oneDNN emulates bf16 and it is slower than fp32. CUDA autocast is not wired, so a CUDA device resolves to fp32.
import { readFileSync } from 'node:fs';
import { autocastBf16 } from './grad_mode.js';
import type { Tensor } from './tensor.js';
import { isPrecisionOption, PRECISIONS, type Precision, type PrecisionOption } from './precision_names.js';

export { PRECISIONS, isPrecisionOption, type Precision, type PrecisionOption } from './precision_names.js';

let flags: Set<string> | undefined;
/** The CPU's feature flags from /proc/cpuinfo (empty where there is none, e.g. macOS). */
export function cpuFlags(): Set<string> {
  if (!flags) {
    let text = '';
    try { text = readFileSync('/proc/cpuinfo', 'utf8'); } catch { /* not Linux: no flags known */ }
    const line = text.split('\n').find((l) => /^flags\s*:/.test(l));
    flags = new Set(line ? line.replace(/^flags\s*:/, '').trim().split(/\s+/) : []);
  }
  return flags;
}

/** Which bf16 instructions the CPU has: 'amx', 'avx512' or null (bf16 would be emulated). */
export function cpuBf16(): 'amx' | 'avx512' | null {
  const f = cpuFlags();
  if (f.has('amx_bf16')) return 'amx';
  if (f.has('avx512_bf16')) return 'avx512';
  return null;
}

/** 'auto' → bf16 on a CPU with bf16 instructions, else fp32; fp32/bf16 stay; undefined → fp32. An unknown value,
 *  or bf16 off the CPU, is a RangeError (callers wrap it in their own error type). */
export function resolvePrecision(p: PrecisionOption | undefined, device = 'cpu'): Precision {
  if (p !== undefined && !isPrecisionOption(p)) throw new RangeError(`precision must be one of ${PRECISIONS.join(', ')}, got '${String(p)}'`);
  if (p === undefined || p === 'fp32') return 'fp32';
  const cpu = device === 'cpu';
  if (p === 'auto') return cpu && cpuBf16() !== null ? 'bf16' : 'fp32';
  if (!cpu) throw new RangeError(`precision bf16 runs on the CPU only (CPU autocast); device '${device}' supports fp32`);
  return 'bf16';
}

/** Runs a model call at the precision and returns its result as float32 (the caller's dtype stays fp32). */
export function atPrecision(p: Precision | undefined, fn: () => Tensor): Tensor {
  if (p !== 'bf16') return fn();
  const y = autocastBf16(fn);
  if (y.dtype === 'float32') return y;
  try {
    return y.to('float32');
  } finally {
    y.dispose();
  }
}
