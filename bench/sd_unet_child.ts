// Our side of the SD UNet probes (bench/rows/sd_unet.ts), in a fresh process so its peak RSS is the step's:
//   node dist/bench/sd_unet_child.js --weights W.safetensors --config '<resolved SDUNetConfig JSON>' --batch 2 --size 64
//        --ctx-len 77 --precision fp32|bf16 [--warmup 1] [--calls 2] [--threads N] [--seed 0] [--out out.safetensors]
//   node dist/bench/sd_unet_child.js --write-weights W.safetensors --config '<JSON>' [--seed 0]
// Prints one JSON line: per-call ms of the timed forwards (no_grad; bf16 = CPU autocast), the load time, the peak RSS
// (VmHWM) after loading and at the end, and the RSS after loading. --out saves the last call's output (fp32).
import { autocastBf16, getNumThreads, noGrad, setNumThreads, tidy, type Tensor } from '../src/tensor/index.js';
import { writeSafetensors } from '../src/io/index.js';
import { SDUNet } from '../src/models/sd/index.js';
import { loadSDUNetStreaming, procStatusMB, randomizeSDUNet, sdInputs } from './sd_unet_setup.js';

function parse(argv: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error(`sd_unet_child: bad argument '${argv[i]}'`);
    o[argv[i].slice(2)] = argv[i + 1];
  }
  return o;
}

function int(o: Record<string, string>, k: string, def?: number, min = 1): number {
  const v = o[k] === undefined ? def : Number(o[k]);
  if (v === undefined || !Number.isInteger(v) || v < min) throw new Error(`sd_unet_child: --${k} needs an integer ≥ ${min}, got ${o[k]}`);
  return v;
}

function main(): void {
  const o = parse(process.argv.slice(2));
  if (!o.config) throw new Error('sd_unet_child: --config JSON is required');
  const config = JSON.parse(o.config);
  const seed = int(o, 'seed', 0, 0);
  if (o['write-weights']) {
    const net = new SDUNet(config);
    randomizeSDUNet(net, seed);
    writeSafetensors(o['write-weights'], net.stateDict());
    net.dispose();
    process.stdout.write(JSON.stringify({ path: o['write-weights'] }) + '\n');
    return;
  }
  if (!o.weights) throw new Error('sd_unet_child: --weights PATH is required');
  if (o.threads) setNumThreads(int(o, 'threads'));
  const precision = o.precision ?? 'fp32';
  if (precision !== 'fp32' && precision !== 'bf16') throw new Error(`sd_unet_child: --precision fp32|bf16, got ${precision}`);
  const batch = int(o, 'batch'), size = int(o, 'size'), ctxLen = int(o, 'ctx-len', 77), warmup = int(o, 'warmup', 1, 0), calls = int(o, 'calls', 2);

  const t0 = performance.now();
  const net = new SDUNet(config).eval();
  loadSDUNetStreaming(net, o.weights);
  const loadSec = (performance.now() - t0) / 1e3;
  const loadPeakRssMB = procStatusMB('VmHWM'), loadRssMB = procStatusMB('VmRSS');

  const { x, t, context } = sdInputs(net.config, batch, size, ctxLen, seed);
  const step = (): Tensor => noGrad(() => tidy(() => {
    const y = precision === 'bf16' ? autocastBf16(() => net.forward(x, t, context)) : net.forward(x, t, context);
    return y.float();
  }));
  for (let i = 0; i < warmup; i++) step().dispose();
  const samplesMs: number[] = [];
  let last: Tensor | null = null;
  for (let i = 0; i < calls; i++) {
    last?.dispose();
    const c0 = performance.now();
    last = step();
    samplesMs.push(performance.now() - c0);
  }
  const peakRssMB = procStatusMB('VmHWM');
  if (o.out && last) writeSafetensors(o.out, { output: last });
  last?.dispose();
  for (const v of [x, t, context]) v.dispose();
  net.dispose();
  process.stdout.write(JSON.stringify({ samplesMs, loadSec, loadPeakRssMB, loadRssMB, peakRssMB, threads: getNumThreads(), precision }) + '\n');
}

try {
  main();
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}
