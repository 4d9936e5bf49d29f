// ADM ResBlock: GN → SiLU → conv3, time embedding added (or as scale/shift of the 2nd GN), GN → SiLU →
// dropout → zero-init conv3, plus a 1×1 skip when the channel count changes.
import { Tensor, tidy } from '../../tensor/index.js';
import { Module, Sequential, GroupNorm, SiLU, Linear, Dropout, Conv2d, Identity, type Forward1 } from '../../nn/index.js';
import { zeroModule } from './util.js';

export interface ResBlockConfig {
  channels: number;
  embChannels: number;
  dropout: number;
  outChannels?: number;
  useScaleShiftNorm?: boolean;
  normGroups?: number;
}

export class ResBlock extends Module {
  readonly inLayers: Sequential;
  readonly embLayers: Sequential;
  readonly outLayers: Sequential;
  readonly skipConnection: Forward1;
  readonly outChannels: number;
  readonly useScaleShiftNorm: boolean;

  constructor(readonly config: ResBlockConfig) {
    super();
    const { channels, embChannels, dropout } = config;
    const out = (this.outChannels = config.outChannels ?? channels);
    const groups = config.normGroups ?? 32;
    this.useScaleShiftNorm = config.useScaleShiftNorm ?? false;
    this.inLayers = this.registerModule('in_layers', new Sequential(
      new GroupNorm({ numGroups: groups, numChannels: channels }), new SiLU(),
      new Conv2d({ inChannels: channels, outChannels: out, kernelSize: 3, padding: 1 })));
    this.embLayers = this.registerModule('emb_layers', new Sequential(
      new SiLU(), new Linear({ inFeatures: embChannels, outFeatures: this.useScaleShiftNorm ? 2 * out : out })));
    this.outLayers = this.registerModule('out_layers', new Sequential(
      new GroupNorm({ numGroups: groups, numChannels: out }), new SiLU(), new Dropout(dropout),
      zeroModule(new Conv2d({ inChannels: out, outChannels: out, kernelSize: 3, padding: 1 }))));
    this.skipConnection = this.registerModule('skip_connection',
      out === channels ? new Identity() : new Conv2d({ inChannels: channels, outChannels: out, kernelSize: 1 }));
  }

  /** x [N, C, H, W], emb [N, embChannels] → [N, outChannels, H, W]. */
  forward(x: Tensor, emb: Tensor): Tensor {
    return tidy(() => {
      // GN → SiLU pairs go through GroupNorm.forwardSilu (fused in bf16 inference); same math as the Sequentials
      let h = this.inLayers.at(2).forward((this.inLayers.at(0) as GroupNorm).forwardSilu(x));
      const embOut = this.embLayers.forward(emb).to(h.dtype); // [N, C or 2C]
      const norm = this.outLayers.at(0) as GroupNorm;
      if (this.useScaleShiftNorm) {
        const [scale, shift] = embOut.chunk(2, 1);
        h = norm.forwardSilu(h, { scale, shift });
      } else {
        let e = embOut;
        while (e.ndim < h.ndim) e = e.unsqueeze(-1);
        h = norm.forwardSilu(h.add(e));
      }
      for (let i = 2; i < this.outLayers.length; i++) h = this.outLayers.at(i).forward(h);
      return this.skipConnection.forward(x).add(h);
    });
  }
}
