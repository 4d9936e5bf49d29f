// The Stable Diffusion 1.x denoiser: CompVis/stable-diffusion's UNetModel with use_spatial_transformer, so
// state_dict keys are the reference's (time_embed.{0,2}, input_blocks.i.j, middle_block.{0,1,2}, output_blocks.i.j,
// out.{0,2}) and a v1-5-pruned checkpoint's model.diffusion_model.* tensors load with that prefix stripped.
// The block layout and pass (unet/adm.ts), ResBlock, Downsample, Upsample and the sinusoidal embedding are the
// EfficientUNet's (src/models/unet): the same openaimodel.py code, same math and names (ResBlock without scale-shift
// norm, GroupNorm eps 1e-5); SD's attention is the SpatialTransformer.
import { Tensor, tidy } from '../../tensor/index.js';
import { Module, ModuleList, Sequential, Linear, SiLU, Conv2d, GroupNorm } from '../../nn/index.js';
import { ResBlock } from '../unet/resblock.js';
import { TimestepEmbedSequential, admBlocks, admPass } from '../unet/adm.js';
import { timestepEmbedding } from '../unet/timestep.js';
import { zeroModule } from '../unet/util.js';
import { SpatialTransformer } from './transformer.js';
import { headsFor, resolveSDUNetConfig, type ResolvedSDUNetConfig, type SDUNetConfig } from './config.js';

/**
 * time_embed = Linear → SiLU → Linear on the sinusoidal embedding. With LCM's guidance embedding it also holds
 * cond_proj (bias-free Linear timeCondProjDim → modelChannels), added to the sinusoidal embedding before
 * time_embed.0 as diffusers' TimestepEmbedding does. The original layout has no name for it (LDM never had one):
 * we call it time_embed.cond_proj.weight; diffusers calls it time_embedding.cond_proj.weight.
 */
export { TimestepEmbedSequential };

export class TimeEmbed extends Sequential {
  readonly condProj: Linear | null;
  constructor(modelChannels: number, timeDim: number, condDim: number | null) {
    super(new Linear({ inFeatures: modelChannels, outFeatures: timeDim }), new SiLU(), new Linear({ inFeatures: timeDim, outFeatures: timeDim }));
    this.condProj = condDim ? this.registerModule('cond_proj', new Linear({ inFeatures: condDim, outFeatures: modelChannels, bias: false })) : null;
  }
  /** tEmb [N, modelChannels] (sinusoidal), cond [N, timeCondProjDim] → [N, 4·modelChannels]. */
  override forward(tEmb: Tensor, cond?: Tensor | null): Tensor {
    if (!cond) return super.forward(tEmb);
    if (!this.condProj) throw new RangeError('SDUNet: timestepCond given but the model has no cond_proj (set timeCondProjDim)');
    return tidy(() => super.forward(tEmb.add(this.condProj!.forward(cond))));
  }
}

export class SDUNet extends Module {
  readonly config: ResolvedSDUNetConfig;
  readonly timeEmbed: TimeEmbed;
  readonly inputBlocks: ModuleList<TimestepEmbedSequential>;
  readonly middleBlock: TimestepEmbedSequential;
  readonly outputBlocks: ModuleList<TimestepEmbedSequential>;
  readonly out: Sequential;
  /** Input sizes must be multiples of this (2^(levels − 1)). */
  readonly sizeMultiple: number;

  constructor(config: SDUNetConfig | Record<string, unknown>) {
    super();
    const c = (this.config = resolveSDUNetConfig(config));
    const mc = c.modelChannels, G = c.normGroups;
    const timeDim = mc * 4;
    const res = (channels: number, outChannels?: number) =>
      new ResBlock({ channels, embChannels: timeDim, dropout: c.dropout, outChannels, useScaleShiftNorm: false, normGroups: G });
    const transformer = (ch: number) => {
      const { heads, dimHead } = headsFor(c, ch);
      return new SpatialTransformer({ inChannels: ch, heads, dimHead, depth: c.transformerDepth, contextDim: c.contextDim, dropout: c.dropout, normGroups: G });
    };

    this.timeEmbed = this.registerModule('time_embed', new TimeEmbed(mc, timeDim, c.timeCondProjDim));

    const blocks = admBlocks(c, new Conv2d({ inChannels: c.inChannels, outChannels: mc, kernelSize: 3, padding: 1 }), res, (ch) => transformer(ch));
    this.inputBlocks = this.registerModule('input_blocks', new ModuleList(blocks.inputBlocks));
    this.sizeMultiple = blocks.downsampling;
    this.middleBlock = this.registerModule('middle_block', blocks.middleBlock);
    this.outputBlocks = this.registerModule('output_blocks', new ModuleList(blocks.outputBlocks));
    const ch = blocks.channels;

    this.out = this.registerModule('out', new Sequential(new GroupNorm({ numGroups: G, numChannels: ch }), new SiLU(),
      zeroModule(new Conv2d({ inChannels: mc, outChannels: c.outChannels, kernelSize: 3, padding: 1 }))));
  }

  /**
   * x [N, inChannels, H, W] (noisy latents), timesteps [N] (DDPM steps 0…999, integers as float or int64; used raw
   * by the sinusoidal embedding), context [N, M, contextDim] (CLIP hidden states, M = 77 for SD), timestepCond
   * [N, timeCondProjDim] (LCM's guidance-scale embedding; only for models with timeCondProjDim) → eps [N, outChannels, H, W].
   */
  forward(x: Tensor, timesteps: Tensor, context: Tensor, timestepCond?: Tensor | null): Tensor {
    const c = this.config;
    if (x.ndim !== 4 || x.shape[1] !== c.inChannels) throw new RangeError(`SDUNet: x must be [N, ${c.inChannels}, H, W], got [${x.shape.join(', ')}]`);
    const [n, , hh, ww] = x.shape;
    if (hh % this.sizeMultiple || ww % this.sizeMultiple) throw new RangeError(`SDUNet: spatial size ${hh}×${ww} must be a multiple of ${this.sizeMultiple} for this config`);
    if (timesteps.ndim !== 1 || timesteps.shape[0] !== n) throw new RangeError(`SDUNet: timesteps must be [${n}], got [${timesteps.shape.join(', ')}]`);
    if (!context || context.ndim !== 3 || context.shape[0] !== n || context.shape[2] !== c.contextDim) {
      throw new RangeError(`SDUNet: context must be [${n}, M, ${c.contextDim}], got ${context ? `[${context.shape.join(', ')}]` : String(context)}`);
    }
    if (timestepCond) {
      if (c.timeCondProjDim === null) throw new RangeError('SDUNet: timestepCond given but this model has no guidance embedding (timeCondProjDim unset)');
      if (timestepCond.ndim !== 2 || timestepCond.shape[0] !== n || timestepCond.shape[1] !== c.timeCondProjDim) {
        throw new RangeError(`SDUNet: timestepCond must be [${n}, ${c.timeCondProjDim}], got [${timestepCond.shape.join(', ')}]`);
      }
    }

    return tidy(() => {
      const tEmb = timestepEmbedding(timesteps, c.modelChannels);
      const emb = this.timeEmbed.forward(tEmb, timestepCond);
      tEmb.dispose();
      const h = admPass(this, x, emb, context);
      // GN → SiLU fused where it can be (bf16 inference), then the conv: the same math as this.out.forward(h).
      return this.out.at(2).forward((this.out.at(0) as GroupNorm).forwardSilu(h));
    });
  }
}
