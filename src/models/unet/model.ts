// EfficientUNet (ADM-style) with the reference's module tree, so state_dict keys equal the PyTorch ones:
// time_embed.{0,2}, [pool.down_conv], input_blocks.i.j, middle_block.{0,1,2}, output_blocks.i.j, out.{0,2},
// [un_pool.up_conv].
import { Tensor, cat, tidy } from '../../tensor/index.js';
import { Module, ModuleList, Sequential, Linear, SiLU, Conv2d, GroupNorm } from '../../nn/index.js';
import { TimestepEmbedSequential, admBlocks, admPass } from './adm.js';
import { resolveUNetConfig, type EfficientUNetConfig, type ResolvedUNetConfig } from './config.js';
import { timestepEmbedding } from './timestep.js';
import { ResBlock } from './resblock.js';
import { SpatialSelfAttention } from './attention.js';
import { Pool2d, UnPool2d } from './resample.js';
import { zeroModule } from './util.js';
import { checkGroups } from '../config_util.js';

export { TimestepEmbedSequential } from './adm.js';

export class EfficientUNet extends Module {
  readonly config: ResolvedUNetConfig;
  readonly timeEmbed: Sequential;
  readonly pool: Pool2d | null;
  readonly inputBlocks: ModuleList<TimestepEmbedSequential>;
  readonly middleBlock: TimestepEmbedSequential;
  readonly outputBlocks: ModuleList<TimestepEmbedSequential>;
  readonly out: Sequential;
  readonly unPool: UnPool2d | null;
  /** Total spatial downsampling (pool factor × 2^(levels−1)): input sizes must be multiples of it. */
  readonly sizeMultiple: number;

  constructor(config: EfficientUNetConfig | Record<string, unknown>) {
    super();
    const c = (this.config = resolveUNetConfig(config));
    const M = 'EfficientUNet';
    const mc = c.modelChannels, G = c.normGroups;
    const timeDim = mc * 4;
    const usePool = c.poolFactor > 1;
    const res = (channels: number, outChannels?: number) => {
      checkGroups(M, 'a ResBlock', channels, G);
      checkGroups(M, 'a ResBlock', outChannels ?? channels, G);
      return new ResBlock({ channels, embChannels: timeDim, dropout: c.dropout, outChannels, useScaleShiftNorm: c.useScaleShiftNorm, normGroups: G });
    };
    const attn = (dim: number, useLinear: boolean) =>
      new SpatialSelfAttention({ dim, heads: c.numHeads, dimHead: c.dimHead, useLinear, normGroups: G });

    this.timeEmbed = this.registerModule('time_embed', new Sequential(
      new Linear({ inFeatures: mc, outFeatures: timeDim }), new SiLU(), new Linear({ inFeatures: timeDim, outFeatures: timeDim })));
    this.pool = usePool ? this.registerModule('pool', new Pool2d(c.inChannels, mc, c.poolFactor)) : null;

    // The middle block always uses softmax attention, whatever useLinearAttn says (as the reference).
    const blocks = admBlocks(c, new Conv2d({ inChannels: usePool ? mc : c.inChannels, outChannels: mc, kernelSize: 3, padding: 1 }), res,
      (ch, where) => attn(ch, where === 'middle' ? false : c.useLinearAttn));
    this.inputBlocks = this.registerModule('input_blocks', new ModuleList(blocks.inputBlocks));
    this.sizeMultiple = blocks.downsampling * (usePool ? c.poolFactor : 1);
    this.middleBlock = this.registerModule('middle_block', blocks.middleBlock);
    this.outputBlocks = this.registerModule('output_blocks', new ModuleList(blocks.outputBlocks));
    const ch = blocks.channels;

    checkGroups(M, 'the output norm', ch, G);
    // With patchify the last conv is not zero-initialised (the transposed conv after it maps to outChannels).
    const outConv = new Conv2d({ inChannels: mc, outChannels: usePool ? mc : c.outChannels, kernelSize: 3, padding: 1 });
    this.out = this.registerModule('out', new Sequential(new GroupNorm({ numGroups: G, numChannels: ch }), new SiLU(), usePool ? outConv : zeroModule(outConv)));
    this.unPool = usePool ? this.registerModule('un_pool', new UnPool2d(mc, c.outChannels, c.poolFactor)) : null;
  }

  /**
   * x [N, C, H, W], t [N] (flow time in [0, 1], used raw), context [N, C', H, W] concatenated to x on channels
   * (C + C' must equal inChannels) → velocity [N, outChannels, H, W].
   */
  forward(x: Tensor, t: Tensor, context?: Tensor | null): Tensor {
    const c = this.config;
    if (x.ndim !== 4) throw new RangeError(`EfficientUNet: x must be [N, C, H, W], got [${x.shape.join(', ')}]`);
    const [n, cx, hh, ww] = x.shape;
    const cc = context ? context.shape[1] : 0;
    if (context && (context.ndim !== 4 || context.shape[0] !== n || context.shape[2] !== hh || context.shape[3] !== ww)) {
      throw new RangeError(`EfficientUNet: context [${context.shape.join(', ')}] must be [${n}, C, ${hh}, ${ww}] like x [${x.shape.join(', ')}]`);
    }
    if (cx + cc !== c.inChannels) throw new RangeError(`EfficientUNet: x has ${cx} channels${context ? ` and context ${cc}` : ''}; together they must be inChannels = ${c.inChannels}`);
    if (hh % this.sizeMultiple || ww % this.sizeMultiple) throw new RangeError(`EfficientUNet: spatial size ${hh}×${ww} must be a multiple of ${this.sizeMultiple} for this config`);
    if (t.ndim !== 1 || t.shape[0] !== n) throw new RangeError(`EfficientUNet: t must be [${n}], got [${t.shape.join(', ')}]`);

    return tidy(() => {
      const emb = this.timeEmbed.forward(timestepEmbedding(t, c.modelChannels));
      let h = context ? cat([x, context], 1) : x;
      if (this.pool) h = this.pool.forward(h);
      h = admPass(this, h, emb);
      // GN → SiLU fused where it can be (bf16 inference), then the conv: the same math as this.out.forward(h)
      const y = this.out.at(2).forward((this.out.at(0) as GroupNorm).forwardSilu(h));
      return this.unPool ? this.unPool.forward(y) : y;
    });
  }
}
