// A seeded random-number generator (libtorch's CPU Philox/MT generator), same streams as torch.Generator.
import { native } from './native.js';
import { Tensor } from './tensor.js';
import { nativeCall, type OpValue } from './dispatch.js';

/** Data-parallel rank `rank` of `worldSize` (see Generator.shardBatch). */
export interface BatchShard { rank: number; worldSize: number }

export class Generator implements OpValue {
  /** @internal */ readonly handle: unknown;
  /** Set by shardBatch: batch-leading draws are this rank's rows of the whole world's draw. */
  batchShard: BatchShard | undefined;
  constructor(seed = 0, device = 'cpu') {
    this.handle = nativeCall('Generator', [seed, device], () => native.generatorNew(seed, device));
  }
  /** @internal */
  handleForOp(): unknown {
    return this.handle;
  }
  /** @internal */
  describeForOp(): string {
    return 'Generator';
  }
  /**
   * For data-parallel training: a draw of shape [b, …] (rand, randn, normal, bernoulli) becomes rows
   * rank, rank + W, … of the draw of shape [b·W, …] that one process would make for the whole
   * world's batch. With the loader's strided shards (rank takes positions ≡ rank mod W), each sample
   * gets the same noise, t and dropout mask as in a single process on the global batch. Every rank
   * draws the full [b·W, …] tensor, so the streams stay in step; the cost is W× the random numbers.
   */
  shardBatch(rank: number, worldSize: number): this {
    if (!(Number.isInteger(worldSize) && worldSize >= 1 && Number.isInteger(rank) && rank >= 0 && rank < worldSize)) throw new RangeError(`Generator.shardBatch: rank ${rank} of world size ${worldSize}`);
    this.batchShard = worldSize > 1 ? { rank, worldSize } : undefined;
    return this;
  }
  manualSeed(seed: number): this {
    native.generatorSeed(this.handle, seed);
    return this;
  }
  /** The full generator state as a uint8 tensor (for checkpoints). */
  getState(): Tensor {
    return Tensor.fromHandle(native.generatorGetState(this.handle));
  }
  setState(state: Tensor): this {
    native.generatorSetState(this.handle, state.handle);
    return this;
  }
}

/** Seeds libtorch's default generator (like torch.manual_seed). */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}
