import { Tensor, ones, zeros, F } from '../../tensor/index.js';
import { Module } from '../module.js';

export interface GroupNormConfig { numGroups: number; numChannels: number; eps?: number; affine?: boolean }

/** torch.nn.GroupNorm (weight 1, bias 0). */
export class GroupNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  constructor(readonly config: GroupNormConfig) {
    super();
    if (config.numChannels % config.numGroups) throw new RangeError(`GroupNorm: ${config.numChannels} channels are not divisible by ${config.numGroups} groups`);
    const affine = config.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([config.numChannels])) : null;
    this.bias = affine ? this.registerParameter('bias', zeros([config.numChannels])) : null;
  }
  forward(x: Tensor): Tensor {
    return F.groupNorm(x, this.config.numGroups, this.weight, this.bias, this.config.eps ?? 1e-5);
  }
  /** silu(this(x)), fused where F.groupNormSilu can (bf16 inference); `film` is the ADM scale/shift, [N, C] each. */
  forwardSilu(x: Tensor, film?: { scale: Tensor; shift: Tensor }): Tensor {
    return F.groupNormSilu(x, this.config.numGroups, this.weight, this.bias, this.config.eps ?? 1e-5, film ?? {});
  }
}

export interface LayerNormConfig { normalizedShape: number | number[]; eps?: number; elementwiseAffine?: boolean; bias?: boolean }

/** torch.nn.LayerNorm over the trailing normalizedShape dims. */
export class LayerNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  private readonly shape: number[];
  constructor(readonly config: LayerNormConfig) {
    super();
    this.shape = Array.isArray(config.normalizedShape) ? config.normalizedShape : [config.normalizedShape];
    const affine = config.elementwiseAffine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones(this.shape)) : null;
    this.bias = affine && config.bias !== false ? this.registerParameter('bias', zeros(this.shape)) : null;
  }
  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.shape, this.weight, this.bias, this.config.eps ?? 1e-5);
  }
}
