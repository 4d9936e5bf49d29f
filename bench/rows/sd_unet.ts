// SD1.5 UNet rows (issue 18): one denoising step of the Stable Diffusion 1.5 UNet (src/models/sd, preset sd15,
// 860 M parameters) against the same module in PyTorch (scripts/goldens/sd_reference.py, checked against the
// reference's fixtures), at 32² and 64² latents (256² / 512² images), fp32 and bf16 autocast on both sides.
// Batch 2 with a [2, 77, 768] context: the classifier-free-guidance call of an SD1.5 sampler step (uncond and cond rows
// in one call, as src/diffusion/guidance.ts makes it).
// Probes, not timed rows: each side runs in a fresh process (bench/sd_unet_child.ts, bench/torch_sd_unet.py) so its
// peak RSS (VmHWM) is the step's. Both load one seeded random-weights file (3.4 GB in fp32, written once per run by
// our side under os.tmpdir(), removed at exit), draw the same inputs, and take 1 warm-up + K timed calls;
// ours/torch = median call ÷ median call. --quick skips them.
import { join } from 'node:path';
import { resolveSDUNetConfig, SD_UNET_PRESETS, type SDUNetConfig } from '../../src/models/sd/index.js';
import { sdUnetMacs } from '../../src/models/index.js';
import { registerProbe, type ProbeResult, type ProbeRow } from '../registry.js';
import { median } from '../timing.js';
import { PYTHON } from '../torch_client.js';
import { CHILD, TORCH_CHILD, runJsonChild, sdConfigToSnake, torchMissing, weightsFile } from '../sd_unet_setup.js';

export const GROUP = 'sd-unet';
export const VARIANTS = ['fp32', 'bf16'] as const;
export type Variant = (typeof VARIANTS)[number];

/** What one child reports (both sides print the same fields). */
export interface ChildResult {
  samplesMs: number[];
  loadSec: number;
  loadPeakRssMB: number;
  loadRssMB: number;
  peakRssMB: number;
  threads: number;
}

export interface SDRowsOptions {
  /** Names the model in the row names ('SD1.5'). */
  label: string;
  config: SDUNetConfig | Record<string, unknown>;
  batch: number;
  /** Latent sides, each with its timed calls per side (after one warm-up call). */
  sizes: { size: number; calls: number }[];
  ctxLen: number;
  variants?: readonly Variant[];
  seed?: number;
  /** Test hook: where each side saves its last output (ours.safetensors / torch.safetensors under this dir). */
  outDir?: string;
  /** The Python that runs the PyTorch side (default /usr/bin/python3). */
  python?: string;
}

const f1 = (x: number) => x.toFixed(0);

function probe(o: SDRowsOptions, size: number, calls: number, v: Variant): ProbeRow {
  const c = resolveSDUNetConfig(o.config);
  const seed = o.seed ?? 0;
  const B = o.batch;
  const shape = `[${B},${c.inChannels},${size},${size}] ctx [${B},${o.ctxLen},${c.contextDim}]`;
  return {
    name: `${o.label} UNet step ${shape} · ${v}`,
    group: GROUP,
    flops: 2 * B * sdUnetMacs(o.config, size, size, o.ctxLen),
    quickSkip: 'SD UNet calls take seconds each, and each side loads the weights in a fresh process',
    notes: `${B === 2 ? 'CFG batch (uncond + cond rows in one call), ' : ''}no_grad, ${v === 'fp32' ? 'fp32' : 'bf16 autocast (NCHW)'} both sides; ` +
      `each side in a fresh process: load the seeded random weights, 1 warm-up + ${calls} timed call(s); ours/torch = median ÷ median; ` +
      'peak RSS = VmHWM of that process (weights + the step); torch: bench/torch_sd_unet.py on scripts/goldens/sd_reference.py',
    async measure({ threads }): Promise<ProbeResult> {
      const path = await weightsFile(o.config, seed);
      const common = ['--weights', path, '--batch', String(B), '--size', String(size), '--ctx-len', String(o.ctxLen),
        '--precision', v, '--warmup', '1', '--calls', String(calls), '--threads', String(threads), '--seed', String(seed)];
      const out = (side: string) => (o.outDir ? ['--out', join(o.outDir, `${side}.safetensors`)] : []);
      const ours = await runJsonChild<ChildResult>(process.execPath, [CHILD, '--config', JSON.stringify(c), ...common, ...out('ours')], 'sd_unet_child.js');
      const oursMs = median(ours.samplesMs);
      const details: Record<string, number | string> = {
        'timed calls': calls,
        'ours ms/call': ours.samplesMs.map(f1).join(', '),
        'ours RSS after load MB': Math.round(ours.loadRssMB),
        'ours load s': Number(ours.loadSec.toFixed(1)),
      };
      const python = o.python ?? PYTHON;
      const missing = torchMissing(python);
      if (missing) return { oursMs, peakRssMB: { ours: ours.peakRssMB }, noTorch: missing, details };
      const torch = await runJsonChild<ChildResult>(python, [TORCH_CHILD, '--config', JSON.stringify(sdConfigToSnake(c)), ...common, ...out('torch')], 'torch_sd_unet.py');
      const torchMs = median(torch.samplesMs);
      Object.assign(details, {
        'torch ms/call': torch.samplesMs.map(f1).join(', '),
        'torch RSS after load MB': Math.round(torch.loadRssMB),
        'torch load s': Number(torch.loadSec.toFixed(1)),
      });
      return { oursMs, torchMs, ratio: oursMs / torchMs, peakRssMB: { ours: ours.peakRssMB, torch: torch.peakRssMB }, details };
    },
  };
}

export function sdUnetProbes(o: SDRowsOptions): ProbeRow[] {
  return o.sizes.flatMap(({ size, calls }) => (o.variants ?? VARIANTS).map((v) => probe(o, size, calls, v)));
}

/**
 * The real rows: SD1.5, CFG batch 2. A call is 2 × 0.80 TFLOP at 64² (about 10 s in fp32 at 150 GFLOP/s) and
 * 2 × 0.18 TFLOP at 32², so 2 timed calls at 64², 3 at 32²: the group takes about 4–6 min on 2 cores.
 */
export const SD15_ROWS: SDRowsOptions = { label: 'SD1.5', config: SD_UNET_PRESETS.sd15, batch: 2, sizes: [{ size: 32, calls: 3 }, { size: 64, calls: 2 }], ctxLen: 77 };

registerProbe(...sdUnetProbes(SD15_ROWS));
