// `fmboost models [--json]`: the models this installation can use — the bundled default and the bundles in
// FMBOOST_MODELS folders — with their scales, default sampler, size and measured quality.
import type { Command } from 'commander';
import { listModels, modelDirs } from '../../pipeline/catalog.js';
import { defaultModelPath } from '../../pipeline/upsampler.js';

const millions = (n: number) => `${(n / 1e6).toFixed(1)} M`;

export function register(program: Command): void {
  program
    .command('models')
    .description('list the models: the bundled default and the bundles in FMBOOST_MODELS folders (scales, sampler, size, quality)')
    .option('--json', 'one JSON array on stdout')
    .action((o: { json?: boolean }) => {
      const models = listModels(defaultModelPath(), modelDirs());
      if (o.json) {
        process.stdout.write(JSON.stringify(models, null, 1) + '\n');
        return;
      }
      if (!models.length) {
        process.stdout.write(`no models found (the default is looked for at ${defaultModelPath()}; FMBOOST_MODELS adds folders)\n`);
        return;
      }
      for (const m of models) {
        process.stdout.write(`${m.name}${m.isDefault ? ' (default)' : ''}\n`);
        process.stdout.write(`  path     ${m.path} (${m.megabytes.toFixed(1)} MiB)\n`);
        process.stdout.write(`  scales   ${m.scales.map((s) => `${s}×`).join(', ')} (one pass ${m.factor}×; any integer 2–64 with --scale)\n`);
        process.stdout.write(`  sampler  ${m.steps} ${m.solver} step${m.steps === 1 ? '' : 's'}\n`);
        process.stdout.write(`  size     UNet ${millions(m.parameters.unet)}, VAE ${millions(m.parameters.vae)} parameters; latent f${m.latent.factor}, ${m.latent.channels} channels\n`);
        if (m.quality) process.stdout.write(`  quality  ${m.quality}\n`);
      }
    });
}
