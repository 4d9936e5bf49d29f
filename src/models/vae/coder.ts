// LDM Encoder and Decoder with the reference's module tree: encoder.down.{i}.block.{j}/attn.{j}/downsample,
// encoder.mid.{block_1,attn_1,block_2}, decoder.up.{i}… (index i = resolution level, built from the lowest).
import { Tensor, tidy } from '../../tensor/index.js';
import { Module, ModuleList, Conv2d, GroupNorm, Identity } from '../../nn/index.js';
import { ResnetBlock, AttnBlock, Downsample, Upsample, makeAttn, normalize } from './blocks.js';
import { checkGroups } from '../config_util.js';
import type { ResolvedVAEConfig } from './config.js';

type Attn = AttnBlock | Identity;

/** One resolution level: ResnetBlocks, attention after each (when this level has it), optional resampling. */
class Level extends Module {
  readonly block: ModuleList<ResnetBlock>;
  readonly attn: ModuleList<Attn>;
  readonly downsample: Downsample | null = null;
  readonly upsample: Upsample | null = null;
  constructor(blocks: ResnetBlock[], attns: Attn[], resample: Downsample | Upsample | null) {
    super();
    this.block = this.registerModule('block', new ModuleList(blocks));
    this.attn = this.registerModule('attn', new ModuleList(attns));
    if (resample instanceof Downsample) this.downsample = this.registerModule('downsample', resample);
    if (resample instanceof Upsample) this.upsample = this.registerModule('upsample', resample);
  }
  /** The blocks (each followed by its attention if any), without the resampling. */
  blocks(x: Tensor): Tensor {
    return tidy(() => {
      let h = x;
      for (let j = 0; j < this.block.length; j++) {
        const next = this.block.at(j).forward(h);
        if (h !== x) h.dispose();
        h = next;
        if (this.attn.length) {
          const a = this.attn.at(j).forward(h);
          h.dispose();
          h = a;
        }
      }
      return h;
    });
  }
}

class Mid extends Module {
  readonly block1: ResnetBlock;
  readonly attn1: Attn;
  readonly block2: ResnetBlock;
  constructor(ch: number, c: ResolvedVAEConfig) {
    super();
    this.block1 = this.registerModule('block_1', new ResnetBlock(ch, ch, c.dropout, c.normGroups));
    this.attn1 = this.registerModule('attn_1', makeAttn(ch, c.attnType, c.normGroups));
    this.block2 = this.registerModule('block_2', new ResnetBlock(ch, ch, c.dropout, c.normGroups));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.block2.forward(this.attn1.forward(this.block1.forward(x))));
  }
}

function checkAll(c: ResolvedVAEConfig): void {
  for (const m of [1, ...c.chMult]) checkGroups('AutoencoderKL', `a level with ch·${m}`, c.ch * m, c.normGroups);
}

export class Encoder extends Module {
  readonly convIn: Conv2d;
  readonly down: ModuleList<Level>;
  readonly mid: Mid;
  readonly normOut: GroupNorm;
  readonly convOut: Conv2d;
  constructor(readonly config: ResolvedVAEConfig) {
    super();
    const c = config;
    checkAll(c);
    this.convIn = this.registerModule('conv_in', new Conv2d({ inChannels: c.inChannels, outChannels: c.ch, kernelSize: 3, padding: 1 }));
    const levels: Level[] = [];
    let res = c.resolution;
    let blockIn = c.ch;
    c.chMult.forEach((mult, i) => {
      const blocks: ResnetBlock[] = [], attns: Attn[] = [];
      const blockOut = c.ch * mult;
      for (let j = 0; j < c.numResBlocks; j++) {
        blocks.push(new ResnetBlock(blockIn, blockOut, c.dropout, c.normGroups));
        blockIn = blockOut;
        if (c.attnResolutions.includes(res)) attns.push(makeAttn(blockIn, c.attnType, c.normGroups));
      }
      const last = i === c.chMult.length - 1;
      levels.push(new Level(blocks, attns, last ? null : new Downsample(blockIn, c.resampWithConv)));
      if (!last) res = Math.floor(res / 2);
    });
    this.down = this.registerModule('down', new ModuleList(levels));
    this.mid = this.registerModule('mid', new Mid(blockIn, c));
    this.normOut = this.registerModule('norm_out', normalize(blockIn, c.normGroups));
    this.convOut = this.registerModule('conv_out', new Conv2d({ inChannels: blockIn, outChannels: 2 * c.zChannels, kernelSize: 3, padding: 1 }));
  }
  /** Image [N, inChannels, H, W] → moments [N, 2·zChannels, H/f, W/f]. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = this.convIn.forward(x);
      for (const level of this.down) {
        const b = level.blocks(h);
        h.dispose();
        h = b;
        if (level.downsample) {
          const d = level.downsample.forward(h);
          h.dispose();
          h = d;
        }
      }
      h = this.mid.forward(h);
      return this.convOut.forward(this.normOut.forwardSilu(h));
    });
  }
}

export class Decoder extends Module {
  readonly convIn: Conv2d;
  readonly mid: Mid;
  readonly up: ModuleList<Level>;
  readonly normOut: GroupNorm;
  readonly convOut: Conv2d;
  constructor(readonly config: ResolvedVAEConfig) {
    super();
    const c = config;
    checkAll(c);
    const n = c.chMult.length;
    let blockIn = c.ch * c.chMult[n - 1];
    let res = Math.floor(c.resolution / 2 ** (n - 1));
    this.convIn = this.registerModule('conv_in', new Conv2d({ inChannels: c.zChannels, outChannels: blockIn, kernelSize: 3, padding: 1 }));
    this.mid = this.registerModule('mid', new Mid(blockIn, c));
    const levels: Level[] = new Array(n);
    for (let i = n - 1; i >= 0; i--) {
      const blocks: ResnetBlock[] = [], attns: Attn[] = [];
      const blockOut = c.ch * c.chMult[i];
      for (let j = 0; j <= c.numResBlocks; j++) {
        blocks.push(new ResnetBlock(blockIn, blockOut, c.dropout, c.normGroups));
        blockIn = blockOut;
        if (c.attnResolutions.includes(res)) attns.push(makeAttn(blockIn, c.attnType, c.normGroups));
      }
      levels[i] = new Level(blocks, attns, i !== 0 ? new Upsample(blockIn, c.resampWithConv) : null);
      if (i !== 0) res *= 2;
    }
    this.up = this.registerModule('up', new ModuleList(levels));
    this.normOut = this.registerModule('norm_out', normalize(blockIn, c.normGroups));
    this.convOut = this.registerModule('conv_out', new Conv2d({ inChannels: blockIn, outChannels: c.outCh, kernelSize: 3, padding: 1 }));
  }
  /** z [N, zChannels, h, w] → image [N, outCh, h·f, w·f]. */
  forward(z: Tensor): Tensor {
    return tidy(() => {
      let h = this.mid.forward(this.convIn.forward(z));
      for (let i = this.up.length - 1; i >= 0; i--) {
        const level = this.up.at(i);
        const b = level.blocks(h);
        h.dispose();
        h = b;
        if (level.upsample) {
          const u = level.upsample.forward(h);
          h.dispose();
          h = u;
        }
      }
      const y = this.convOut.forward(this.normOut.forwardSilu(h));
      return this.config.tanhOut ? y.tanh() : y;
    });
  }
}
