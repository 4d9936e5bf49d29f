// LDM autoencoder building blocks (GroupNorm eps 1e-6): ResnetBlock, single-head AttnBlock, resampling.
import { Tensor, F, tidy } from '../../tensor/index.js';
import { Module, Conv2d, GroupNorm, Dropout, Identity } from '../../nn/index.js';

export const normalize = (channels: number, groups: number) => new GroupNorm({ numGroups: groups, numChannels: channels, eps: 1e-6 });

export class ResnetBlock extends Module {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly norm2: GroupNorm;
  readonly dropout: Dropout;
  readonly conv2: Conv2d;
  readonly ninShortcut: Conv2d | null;
  constructor(readonly inChannels: number, readonly outChannels: number, dropout: number, groups: number) {
    super();
    this.norm1 = this.registerModule('norm1', normalize(inChannels, groups));
    this.conv1 = this.registerModule('conv1', new Conv2d({ inChannels, outChannels, kernelSize: 3, padding: 1 }));
    this.norm2 = this.registerModule('norm2', normalize(outChannels, groups));
    this.dropout = this.registerModule('dropout', new Dropout(dropout));
    this.conv2 = this.registerModule('conv2', new Conv2d({ inChannels: outChannels, outChannels, kernelSize: 3, padding: 1 }));
    this.ninShortcut = inChannels !== outChannels ? this.registerModule('nin_shortcut', new Conv2d({ inChannels, outChannels, kernelSize: 1 })) : null;
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = this.conv1.forward(this.norm1.forwardSilu(x));
      h = this.conv2.forward(this.dropout.forward(this.norm2.forwardSilu(h)));
      return (this.ninShortcut ? this.ninShortcut.forward(x) : x).add(h);
    });
  }
}

/** Single-head self-attention over all positions, q/k/v/proj_out as 1×1 convs, residual. */
export class AttnBlock extends Module {
  readonly norm: GroupNorm;
  readonly q: Conv2d;
  readonly k: Conv2d;
  readonly v: Conv2d;
  readonly projOut: Conv2d;
  constructor(readonly channels: number, groups: number) {
    super();
    const conv = () => new Conv2d({ inChannels: channels, outChannels: channels, kernelSize: 1 });
    this.norm = this.registerModule('norm', normalize(channels, groups));
    this.q = this.registerModule('q', conv());
    this.k = this.registerModule('k', conv());
    this.v = this.registerModule('v', conv());
    this.projOut = this.registerModule('proj_out', conv());
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const [b, c, h, w] = x.shape;
      const hn = this.norm.forward(x);
      const seq = (t: Tensor) => t.reshape(b, c, h * w).transpose(1, 2); // [b, hw, c]
      const out = F.scaledDotProductAttention(seq(this.q.forward(hn)), seq(this.k.forward(hn)), seq(this.v.forward(hn)));
      return x.add(this.projOut.forward(out.transpose(1, 2).reshape(b, c, h, w)));
    });
  }
}

export const makeAttn = (channels: number, type: 'vanilla' | 'none', groups: number): AttnBlock | Identity =>
  type === 'vanilla' ? new AttnBlock(channels, groups) : new Identity();

/** Stride-2 conv after padding right and bottom by one (LDM's asymmetric padding), or 2×2 avg-pool. */
export class Downsample extends Module {
  readonly conv: Conv2d | null;
  constructor(channels: number, withConv: boolean) {
    super();
    this.conv = withConv ? this.registerModule('conv', new Conv2d({ inChannels: channels, outChannels: channels, kernelSize: 3, stride: 2 })) : null;
  }
  forward(x: Tensor): Tensor {
    if (!this.conv) return F.avgPool2d(x, 2);
    return tidy(() => this.conv!.forward(F.pad(x, [0, 1, 0, 1])));
  }
}

/** Nearest ×2, then a 3×3 conv. */
export class Upsample extends Module {
  readonly conv: Conv2d | null;
  constructor(channels: number, withConv: boolean) {
    super();
    this.conv = withConv ? this.registerModule('conv', new Conv2d({ inChannels: channels, outChannels: channels, kernelSize: 3, padding: 1 })) : null;
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const up = F.interpolate(x, { scaleFactor: 2, mode: 'nearest' });
      return this.conv ? this.conv.forward(up) : up;
    });
  }
}
