// Resolution changes of the UNet: stride-2 conv (or 2×2 avg-pool) down, nearest ×2 (+ conv3) up, and the
// optional patchify (kernel = stride = poolFactor) conv in / transposed conv out.
import { Tensor, F, tidy } from '../../tensor/index.js';
import { Module, Conv2d, ConvTranspose2d } from '../../nn/index.js';

class AvgPool2x2 extends Module {
  forward(x: Tensor): Tensor { return F.avgPool2d(x, 2); }
}

export class Downsample extends Module {
  readonly op: Conv2d | AvgPool2x2;
  constructor(readonly channels: number, readonly useConv: boolean) {
    super();
    this.op = this.registerModule('op', useConv ? new Conv2d({ inChannels: channels, outChannels: channels, kernelSize: 3, stride: 2, padding: 1 }) : new AvgPool2x2());
  }
  forward(x: Tensor): Tensor {
    if (x.shape[1] !== this.channels) throw new RangeError(`Downsample: expected ${this.channels} channels, got [${x.shape.join(', ')}]`);
    return this.op.forward(x);
  }
}

export class Upsample extends Module {
  readonly conv: Conv2d | null;
  constructor(readonly channels: number, readonly useConv: boolean) {
    super();
    this.conv = useConv ? this.registerModule('conv', new Conv2d({ inChannels: channels, outChannels: channels, kernelSize: 3, padding: 1 })) : null;
  }
  forward(x: Tensor): Tensor {
    if (x.shape[1] !== this.channels) throw new RangeError(`Upsample: expected ${this.channels} channels, got [${x.shape.join(', ')}]`);
    return tidy(() => {
      const up = F.interpolate(x, { scaleFactor: 2, mode: 'nearest' });
      return this.conv ? this.conv.forward(up) : up;
    });
  }
}

/** Patchify: a conv with kernel = stride = factor (key down_conv). */
export class Pool2d extends Module {
  readonly downConv: Conv2d;
  constructor(inChannels: number, outChannels: number, readonly factor: number) {
    super();
    this.downConv = this.registerModule('down_conv', new Conv2d({ inChannels, outChannels, kernelSize: factor, stride: factor }));
  }
  forward(x: Tensor): Tensor {
    const [, , h, w] = x.shape;
    if (h % this.factor || w % this.factor) throw new RangeError(`Pool2d: spatial size ${h}×${w} is not divisible by the pool factor ${this.factor}`);
    return this.downConv.forward(x);
  }
}

/** Un-patchify: a transposed conv with kernel = stride = factor (key up_conv). */
export class UnPool2d extends Module {
  readonly upConv: ConvTranspose2d;
  constructor(inChannels: number, outChannels: number, readonly factor: number) {
    super();
    this.upConv = this.registerModule('up_conv', new ConvTranspose2d({ inChannels, outChannels, kernelSize: factor, stride: factor }));
  }
  forward(x: Tensor): Tensor { return this.upConv.forward(x); }
}
