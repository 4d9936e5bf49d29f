// The machine's peak, measured when the bench starts, against which the report gives each row's FLOP
// utilisation (achieved ÷ peak). Nothing is assumed about the CPU (the VMs report a base clock and a family
// that do not tell the sustained rate, and the machine differs between sessions): the peak is the best rate
// libtorch reaches here on large, cache-friendly kernels with the run's threads —
//   fp32: matmul 2048² and conv 3×3 [8,128,32,32] (fp32);
//   bf16: the same under bf16 autocast, the conv channels_last (oneDNN's fast path; AMX/AVX512-BF16 when present).
// Each rate is the best of a few calls. FMBOOST_BENCH_PEAK_GFLOPS (per core, fp32) still overrides fp32.
import { autocastBf16, cpuBf16, noGrad, randn, tidy, F, keep, dispose, type Tensor } from '../src/tensor/index.js';

export interface MachinePeak {
  /** Peak fp32 GFLOP/s for the threads the run uses (the "% of peak" denominator of fp32 rows). */
  gflops: number;
  /** Peak bf16 GFLOP/s (denominator of bf16 rows); equal to fp32's where bf16 is not faster. */
  bf16Gflops: number;
  perCore: number;
  cores: number;
  source: string;
  /** What each probe kernel reached (GFLOP/s). */
  kernels: Record<string, number>;
}

function bestRate(flops: number, call: () => void, calls = 5): number {
  call(); // warm-up: oneDNN creates its primitive on the first call
  let best = Infinity;
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    call();
    best = Math.min(best, performance.now() - t0);
  }
  return flops / (best / 1e3) / 1e9;
}

/** Measures the peak with the current thread count (`threads` of the run, `cores` of the machine). */
export function measurePeak(threads: number, cores: number, env: NodeJS.ProcessEnv = process.env): MachinePeak {
  const used = Math.max(1, Math.min(threads, cores));
  const kernels: Record<string, number> = {};
  const inputs: Tensor[] = [];
  try {
    noGrad(() => {
      const a = keep(randn([2048, 2048])), b = keep(randn([2048, 2048]));
      const x = keep(randn([8, 128, 32, 32])), w = keep(randn([128, 128, 3, 3]).mul(0.05));
      const xc = keep(x.contiguous('channels_last')), wc = keep(w.contiguous('channels_last'));
      inputs.push(a, b, x, w, xc, wc);
      const mmFlops = 2 * 2048 ** 3, convFlops = 2 * 8 * 128 * 128 * 9 * 32 * 32;
      kernels['matmul 2048² fp32'] = bestRate(mmFlops, () => tidy(() => { a.matmul(b); }));
      kernels['conv3×3 [8,128,32,32] fp32'] = bestRate(convFlops, () => tidy(() => { F.conv2d(x, w, null, { padding: 1 }); }), 10);
      kernels['matmul 2048² bf16'] = bestRate(mmFlops, () => tidy(() => { autocastBf16(() => a.matmul(b)); }));
      kernels['conv3×3 [8,128,32,32] bf16 channels_last'] = bestRate(convFlops, () => tidy(() => { autocastBf16(() => F.conv2d(xc, wc, null, { padding: 1 })); }), 10);
    });
  } finally {
    dispose(inputs);
  }
  const fp32 = Math.max(kernels['matmul 2048² fp32'], kernels['conv3×3 [8,128,32,32] fp32']);
  const bf16 = Math.max(fp32, kernels['matmul 2048² bf16'], kernels['conv3×3 [8,128,32,32] bf16 channels_last']);
  let perCore = fp32 / used;
  let source = `measured at bench start (best of matmul 2048² and conv 3×3 with ${used} thread(s); bf16 instructions: ${cpuBf16() ?? 'none'})`;
  const raw = env.FMBOOST_BENCH_PEAK_GFLOPS;
  if (raw !== undefined && raw !== '') {
    const v = Number(raw);
    if (!(v > 0) || !Number.isFinite(v)) throw new Error(`bench: FMBOOST_BENCH_PEAK_GFLOPS must be a positive number (GFLOP/s per core), got '${raw}'`);
    perCore = v;
    source = 'FMBOOST_BENCH_PEAK_GFLOPS (fp32); bf16 measured';
  }
  return { gflops: perCore * used, bf16Gflops: Math.max(bf16, perCore * used), perCore, cores: used, source, kernels };
}

/** The peak that applies to a row: bf16 rows (names ending in '· bf16' / '· bf16+CL') against the bf16 peak. */
export function peakFor(rowName: string, peak: MachinePeak): number {
  return /· bf16/.test(rowName) ? peak.bf16Gflops : peak.gflops;
}
