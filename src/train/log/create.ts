// The loggers of one experiment folder, as configured by train.log.
import { join } from 'node:path';
import { CsvLogger } from './csv.js';
import { MultiLogger, type Logger } from './logger.js';
import { TensorBoardLogger } from './tensorboard.js';
import { WandbLogger } from './wandb.js';

export interface LoggerSettings {
  csv: boolean;
  tensorboard: boolean;
  wandb: boolean;
  wandb_project: string;
}

/**
 * Opens `<dir>/metrics.csv`, `<dir>/tensorboard/` and W&B as requested. W&B fails here, before any
 * training, if it was asked for and cannot start. `resumeStep` trims CSV rows past a resumed checkpoint.
 */
export async function createLoggers(dir: string, s: LoggerSettings, opts: { runName?: string; config?: Record<string, unknown>; resumeStep?: number } = {}): Promise<MultiLogger> {
  const loggers: Logger[] = [];
  // W&B first: it is the one that can fail, and nothing should be created if it does.
  if (s.wandb) loggers.push(await WandbLogger.start({ project: s.wandb_project, name: opts.runName, config: opts.config, dir }));
  if (s.csv) loggers.push(new CsvLogger(join(dir, 'metrics.csv'), { resumeStep: opts.resumeStep }));
  if (s.tensorboard) loggers.push(new TensorBoardLogger(join(dir, 'tensorboard')));
  return new MultiLogger(loggers);
}
