// A seeded random-number generator (libtorch's CPU Philox/MT generator), same streams as torch.Generator.
import { native } from './native.js';
import { Tensor } from './tensor.js';
import { nativeCall, type OpValue } from './dispatch.js';

export class Generator implements OpValue {
  /** @internal */ readonly handle: unknown;
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
