// The machine's peak FP32 rate, against which the report gives each row's FLOP utilisation (achieved ÷ peak).
// /proc/cpuinfo cannot give it on these VMs: they report the 2.6 GHz base clock and a Zen 4 family while libtorch
// sustains 375–470 GFLOP/s on 2 threads, above that clock's AVX-512 peak. So the default is the figure of
// ../shared/DESIGN.md §2 for this machine type (2 Zen 5 cores with AVX-512: ≈ 546 GFLOP/s with both cores,
// i.e. 273 per core); FMBOOST_BENCH_PEAK_GFLOPS (per core) sets it for another machine.

export const DEFAULT_PEAK_GFLOPS_PER_CORE = 273;

export interface MachinePeak {
  /** Peak GFLOP/s for the threads the run uses (per core × min(threads, cores)). */
  gflops: number;
  perCore: number;
  cores: number;
  source: string;
}

export function machinePeak(threads: number, cores: number, env: NodeJS.ProcessEnv = process.env): MachinePeak {
  const raw = env.FMBOOST_BENCH_PEAK_GFLOPS;
  let perCore = DEFAULT_PEAK_GFLOPS_PER_CORE, source = 'DESIGN.md §2: 2 Zen 5 cores with AVX-512, 546 GFLOP/s FP32 with both';
  if (raw !== undefined && raw !== '') {
    const v = Number(raw);
    if (!(v > 0) || !Number.isFinite(v)) throw new Error(`bench: FMBOOST_BENCH_PEAK_GFLOPS must be a positive number (GFLOP/s per core), got '${raw}'`);
    perCore = v;
    source = 'FMBOOST_BENCH_PEAK_GFLOPS';
  }
  const used = Math.max(1, Math.min(threads, cores));
  return { gflops: perCore * used, perCore, cores: used, source };
}
