// The SD 1.x SpatialTransformer (CompVis/stable-diffusion ldm/modules/attention.py): GroupNorm → 1×1 conv in →
// BasicTransformerBlocks (self-attention, cross-attention on the text context, GEGLU feed-forward; pre-LayerNorm,
// residual) over the h·w tokens → zero-initialised 1×1 conv out, plus the input. Module names are the reference's.
import { Tensor, F, tidy } from '../../tensor/index.js';
import { Module, ModuleList, Sequential, Linear, Dropout, LayerNorm, GroupNorm, Conv2d } from '../../nn/index.js';
import { zeroModule } from '../unet/util.js';

export interface CrossAttentionConfig {
  queryDim: number;
  /** Width of the tokens attended to; default queryDim (self-attention). */
  contextDim?: number;
  heads?: number;
  dimHead?: number;
  dropout?: number;
}

/** Multi-head attention of x's tokens on a context's (or on themselves): to_q/to_k/to_v without bias, to_out.0. */
export class CrossAttention extends Module {
  readonly toQ: Linear;
  readonly toK: Linear;
  readonly toV: Linear;
  readonly toOut: Sequential;
  readonly heads: number;
  readonly dimHead: number;

  constructor(readonly config: CrossAttentionConfig) {
    super();
    this.heads = config.heads ?? 8;
    this.dimHead = config.dimHead ?? 64;
    const inner = this.heads * this.dimHead;
    const ctx = config.contextDim ?? config.queryDim;
    this.toQ = this.registerModule('to_q', new Linear({ inFeatures: config.queryDim, outFeatures: inner, bias: false }));
    this.toK = this.registerModule('to_k', new Linear({ inFeatures: ctx, outFeatures: inner, bias: false }));
    this.toV = this.registerModule('to_v', new Linear({ inFeatures: ctx, outFeatures: inner, bias: false }));
    this.toOut = this.registerModule('to_out', new Sequential(new Linear({ inFeatures: inner, outFeatures: config.queryDim }), new Dropout(config.dropout ?? 0)));
  }

  /** x [B, N, queryDim], context [B, M, contextDim] (default x) → [B, N, queryDim]. */
  forward(x: Tensor, context?: Tensor | null): Tensor {
    const ctx = context ?? x;
    if (x.ndim !== 3 || ctx.ndim !== 3 || ctx.shape[0] !== x.shape[0]) {
      throw new RangeError(`CrossAttention: x must be [B, N, C] and context [B, M, C'], got [${x.shape.join(', ')}] and [${ctx.shape.join(', ')}]`);
    }
    return tidy(() => {
      const [b, n] = x.shape;
      // [B, L, h·d] → [B, h, L, d]: the reference's 'b n (h d) -> (b h) n d' with the heads kept as their own axis.
      const split = (t: Tensor) => t.reshape(b, t.shape[1], this.heads, this.dimHead).permute(0, 2, 1, 3);
      const q = split(this.toQ.forward(x));
      const k = split(this.toK.forward(ctx));
      const v = split(this.toV.forward(ctx));
      // softmax(q kᵀ · dimHead^-½) v, the reference's scale (the default of scaledDotProductAttention).
      const out = F.scaledDotProductAttention(q, k, v);
      return this.toOut.forward(out.permute(0, 2, 1, 3).reshape(b, n, this.heads * this.dimHead));
    });
  }
}

/** x · gelu(gate) of one Linear's two halves (key proj). */
export class GEGLU extends Module {
  readonly proj: Linear;
  constructor(dimIn: number, dimOut: number) {
    super();
    this.proj = this.registerModule('proj', new Linear({ inFeatures: dimIn, outFeatures: dimOut * 2 }));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const [h, gate] = this.proj.forward(x).chunk(2, -1);
      return h.mul(F.gelu(gate));
    });
  }
}

/** The gated feed-forward of SD's transformer blocks: net.0 = GEGLU(dim → 4·dim), net.1 dropout, net.2 = Linear(4·dim → dim). */
export class FeedForward extends Module {
  readonly net: Sequential;
  constructor(readonly dim: number, readonly mult = 4, dropout = 0) {
    super();
    const inner = Math.trunc(dim * mult);
    this.net = this.registerModule('net', new Sequential(new GEGLU(dim, inner), new Dropout(dropout), new Linear({ inFeatures: inner, outFeatures: dim })));
  }
  forward(x: Tensor): Tensor { return this.net.forward(x); }
}

export interface BasicTransformerBlockConfig {
  dim: number;
  heads: number;
  dimHead: number;
  contextDim?: number;
  dropout?: number;
}

/** x + attn1(norm1 x); x + attn2(norm2 x, context); x + ff(norm3 x). */
export class BasicTransformerBlock extends Module {
  readonly attn1: CrossAttention;
  readonly ff: FeedForward;
  readonly attn2: CrossAttention;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly norm3: LayerNorm;

  constructor(readonly config: BasicTransformerBlockConfig) {
    super();
    const { dim, heads, dimHead } = config;
    const dropout = config.dropout ?? 0;
    // Registered in the reference's order (attn1, ff, attn2, norms) so state_dict keys come out in its order too.
    this.attn1 = this.registerModule('attn1', new CrossAttention({ queryDim: dim, heads, dimHead, dropout }));
    this.ff = this.registerModule('ff', new FeedForward(dim, 4, dropout));
    this.attn2 = this.registerModule('attn2', new CrossAttention({ queryDim: dim, contextDim: config.contextDim, heads, dimHead, dropout }));
    this.norm1 = this.registerModule('norm1', new LayerNorm({ normalizedShape: dim }));
    this.norm2 = this.registerModule('norm2', new LayerNorm({ normalizedShape: dim }));
    this.norm3 = this.registerModule('norm3', new LayerNorm({ normalizedShape: dim }));
  }

  /** x [B, N, dim], context [B, M, contextDim] (null: attn2 attends to x) → [B, N, dim]. */
  forward(x: Tensor, context?: Tensor | null): Tensor {
    return tidy(() => {
      let h = this.attn1.forward(this.norm1.forward(x)).add(x);
      h = this.attn2.forward(this.norm2.forward(h), context).add(h);
      return this.ff.forward(this.norm3.forward(h)).add(h);
    });
  }
}

export interface SpatialTransformerConfig {
  inChannels: number;
  heads: number;
  dimHead: number;
  depth?: number;
  contextDim?: number;
  dropout?: number;
  /** GroupNorm groups (the reference: 32). */
  normGroups?: number;
}

/** Transformer over an image's pixels as tokens, with 1×1 convs in and out (SD 1.x's layout; SD 2.x uses Linear ones). */
export class SpatialTransformer extends Module {
  /** Takes the text context in TimestepEmbedSequential (unet/adm.ts). */
  readonly takesContext = true as const;
  readonly norm: GroupNorm;
  readonly projIn: Conv2d;
  readonly transformerBlocks: ModuleList<BasicTransformerBlock>;
  readonly projOut: Conv2d;
  readonly innerDim: number;

  constructor(readonly config: SpatialTransformerConfig) {
    super();
    const { inChannels, heads, dimHead } = config;
    const inner = (this.innerDim = heads * dimHead);
    // The reference's Normalize: GroupNorm with eps 1e-6 (the ResBlocks' GroupNorm32 uses 1e-5).
    this.norm = this.registerModule('norm', new GroupNorm({ numGroups: config.normGroups ?? 32, numChannels: inChannels, eps: 1e-6 }));
    this.projIn = this.registerModule('proj_in', new Conv2d({ inChannels, outChannels: inner, kernelSize: 1 }));
    const blocks = Array.from({ length: config.depth ?? 1 }, () =>
      new BasicTransformerBlock({ dim: inner, heads, dimHead, contextDim: config.contextDim, dropout: config.dropout }));
    this.transformerBlocks = this.registerModule('transformer_blocks', new ModuleList(blocks));
    this.projOut = this.registerModule('proj_out', zeroModule(new Conv2d({ inChannels: inner, outChannels: inChannels, kernelSize: 1 })));
  }

  /** x [B, C, H, W], context [B, M, contextDim] → [B, C, H, W]. */
  forward(x: Tensor, context?: Tensor | null): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.config.inChannels) {
      throw new RangeError(`SpatialTransformer: expected [B, ${this.config.inChannels}, H, W], got [${x.shape.join(', ')}]`);
    }
    return tidy(() => {
      const [b, , h, w] = x.shape;
      const inner = this.innerDim;
      let t = this.projIn.forward(this.norm.forward(x)).reshape(b, inner, h * w).permute(0, 2, 1); // [B, HW, inner]
      for (const block of this.transformerBlocks) t = block.forward(t, context);
      const img = t.permute(0, 2, 1).reshape(b, inner, h, w);
      return this.projOut.forward(img).add(x);
    });
  }
}
