import { Tensor, empty, F, type Generator } from '../../tensor/index.js';
import { Module } from '../module.js';
import { kaimingUniformDefault_, biasDefault_ } from '../init.js';

export interface LinearConfig { inFeatures: number; outFeatures: number; bias?: boolean; generator?: Generator }

/** y = x Wᵀ + b (torch.nn.Linear: weight [out, in]). */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly config: LinearConfig) {
    super();
    const { inFeatures, outFeatures, generator } = config;
    this.weight = this.registerParameter('weight', kaimingUniformDefault_(empty([outFeatures, inFeatures]), generator));
    this.bias = config.bias === false ? null : this.registerParameter('bias', biasDefault_(empty([outFeatures]), this.weight.shape, generator));
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}
