// `fmboost info`: what libtorch was found and what it can do (threads, CUDA, oneDNN).
import type { Command } from 'commander';
import { runtimeInfo } from '../../tensor/index.js';

export function register(program: Command): void {
  program
    .command('info')
    .description('show the libtorch runtime fmboost uses (version, threads, CUDA)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const i = runtimeInfo();
      const summary = { torch: i.torch, threads: i.threads, cuda: i.cuda, cudaDevices: i.cudaDevices, mkldnn: i.mkldnn,
        openblas: { OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? null, OPENBLAS_L2_SIZE: process.env.OPENBLAS_L2_SIZE ?? null } };
      if (opts.json) console.log(JSON.stringify(summary, null, 1));
      else for (const [k, v] of Object.entries(summary)) console.log(`${k.padEnd(12)} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
    });
}
