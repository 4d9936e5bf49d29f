// What a checkpoint holds of a run beyond its weights, and how it comes back: the EMA, the optimizer, the
// four random streams, the loader position and the step. Saving it all makes a resume bit-exact on CPU
// (same thread count); the trainer decides when to save and where (artifacts/checkpoint.ts writes the file).
import type { DataLoader } from '../data/index.js';
import type { Adam } from '../nn/index.js';
import type { Json } from '../nn/optim/index.js';
import type { Tensor } from '../tensor/index.js';
import type { CheckpointData, LoadedCheckpoint } from '../artifacts/checkpoint.js';
import type { FmboostConfig } from './config/index.js';
import type { EMA } from './ema.js';
import { TrainerSetupError } from './errors.js';
import { STREAM_NAMES, type Streams, type TrainTask } from './loop/task.js';

/** The live parts of a run that a checkpoint captures. */
export interface RunParts {
  task: TrainTask;
  ema: EMA;
  optimizer: Adam;
  streams: Streams;
  loader: DataLoader;
}

/** The checkpoint payload of the run at `step` (the random streams' states are new tensors: the caller disposes `rng`). */
export function captureRunState(p: RunParts, step: number, config: FmboostConfig, worldSize: number): CheckpointData & { rng: Map<string, Tensor> } {
  const rng = new Map<string, Tensor>();
  for (const name of STREAM_NAMES) rng.set(name, p.streams[name].getState());
  return {
    step,
    model: p.task.model.stateDict(),
    ema: p.ema.averaged(),
    optimizer: p.optimizer.stateDict(),
    rng,
    trainer: {
      mode: p.task.mode, ema: p.ema.state() as unknown as Json, loader: p.loader.state() as unknown as Json, lr: p.optimizer.paramGroups[0].lr,
      world_size: worldSize, global_batch: config.data.batch_size * worldSize,
    },
    config: config as unknown as Json,
  };
}

/** Puts a loaded checkpoint back into the run's parts and returns its step; the checkpoint's tensors are disposed. */
export function restoreRunState(p: RunParts, ck: LoadedCheckpoint): number {
  try {
    p.task.model.loadStateDict(ck.model, { strict: true });
    const tr = ck.trainer as { ema?: { step: number; initted: boolean }; loader?: { epoch: number; index: number; seed: number; length: number }; mode?: string };
    if (!tr.ema || !tr.loader) throw new TrainerSetupError(`${ck.path}: trainer state lacks ema/loader (not written by fmboost train)`);
    p.ema.loadState(tr.ema, ck.ema);
    if (ck.optimizer) p.optimizer.loadStateDict(ck.optimizer);
    for (const name of STREAM_NAMES) {
      const st = ck.rng.get(name);
      if (!st) throw new TrainerSetupError(`${ck.path}: no rng state "${name}"`);
      p.streams[name].setState(st);
    }
    p.loader.loadState(tr.loader);
    return ck.step;
  } finally {
    for (const m of [ck.model, ck.ema, ck.rng, ck.optimizer?.tensors]) if (m) for (const t of m.values()) t.dispose();
  }
}
