// `fmboost export CHECKPOINT --out MODEL.safetensors [--name N] [--fp16] [--online] [--vae W] [--solver S --steps N]`: a flow training
// checkpoint (EMA UNet by default, config, VAE weights it names) → a self-contained CFM model bundle, the file
// `fmboost upsample --model` and the library load (the bundled default model is made this way).
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { exportBundle, exportBaseBundle } from '../../pipeline/index.js';
import { openArtifact } from '../../artifacts/open.js';
import { MAX_SOLVER_STEPS, SOLVER_NAMES, type SolverName } from '../../flow/index.js';
import { intOption, solverOption } from '../options.js';
import { resolveCheckpointPath } from '../../train/trainer.js';
import { fail } from '../errors.js';

interface Opts { out: string; name?: string; fp16?: boolean; online?: boolean; vae?: string; info?: string; solver?: SolverName; steps?: number }

export function register(program: Command): void {
  program
    .command('export')
    .description('turn a flow training checkpoint into a CFM model bundle (UNet + VAE + sampling settings in one .safetensors), or a base-model run (model.flow.source noise) into a base model for `fmboost generate --base`')
    .argument('<checkpoint>', 'training checkpoint file, or an experiment\'s checkpoints/ folder (its latest)')
    .requiredOption('--out <file>', 'output .safetensors bundle')
    .option('--name <name>', 'model name stored in the bundle (default: the run\'s name)')
    .option('--fp16', 'store the weights as float16 (half the size; loading casts back to float32)')
    .option('--online', 'export the online weights instead of the EMA')
    .option('--vae <file>', 'VAE weights when the checkpoint\'s config names none')
    .option('--info <json>', 'extra provenance stored in the bundle (a JSON object)')
    .option('--solver <name>', `default ODE solver stored in the bundle: ${SOLVER_NAMES.join(', ')} (default: the run's validation solver)`, solverOption)
    .option('--steps <n>', 'default ODE solver steps stored in the bundle (default: the run\'s validation steps)', intOption('steps', 1, MAX_SOLVER_STEPS))
    .action((checkpoint: string, o: Opts) => {
      try {
        const ck = resolveCheckpointPath(checkpoint);
        let info: Record<string, unknown> | undefined;
        if (o.info) {
          try { info = JSON.parse(o.info) as Record<string, unknown>; } catch (e) { throw new Error(`--info is not JSON: ${(e as Error).message}`); }
          if (!info || typeof info !== 'object' || Array.isArray(info)) throw new Error('--info must be a JSON object');
        }
        const common = { name: o.name, online: o.online, vae: o.vae, dtype: o.fp16 ? 'float16' as const : 'float32' as const, info };
        // a run with model.flow.source noise is a base model (fmboost generate --base), any other a CFM
        const source = (openArtifact(ck).json('config')?.model as { flow?: { source?: string } } | undefined)?.flow?.source;
        if (source === 'noise') exportBaseBundle(ck, o.out, { ...common, sampling: { solver: o.solver, steps: o.steps } }); // base bundles store solver steps
        else exportBundle(ck, o.out, { ...common, sampling: { solver: o.solver, steps: o.steps !== undefined ? o.steps + 1 : undefined } }); // bundles store grid points
        process.stdout.write(`wrote ${source === 'noise' ? 'base model' : 'CFM bundle'} ${o.out} (${(statSync(o.out).size / 2 ** 20).toFixed(1)} MiB) from ${ck}\n`);
      } catch (e) {
        fail(e);
      }
    });
}
