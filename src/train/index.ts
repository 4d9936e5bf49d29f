// Training infrastructure: config, EMA, LR schedules, checkpoints, loggers, plots.
export * as config from './config/index.js';
export { ConfigError, loadConfig, resolveConfig, dumpConfig, saveResolvedConfig, type FmboostConfig, type LoadedConfig } from './config/index.js';
export { EMA, EmaError, emaDecay, type EmaOptions, type EmaState } from './ema.js';
export { lrSchedule, lrFactorFn, constantWarmupFactor, cosineWarmupFactor, LrScheduleError, type LrScheduleConfig, type LrScheduleName } from './lr.js';
export {
  saveCheckpoint, loadCheckpoint, CheckpointDir, CheckpointError, CHECKPOINT_FORMAT, CHECKPOINT_VERSION,
  type CheckpointData, type LoadedCheckpoint, type CheckpointInfo, type CheckpointKind,
} from '../artifacts/checkpoint.js';
export { type Logger, MultiLogger } from './log/logger.js';
export { CsvLogger, CsvLogError, readMetricsCsv, type CsvLoggerOptions } from './log/csv.js';
export { TensorBoardLogger, type TensorBoardOptions } from './log/tensorboard.js';
export { WandbLogger, WandbUnavailableError, type WandbOptions } from './log/wandb.js';
export { formatProgress, formatDuration, ThroughputMeter, ProgressPrinter, type ProgressInfo } from './log/progress.js';
export { createLoggers, type LoggerSettings } from './log/create.js';
export { crc32c, maskedCrc32c } from '../util/crc32c.js';
export { encodePng, PngError, type RgbImage } from '../util/png.js';
export { plotLines, lossCurvePng, metricCurvePng, niceTicks, type Series, type PlotOptions, type PlotLayout } from '../util/plot.js';
export { Trainer, TrainingDivergedError, TrainerSetupError, deriveSeed, type TrainerOptions, type TrainResult } from './trainer.js';
export { precomputeLatents, PrecomputeError, type PrecomputeOptions, type PrecomputeResult } from './precompute.js';
