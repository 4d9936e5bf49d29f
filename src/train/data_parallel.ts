// What the trainer does differently when it is one of W data-parallel processes (torchrun-style env, or
// `fmboost train --nproc N`): join the c10d group, start every rank from rank 0's weights, average the
// gradients in buckets during backward (c10d's Reducer), and agree once per step on the logged loss and
// on stopping. Rank 0 alone writes checkpoints, logs and validation; the others wait at a barrier.
//
// Equivalence with one process: the loader's strided shards and the generators' batch shards
// (Generator.shardBatch) give rank r the samples r, r + W, … of the global batch with the noise, t and
// dropout masks a single process would draw for them, so W processes × b samples compute the same
// averaged gradient as one process × W·b samples (up to float summation order).
import { asDistributedError, GradReducer, ProcessGroup, type Backend, type World } from '../distributed/index.js';
import type { Tensor } from '../tensor/index.js';
import { TrainerSetupError } from './errors.js';

/** How a step ends, agreed by all ranks (the largest code wins): 0 go on, 1 save and go on (SIGUSR1), 2 SIGINT, 3 SIGTERM. */
export const STOP_CODES = { none: 0, SIGUSR1: 1, SIGINT: 2, SIGTERM: 3 } as const;
const CODE_SIGNAL: (NodeJS.Signals | undefined)[] = [undefined, 'SIGUSR1', 'SIGINT', 'SIGTERM'];

/** Per-process batch size from the config: global / W when global_batch_size is set. */
export function perRankBatch(d: { batch_size: number; global_batch_size: number | null }, worldSize: number): number {
  if (d.global_batch_size === null) return d.batch_size;
  if (d.global_batch_size % worldSize !== 0) {
    throw new TrainerSetupError(`data.global_batch_size ${d.global_batch_size} is not divisible by the ${worldSize} processes; use a multiple of ${worldSize}, or set data.batch_size (per process)`);
  }
  return d.global_batch_size / worldSize;
}

export class DataParallel {
  private reducer: GradReducer | undefined;
  private constructor(readonly group: ProcessGroup) {}

  get rank(): number { return this.group.rank; }
  get size(): number { return this.group.size; }

  /** Joins the group of `world` (rendezvous at MASTER_ADDR:MASTER_PORT, waiting at most timeoutMs). */
  static async join(world: World, opts: { backend: 'auto' | Backend; timeoutMs: number; cuda?: boolean }): Promise<DataParallel> {
    const backend: Backend = opts.backend === 'auto' ? (opts.cuda ? 'nccl' : 'gloo') : opts.backend;
    return new DataParallel(await ProcessGroup.init(world, { backend, timeoutMs: opts.timeoutMs }));
  }

  /** Every rank takes rank 0's values of these tensors (weights, EMA, buffers). */
  async fromRankZero(tensors: Tensor[], what: string): Promise<void> {
    try { await this.group.broadcast(tensors, 0); } catch (e) { throw asDistributedError(e, this.rank, `broadcast of ${what}`); }
  }

  /** Gradients of `params` will be averaged over ranks in backward passes armed by armBackward(). */
  attach(params: Tensor[]): number {
    this.reducer = new GradReducer(this.group, params);
    return this.reducer.buckets;
  }

  /** Before the backward of a step's last micro-batch (earlier ones accumulate locally, as DDP's no_sync). */
  armBackward(): void {
    this.reducer?.prepare();
  }

  /**
   * One small all-reduce per step: the mean over ranks of the loss and its terms, and the largest
   * stop code, so every rank stops (or saves) at the same step.
   */
  async endOfStep(loss: number, terms: Record<string, number>, stop: number): Promise<{ loss: number; terms: Record<string, number>; stop: number; signal?: NodeJS.Signals }> {
    const keys = Object.keys(terms).sort();
    let mean: number[], code: number;
    try {
      mean = await this.group.meanOf([loss, ...keys.map((k) => terms[k])]);
      code = await this.group.maxOf(stop);
    } catch (e) { throw asDistributedError(e, this.rank, 'end-of-step all-reduce'); }
    return { loss: mean[0], terms: Object.fromEntries(keys.map((k, i) => [k, mean[i + 1]])), stop: code, signal: CODE_SIGNAL[code] };
  }

  /**
   * An error thrown by an armed backward: the reducer's bucket all-reduces run inside it, so a peer
   * that is gone or timed out surfaces here as a libtorch error; it is named with the rank and the op.
   */
  backwardError(e: unknown): unknown {
    return e instanceof Error && e.name === 'TorchError' ? asDistributedError(e, this.rank, 'backward (with the gradient all-reduce)') : e;
  }

  /** Waits for every rank (e.g. while rank 0 saves or validates); `why` names the wait in errors. */
  async barrier(why: string): Promise<void> {
    try { await this.group.barrier(); } catch (e) { throw asDistributedError(e, this.rank, `barrier (${why})`); }
  }

  close(): void {
    this.reducer?.dispose();
    this.reducer = undefined;
    this.group.close();
  }
}
