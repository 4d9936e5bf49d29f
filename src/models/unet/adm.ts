// The ADM / openaimodel.py UNet skeleton that the EfficientUNet and SD's UNetModel share: the block layout behind
// the state_dict keys input_blocks.i.j / middle_block.{0,1,2} / output_blocks.i.j, and the pass through it with its
// skip connections. Each model brings its own ResBlock settings and attention (self-attention, or SD's
// SpatialTransformer with cross-attention).
import { Tensor, cat, tidy } from '../../tensor/index.js';
import { Module, ModuleList, type Forward1 } from '../../nn/index.js';
import { ResBlock } from './resblock.js';
import { Downsample, Upsample } from './resample.js';

/** A module that also takes the text (cross-attention) context: SD's SpatialTransformer. */
export interface ContextModule extends Module {
  readonly takesContext: true;
  forward(x: Tensor, context: Tensor | null): Tensor;
}

const takesContext = (m: Module): m is ContextModule => (m as unknown as Partial<ContextModule>).takesContext === true;

/** A sequence whose ResBlocks also receive the time embedding, and context modules the context (the reference's
 *  TimestepEmbedSequential). */
export class TimestepEmbedSequential extends ModuleList<Module> {
  forward(x: Tensor, emb: Tensor, context: Tensor | null = null): Tensor {
    return tidy(() => {
      let h = x;
      for (const m of this) {
        if (m instanceof ResBlock) h = m.forward(h, emb);
        else if (takesContext(m)) h = m.forward(h, context);
        else h = (m as Forward1).forward(h);
      }
      return h === x ? x.alias() : h;
    });
  }
}

export interface AdmLayoutSpec {
  modelChannels: number;
  channelMult: number[];
  numResBlocks: number;
  /** Downsampling factors (1, 2, 4, …) whose blocks get attention. */
  attentionResolutions: number[];
  convResample: boolean;
}

export interface AdmBlocks {
  inputBlocks: TimestepEmbedSequential[];
  middleBlock: TimestepEmbedSequential;
  outputBlocks: TimestepEmbedSequential[];
  /** Channels after the last output block, and the total downsampling 2^(levels − 1). */
  channels: number;
  downsampling: number;
}

/**
 * The blocks in the reference's order: `first` (the input conv), then per level numResBlocks × (ResBlock [+
 * attention]) and a Downsample between levels; the middle ResBlock, attention, ResBlock; per level back up
 * numResBlocks + 1 × (ResBlock on the concatenated skip [+ attention]) with an Upsample closing every level but the
 * first. `res(channels, outChannels?)` and `attn(channels, where)` make the model's own modules.
 */
export function admBlocks(
  c: AdmLayoutSpec, first: Module,
  res: (channels: number, outChannels?: number) => Module,
  attn: (channels: number, where: 'input' | 'middle' | 'output') => Module,
): AdmBlocks {
  const mc = c.modelChannels;
  const inputBlocks = [new TimestepEmbedSequential([first])];
  const skipChans = [mc];
  let ch = mc, ds = 1;
  c.channelMult.forEach((mult, level) => {
    for (let i = 0; i < c.numResBlocks; i++) {
      const layers: Module[] = [res(ch, mult * mc)];
      ch = mult * mc;
      if (c.attentionResolutions.includes(ds)) layers.push(attn(ch, 'input'));
      inputBlocks.push(new TimestepEmbedSequential(layers));
      skipChans.push(ch);
    }
    if (level !== c.channelMult.length - 1) {
      inputBlocks.push(new TimestepEmbedSequential([new Downsample(ch, c.convResample)]));
      skipChans.push(ch);
      ds *= 2;
    }
  });
  const downsampling = ds;
  const middleBlock = new TimestepEmbedSequential([res(ch), attn(ch, 'middle'), res(ch)]);
  const outputBlocks: TimestepEmbedSequential[] = [];
  for (let level = c.channelMult.length - 1; level >= 0; level--) {
    const mult = c.channelMult[level];
    for (let i = 0; i <= c.numResBlocks; i++) {
      const layers: Module[] = [res(ch + skipChans.pop()!, mc * mult)];
      ch = mc * mult;
      if (c.attentionResolutions.includes(ds)) layers.push(attn(ch, 'output'));
      if (level && i === c.numResBlocks) {
        layers.push(new Upsample(ch, c.convResample));
        ds /= 2;
      }
      outputBlocks.push(new TimestepEmbedSequential(layers));
    }
  }
  return { inputBlocks, middleBlock, outputBlocks, channels: ch, downsampling };
}

/**
 * Down through the input blocks, the middle block, and up through the output blocks on [h, skip] (the reference's
 * forward, up to `out`). Skips are freed as soon as the decoder has consumed them (the big ones matter on large
 * inputs without autograd). Call inside tidy().
 */
export function admPass(
  blocks: { inputBlocks: Iterable<TimestepEmbedSequential>; middleBlock: TimestepEmbedSequential; outputBlocks: Iterable<TimestepEmbedSequential> },
  x: Tensor, emb: Tensor, context: Tensor | null = null,
): Tensor {
  const hs: Tensor[] = [];
  let h = x;
  for (const block of blocks.inputBlocks) {
    h = block.forward(h, emb, context);
    hs.push(h);
  }
  h = blocks.middleBlock.forward(h, emb, context);
  for (const block of blocks.outputBlocks) {
    const skip = hs.pop()!;
    const catIn = cat([h, skip], 1);
    h.dispose();
    skip.dispose();
    h = block.forward(catIn, emb, context);
    catIn.dispose();
  }
  return h;
}
