// `fmboost parity FIXTURE.safetensors`: replays a reference fixture (weights, inputs, outputs, gradients) on
// our model and prints the largest errors as JSON; exits 1 when any is above tolerance.
import type { Command } from 'commander';
import { runParity, DEFAULT_TOLERANCE } from '../../models/index.js';

function positive(name: string) {
  return (v: string): number => {
    const x = Number(v);
    if (!(x > 0)) throw new Error(`--${name} must be a positive number, got '${v}'`);
    return x;
  };
}

export function register(program: Command): void {
  program
    .command('parity')
    .description('check a model against a reference fixture (EfficientUNet or AutoencoderKL; FIXTURE.json beside it names the config)')
    .argument('<fixture>', 'FIXTURE.safetensors with param.*, input.*, output*, grad.* tensors')
    .option('--atol <x>', `max abs error of outputs (default ${DEFAULT_TOLERANCE.outputAtol})`, positive('atol'))
    .option('--grad-rtol <x>', `max error of each gradient relative to its largest value (default ${DEFAULT_TOLERANCE.gradRtol})`, positive('grad-rtol'))
    .option('--all-grads', 'list every gradient (default: only the failing ones and the worst)')
    .action((fixture: string, opts: { atol?: number; gradRtol?: number; allGrads?: boolean }) => {
      const r = runParity(fixture, { outputAtol: opts.atol ?? DEFAULT_TOLERANCE.outputAtol, gradRtol: opts.gradRtol ?? DEFAULT_TOLERANCE.gradRtol });
      const grads = Object.entries(r.grads);
      const shown = opts.allGrads ? grads : grads.filter(([, e]) => !e.ok);
      const out = {
        ok: r.ok,
        fixture: r.fixture,
        model: r.model,
        params: r.params,
        tolerance: r.tolerance,
        outputs: r.outputs,
        grads: { checked: grads.length, failed: grads.filter(([, e]) => !e.ok).length, worst: r.worstGrad, entries: Object.fromEntries(shown) },
      };
      // Shapes as one-line strings keep the report short enough to read.
      console.log(JSON.stringify(out, (k, v) => (k === 'shape' && Array.isArray(v) ? `[${v.join(', ')}]` : v), 1));
      if (!r.ok) process.exitCode = 1;
    });
}
