// `fmboost train --config FILE --name NAME [--resume-checkpoint CKPT | --load-weights CKPT] [--use-wandb] [--nproc N …] [key.path=value …]`
// as the reference's train.py: experiments in logs/NAME (config.yaml, checkpoints/, metrics.csv,
// tensorboard/, samples/, loss.png). Exit codes (cli/errors.ts): 0 finished, 130/143 stopped by SIGINT/SIGTERM
// (after saving checkpoints/interrupted.safetensors), 1 bad config or flags, 2 a checkpoint or data that cannot
// be used, 3 a failure while training (NaN loss, …) or a checkpoint save that failed.
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { configSpec, describe, loadConfig, resolveConfig, type FmboostConfig } from '../../train/config/index.js';
import { openArtifact } from '../../artifacts/open.js';
import { Trainer, resolveCheckpointPath } from '../../train/trainer.js';
import { dumpConfig } from '../../train/config/index.js';
import { EXIT } from '../errors.js';
import { intOption } from '../options.js';
import { launchWorkers } from '../launcher.js';
import { perRankBatch } from '../../train/data_parallel.js';
import { worldFromEnv } from '../../distributed/index.js';

interface TrainCliOptions {
  config?: string;
  name?: string;
  logdir: string;
  resumeCheckpoint?: string;
  loadWeights?: string;
  minMatch?: number;
  useWandb?: boolean;
  helpConfig?: boolean;
  profile?: boolean;
  nproc?: number;
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  masterPort?: number;
}

/** The config of a resumed run when no --config is given: the one stored in the checkpoint. */
function configFromCheckpoint(path: string, overrides: string[]): FmboostConfig {
  const a = openArtifact(path); // the header only: the stored config, no tensors
  if (a.kind !== 'checkpoint') throw new Error(`${path} is not an fmboost training checkpoint (${a.kind}); pass --config`);
  const config = a.json('config');
  if (!config) throw new Error(`${path} holds no config; pass --config`);
  return resolveConfig(dumpConfig(config as unknown as FmboostConfig), overrides, `${path} (stored config)`).config;
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train the flow model (mode=flow, the paper) or the autoencoder (mode=autoencoder); experiments go to <logdir>/<name>')
    .argument('[overrides...]', 'config overrides key.path=value (e.g. train.lr=1e-4 data.batch_size=8)')
    .option('-c, --config <file>', 'YAML config (native or the reference layout)')
    .option('-n, --name <name>', 'experiment name (may contain /); default: the config name')
    .option('--logdir <dir>', 'root folder of experiments', 'logs')
    .option('--resume-checkpoint <ckpt>', 'continue exactly from a training checkpoint (a file, or an experiment/checkpoints folder: its latest)')
    .option('--load-weights <ckpt>', 'initialise the model weights from a file, non-strictly (reports what it skipped)')
    .option('--min-match <fraction>', 'with --load-weights: fail unless the file fills at least this fraction (0–1) of the model\'s tensors (default: at least one)', (v: string) => {
      const x = Number(v);
      if (!(x >= 0 && x <= 1)) throw new Error(`--min-match must be a number from 0 to 1, got '${v}'`);
      return x;
    })
    .option('--use-wandb', 'also log to Weights & Biases')
    .option('--profile', 'time every libtorch op of the training steps (after 2 warm-up steps; validation and checkpoints left out) and print them by class per step at the end; also logs/NAME/profile.json')
    .option('--nproc <n>', 'data-parallel: start N worker processes on this machine (torchrun-style; default: train.distributed.devices)', intOption('nproc', 1, 1024))
    .option('--nnodes <n>', 'data-parallel: machines taking part (default: train.distributed.num_nodes)', intOption('nnodes', 1, 1024))
    .option('--node-rank <k>', 'data-parallel: this machine\'s index, 0 … nnodes − 1 (default 0)', intOption('node-rank', 0, 1023))
    .option('--master-addr <host>', 'data-parallel: address of node 0, where rank 0 serves the rendezvous (default 127.0.0.1)')
    .option('--master-port <port>', 'data-parallel: its port (default: a free one with one node, 29500 with several)', intOption('master-port', 1, 65535))
    .option('--help-config', 'list every config key with its default and meaning')
    .action(async (overrides: string[], o: TrainCliOptions) => {
      if (o.helpConfig) {
        process.stdout.write(describe(configSpec).join('\n') + '\n');
        return;
      }
      if (o.resumeCheckpoint && o.loadWeights) throw new Error('--resume-checkpoint and --load-weights cannot be used together (as in the reference)');
      let config: FmboostConfig;
      if (o.config) {
        const loaded = loadConfig(o.config, overrides);
        for (const w of loaded.warnings) if (worldFromEnv().rank === 0) process.stderr.write(`fmboost: warning: ${w}\n`);
        config = loaded.config;
      } else if (o.resumeCheckpoint) {
        config = configFromCheckpoint(resolveCheckpointPath(o.resumeCheckpoint), overrides);
      } else {
        throw new Error('train needs --config FILE (or --resume-checkpoint CKPT to continue with its stored config)');
      }
      let name = o.name ?? config.name ?? undefined;
      if (!name && o.resumeCheckpoint) {
        // logs/NAME/checkpoints/x.safetensors → NAME
        const parts = resolve(resolveCheckpointPath(o.resumeCheckpoint)).split('/');
        const i = parts.lastIndexOf('checkpoints');
        if (i > 0) name = parts[i - 1];
      }
      if (!name) throw new Error('train needs --name NAME (or a name in the config)');
      if (name.split('/').some((p) => p === '..' || p === '')) throw new Error(`--name ${JSON.stringify(name)}: use a relative name without '..' or empty parts`);
      config.name = name;
      // Not a worker yet (no WORLD_SIZE from a launcher or torchrun) and asked for several processes: launch them.
      const nproc = o.nproc ?? config.train.distributed.devices;
      const nnodes = o.nnodes ?? config.train.distributed.num_nodes;
      if (!process.env.WORLD_SIZE && nproc * nnodes > 1) {
        perRankBatch(config.data, nproc * nnodes); // a batch the world cannot split fails here, once, not in every worker
        process.exitCode = await launchWorkers({ nproc, nnodes, nodeRank: o.nodeRank ?? 0, masterAddr: o.masterAddr ?? (nnodes > 1 ? '' : '127.0.0.1'), masterPort: o.masterPort });
        return;
      }
      const trainer = new Trainer({
        config, expDir: join(o.logdir, name), resumeCheckpoint: o.resumeCheckpoint, loadWeights: o.loadWeights, minMatch: o.minMatch, useWandb: o.useWandb, profile: o.profile,
      });
      const r = await trainer.run();
      if (r.status === 'interrupted') process.exitCode = r.signal === 'SIGTERM' ? 143 : 130;
      else if (r.saveFailures > 0) {
        process.stderr.write(`fmboost: ${r.saveFailures} checkpoint save(s) failed during training (see above)\n`);
        process.exitCode = EXIT.failure;
      }
    });
}
