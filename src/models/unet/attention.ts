// The UNet's multi-head self-attention over all spatial positions, with the reference's exact qkv layout.
import { Tensor, F, tidy } from '../../tensor/index.js';
import { Module, GroupNorm, Conv1d } from '../../nn/index.js';
import { zeroModule } from './util.js';

/** softmax(q kᵀ/√d) v on [..., L, d] tensors. */
export function qkvAttention(q: Tensor, k: Tensor, v: Tensor): Tensor {
  return F.scaledDotProductAttention(q, k, v);
}

/**
 * Linear attention (Shen et al. 2018, arXiv 1812.01243): softmax of q over features, of k over positions,
 * q·(1/√d), then q (kᵀ v). Cost O(L d²) instead of O(L² d).
 */
export function linearQkvAttention(q: Tensor, k: Tensor, v: Tensor): Tensor {
  return tidy(() => {
    const scale = 1 / Math.sqrt(q.shape[q.ndim - 1]);
    const qs = F.softmax(q, -1).mul(scale);
    const ks = F.softmax(k, -2);
    const context = ks.transpose(-2, -1).matmul(v); // [..., d, e]
    return qs.matmul(context);
  });
}

export interface SpatialSelfAttentionConfig {
  dim: number;
  heads?: number;
  dimHead?: number;
  useLinear?: boolean;
  normGroups?: number;
}

export class SpatialSelfAttention extends Module {
  readonly norm: GroupNorm;
  readonly qkv: Conv1d;
  readonly projOut: Conv1d;
  readonly heads: number;
  readonly dimHead: number;
  readonly innerDim: number;
  readonly useLinear: boolean;

  constructor(readonly config: SpatialSelfAttentionConfig) {
    super();
    const dim = config.dim;
    this.heads = config.heads ?? 4;
    this.dimHead = config.dimHead ?? 64;
    this.innerDim = this.heads * this.dimHead;
    this.useLinear = config.useLinear ?? false;
    this.norm = this.registerModule('norm', new GroupNorm({ numGroups: config.normGroups ?? 32, numChannels: dim }));
    this.qkv = this.registerModule('qkv', new Conv1d({ inChannels: dim, outChannels: 3 * this.innerDim, kernelSize: 1 }));
    this.projOut = this.registerModule('proj_out', zeroModule(new Conv1d({ inChannels: this.innerDim, outChannels: dim, kernelSize: 1 })));
  }

  /** x [B, C, ...spatial] → x + attention(x), same shape. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const [b, c, ...spatial] = x.shape;
      const xf = x.reshape(b, c, -1);
      const qkv = this.qkv.forward(this.norm.forward(xf)); // [b, 3·inner, L]
      // The reference reshapes [b, 3·inner, L] straight to [b, heads, L, 3·dimHead] (no permute) and splits
      // the last axis: not textbook attention, but what its weights were trained with.
      const L = qkv.shape[2];
      const [q, k, v] = qkv.reshape(b, this.heads, L, -1).chunk(3, -1);
      const h = (this.useLinear ? linearQkvAttention : qkvAttention)(q, k, v); // [b, heads, L, dimHead]
      const out = this.projOut.forward(h.reshape(b, this.innerDim, -1));
      return xf.add(out).reshape([b, c, ...spatial]);
    });
  }
}
