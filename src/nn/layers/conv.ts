import { Tensor, empty, F, type Generator } from '../../tensor/index.js';
import { Module } from '../module.js';
import { kaimingUniformDefault_, biasDefault_ } from '../init.js';

export interface Conv2dConfig {
  inChannels: number;
  outChannels: number;
  kernelSize: number | [number, number];
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
  bias?: boolean;
  generator?: Generator;
}

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

function checkGroups(name: string, inC: number, outC: number, groups: number): void {
  if (inC % groups || outC % groups) throw new RangeError(`${name}: in (${inC}) and out (${outC}) channels must be divisible by groups (${groups})`);
}

/** torch.nn.Conv2d (weight [out, in/groups, kh, kw]). */
export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly config: Conv2dConfig) {
    super();
    const { inChannels, outChannels, generator } = config;
    const groups = config.groups ?? 1;
    checkGroups('Conv2d', inChannels, outChannels, groups);
    const [kh, kw] = pair(config.kernelSize);
    this.weight = this.registerParameter('weight', kaimingUniformDefault_(empty([outChannels, inChannels / groups, kh, kw]), generator));
    this.bias = config.bias === false ? null : this.registerParameter('bias', biasDefault_(empty([outChannels]), this.weight.shape, generator));
  }
  forward(x: Tensor): Tensor {
    const c = this.config;
    return F.conv2d(x, this.weight, this.bias, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups });
  }
}

export interface Conv1dConfig {
  inChannels: number; outChannels: number; kernelSize: number;
  stride?: number; padding?: number; dilation?: number; groups?: number; bias?: boolean; generator?: Generator;
}

/** torch.nn.Conv1d (weight [out, in/groups, k]). */
export class Conv1d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly config: Conv1dConfig) {
    super();
    const { inChannels, outChannels, kernelSize, generator } = config;
    const groups = config.groups ?? 1;
    checkGroups('Conv1d', inChannels, outChannels, groups);
    this.weight = this.registerParameter('weight', kaimingUniformDefault_(empty([outChannels, inChannels / groups, kernelSize]), generator));
    this.bias = config.bias === false ? null : this.registerParameter('bias', biasDefault_(empty([outChannels]), this.weight.shape, generator));
  }
  forward(x: Tensor): Tensor {
    const c = this.config;
    return F.conv1d(x, this.weight, this.bias, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups });
  }
}

export interface ConvTranspose2dConfig extends Conv2dConfig { outputPadding?: number | [number, number] }

/** torch.nn.ConvTranspose2d (weight [in, out/groups, kh, kw]). */
export class ConvTranspose2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly config: ConvTranspose2dConfig) {
    super();
    const { inChannels, outChannels, generator } = config;
    const groups = config.groups ?? 1;
    checkGroups('ConvTranspose2d', inChannels, outChannels, groups);
    const [kh, kw] = pair(config.kernelSize);
    this.weight = this.registerParameter('weight', kaimingUniformDefault_(empty([inChannels, outChannels / groups, kh, kw]), generator));
    this.bias = config.bias === false ? null : this.registerParameter('bias', biasDefault_(empty([outChannels]), this.weight.shape, generator));
  }
  forward(x: Tensor): Tensor {
    const c = this.config;
    return F.convTranspose2d(x, this.weight, this.bias, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, outputPadding: c.outputPadding });
  }
}
