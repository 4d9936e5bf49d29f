// AutoencoderKL (LDM / Stable Diffusion KL-f8 layout): encoder → quant_conv → posterior; post_quant_conv → decoder.
import { Tensor, F, cat, tidy, zerosLike, type Generator } from '../../tensor/index.js';
import { Module, Conv2d } from '../../nn/index.js';
import { resolveVAEConfig, type AutoencoderKLConfig, type ResolvedVAEConfig } from './config.js';
import { Encoder, Decoder } from './coder.js';
import { DiagonalGaussianDistribution } from './distribution.js';

export class AutoencoderKL extends Module {
  readonly config: ResolvedVAEConfig;
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  readonly quantConv: Conv2d;
  readonly postQuantConv: Conv2d;
  /** Spatial downsampling factor (2^(levels−1)); 8 for SD. */
  readonly downFactor: number;
  /** config.shortcut 'linear': pixel_unshuffle → 1×1 conv to the posterior mean, and back (config.ts). */
  readonly encoderShortcut: Conv2d | null = null;
  readonly decoderShortcut: Conv2d | null = null;

  constructor(config: AutoencoderKLConfig | Record<string, unknown> = {}) {
    super();
    const c = (this.config = resolveVAEConfig(config));
    this.encoder = this.registerModule('encoder', new Encoder(c));
    this.decoder = this.registerModule('decoder', new Decoder(c));
    this.quantConv = this.registerModule('quant_conv', new Conv2d({ inChannels: 2 * c.zChannels, outChannels: 2 * c.embedDim, kernelSize: 1 }));
    this.postQuantConv = this.registerModule('post_quant_conv', new Conv2d({ inChannels: c.embedDim, outChannels: c.zChannels, kernelSize: 1 }));
    this.downFactor = 2 ** (c.chMult.length - 1);
    if (c.shortcut === 'linear') {
      const f2 = this.downFactor ** 2;
      this.encoderShortcut = this.registerModule('encoder_shortcut', new Conv2d({ inChannels: c.inChannels * f2, outChannels: c.embedDim, kernelSize: 1 }));
      this.decoderShortcut = this.registerModule('decoder_shortcut', new Conv2d({ inChannels: c.embedDim, outChannels: c.outCh * f2, kernelSize: 1 }));
    }
  }

  /** Moments [N, 2·embedDim, h, w] with the linear shortcut added to the mean half (tiledEncode shares it). */
  addEncoderShortcut(moments: Tensor, x: Tensor): Tensor {
    const sc = this.encoderShortcut;
    if (!sc) return moments;
    return tidy(() => {
      const m = sc.forward(F.pixelUnshuffle(x, this.downFactor));
      return moments.add(cat([m, zerosLike(m)], 1));
    });
  }

  /** Decoder output plus the linear shortcut's image (tiledDecode shares it). */
  addDecoderShortcut(y: Tensor, z: Tensor): Tensor {
    const sc = this.decoderShortcut;
    if (!sc) return y;
    return tidy(() => y.add(F.pixelShuffle(sc.forward(z), this.downFactor)));
  }

  get scaleFactor(): number { return this.config.scaleFactor; }

  /** Image [N, C, H, W] in [−1, 1] → the posterior over latents [N, embedDim, H/f, W/f]. Dispose it after use. */
  encode(x: Tensor): DiagonalGaussianDistribution {
    const c = this.config;
    if (x.ndim !== 4 || x.shape[1] !== c.inChannels) throw new RangeError(`AutoencoderKL.encode: expected [N, ${c.inChannels}, H, W], got [${x.shape.join(', ')}]`);
    const f = this.downFactor;
    if (x.shape[2] % f || x.shape[3] % f) throw new RangeError(`AutoencoderKL.encode: H and W must be multiples of ${f}, got ${x.shape[2]}×${x.shape[3]}`);
    const moments = tidy(() => this.addEncoderShortcut(this.quantConv.forward(this.encoder.forward(x)), x));
    try {
      return new DiagonalGaussianDistribution(moments);
    } finally {
      moments.dispose();
    }
  }

  /** Scaled latent: posterior mode × scaleFactor (what the flow model is trained on). */
  encodeScaled(x: Tensor): Tensor {
    const post = this.encode(x);
    try {
      return post.mean.mul(this.config.scaleFactor);
    } finally {
      post.dispose();
    }
  }

  /** Latent [N, embedDim, h, w] → image [N, outCh, h·f, w·f]. denorm: divide by scaleFactor first. */
  decode(z: Tensor, opts: { denorm?: boolean } = {}): Tensor {
    if (z.ndim !== 4 || z.shape[1] !== this.config.embedDim) throw new RangeError(`AutoencoderKL.decode: expected [N, ${this.config.embedDim}, h, w], got [${z.shape.join(', ')}]`);
    return tidy(() => {
      const zu = opts.denorm ? z.div(this.config.scaleFactor) : z;
      return this.addDecoderShortcut(this.decoder.forward(this.postQuantConv.forward(zu)), zu);
    });
  }

  /** Reconstruction through a posterior sample (seeded by generator) or its mode. */
  forward(x: Tensor, opts: { samplePosterior?: boolean; generator?: Generator } = {}): { decoded: Tensor; posterior: DiagonalGaussianDistribution } {
    const posterior = this.encode(x);
    const z = (opts.samplePosterior ?? true) ? posterior.sample(opts.generator) : posterior.mode();
    try {
      return { decoded: this.decode(z), posterior };
    } finally {
      z.dispose();
    }
  }
}
