// torch.nn.Embedding: a lookup table weight [num, dim], initialised N(0, 1) as torch does.
import { empty, tidy, type Tensor } from '../../tensor/index.js';
import { Module } from '../module.js';
import * as init from '../init.js';

export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(readonly num: number, readonly dim: number) {
    super();
    this.weight = this.registerParameter('weight', init.normal_(empty([num, dim]), 0, 1));
  }

  /** ids [...] (integer) → [..., dim]. */
  forward(ids: Tensor): Tensor {
    return tidy(() => this.weight.indexSelect(0, ids.flatten()).reshape([...ids.shape, this.dim]));
  }
}
