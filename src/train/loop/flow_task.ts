// Flow mode: train the EfficientUNet with the coupling flow-matching loss, the reference's recipe
// (DESIGN §1). A batch holds either stored latents (`latent`, `latent_lowres`: unscaled posterior
// means; scaled here) or images, encoded on the fly with the frozen VAE (posterior mean; the PSU
// image is the low-res image — degraded by one of data.degradations — resized back up in pixel space).
import type { Batch } from '../../data/index.js';
import { psuPair } from '../../data/index.js';
import { FlowMatcher, NoiseAugmenter, buildSourceAndContext, sample, type UpsamplingMode } from '../../flow/index.js';
import type { AutoencoderKL, EfficientUNet } from '../../models/index.js';
import type { Module } from '../../nn/index.js';
import { F, atPrecision, autocastBf16, cat, noGrad, rand, tidy, type Generator, type Tensor } from '../../tensor/index.js';
import type { FmboostConfig } from '../config/index.js';
import { ModelSetupError, buildUNet, frozenVAE } from './models.js';
import type { Streams, TrainTask, ValImages } from './task.js';

export class FlowTask implements TrainTask {
  readonly mode = 'flow' as const;
  readonly model: EfficientUNet;
  readonly emaModel: EfficientUNet;
  readonly vae: AutoencoderKL;
  private readonly vaeSource: string;
  private readonly matcher: FlowMatcher;
  private readonly upMode: UpsamplingMode;
  private augmenter: NoiseAugmenter | undefined;

  constructor(readonly config: FmboostConfig) {
    const f = config.model.flow;
    ({ vae: this.vae, source: this.vaeSource } = frozenVAE(config.model.vae));
    if (this.vae.config.embedDim !== config.model.unet.out_channels) {
      this.vae.dispose();
      throw new ModelSetupError(`the VAE has ${this.vae.config.embedDim} latent channels but model.unet.out_channels is ${config.model.unet.out_channels}`);
    }
    this.model = buildUNet(config);
    this.emaModel = buildUNet(config);
    this.emaModel.eval();
    this.emaModel.requiresGrad_(false);
    this.matcher = new FlowMatcher({ path: f.schedule, sigmaMin: f.sigma_min });
    this.upMode = f.source === 'lsu' ? f.lsu_interpolation : f.source;
    // bf16 training also encodes its batches in bf16 (channels_last, as the UNet): the frozen encoder was 27 % of
    // a step in fp32 and runs 2× faster so; its latents are ~50 dB from the fp32 ones, far below the training noise.
    if (config.train.precision === 'bf16') this.vae.toMemoryFormat('channels_last');
  }

  /** scale_by_std (LDM): scale_factor = 1 / std of the high-res latents of the first batches. */
  async prepare(next: () => Promise<Batch>): Promise<string | null> {
    const f = this.config.model.flow;
    if (!f.scale_by_std) return null;
    const batches = 8;
    let sum = 0, sq = 0, n = 0;
    for (let i = 0; i < batches; i++) {
      const batch = await next();
      try {
        noGrad(() => tidy(() => {
          let z: Tensor;
          if (batch.latent) z = batch.latent.to('float64');
          else {
            const post = this.vae.encode(batch.image!);
            z = post.mean.to('float64');
            post.dispose();
          }
          sum += z.sum().item();
          sq += z.pow(2).sum().item();
          n += z.numel;
        }));
      } finally {
        batch.dispose();
      }
    }
    const std = Math.sqrt(Math.max(0, sq / n - (sum / n) ** 2));
    if (!(std > 0) || !Number.isFinite(std)) throw new ModelSetupError(`scale_by_std: the latents of the first ${batches} batches have std ${std}`);
    f.scale_factor = 1 / std;
    return `flow: scale_by_std: latent std ${std.toPrecision(5)} over ${batches} batches → scale_factor ${f.scale_factor.toPrecision(5)}`;
  }

  describe(): string[] {
    return [`VAE (frozen): ${this.config.model.vae.preset}, weights ${this.vaeSource}`];
  }

  private encode(img: Tensor): Tensor {
    const bf16 = this.config.train.precision === 'bf16';
    return tidy(() => {
      const mean = atPrecision(bf16 ? 'bf16' : 'fp32', () => {
        const post = this.vae.encode(bf16 ? img.contiguous('channels_last') : img);
        try { return post.mean.alias(); } finally { post.dispose(); }
      });
      return mean.contiguous().mul(this.config.model.flow.scale_factor);
    });
  }

  /**
   * x1 (high-res latent) and the low-res latent in model space (× scale_factor), plus the images
   * when the batch had them. For psu the low-res latent is the PSU latent (high-res size).
   */
  /**
   * The low-res image and its PSU image, each sample degraded by one of data.degradations drawn from `g`
   * (no draw when there is one, or without g: validation uses the first).
   */
  private lowResPair(img: Tensor, g?: Generator): { lowres: Tensor; psu: Tensor } {
    const ds = this.config.data.degradations, lowResSize = this.config.data.low_res_size;
    if (ds.length === 1 || !g) return psuPair(img, { lowResSize, degradation: ds[0] });
    return tidy(() => {
      const u = rand([img.shape[0]], { generator: g }).toFloat32Array();
      const pairs = Array.from(u, (v, i) => psuPair(img.narrow(0, i, 1), { lowResSize, degradation: ds[Math.min(ds.length - 1, Math.floor(v * ds.length))] }));
      return { lowres: cat(pairs.map((p) => p.lowres), 0), psu: cat(pairs.map((p) => p.psu), 0) };
    });
  }

  latents(batch: Batch, g?: Generator): { x1: Tensor; low: Tensor; psuImage?: Tensor } {
    const sf = this.config.model.flow.scale_factor;
    return noGrad(() => tidy(() => {
      if (batch.latent) {
        if (!batch.latent_lowres) throw new ModelSetupError(`latent data without 'latent_lowres' (keys: ${Object.keys(batch.tensors).join(', ')})`);
        return { x1: batch.latent.mul(sf), low: batch.latent_lowres.mul(sf) };
      }
      const img = batch.image;
      if (!img) throw new ModelSetupError(`batch has neither images nor latents (keys: ${Object.keys(batch.tensors).join(', ')})`);
      const { lowres, psu } = this.lowResPair(img, g);
      const x1 = this.encode(img);
      const low = this.encode(this.upMode === 'psu' ? psu : lowres);
      return { x1, low, psuImage: psu };
    }));
  }

  private coupling(x1: Tensor, low: Tensor, generator: Generator) {
    const f = this.config.model.flow;
    if (f.noising_step > 0 && (!this.augmenter || this.augmenter.generator !== generator)) this.augmenter = new NoiseAugmenter({ generator });
    return buildSourceAndContext(
      { lowresLatent: low, zSize: [x1.shape[2], x1.shape[3]] },
      { upsamplingMode: this.upMode, startFromNoise: f.start_from_noise, noisingStep: f.noising_step, augmenter: this.augmenter, scaleFactor: f.scale_factor, generator },
    );
  }

  /** model.flow.t_zero_fraction > 0: t ~ U[0, 1) with that share of samples set to 0 (both draws from the time
   *  stream); 0: undefined, and the matcher draws t ~ U[0, 1) itself, as the reference. */
  private trainTimes(b: number, g: Generator): Tensor | undefined {
    const frac = this.config.model.flow.t_zero_fraction;
    if (!(frac > 0)) return undefined;
    return tidy(() => rand([b], { generator: g }).mul(rand([b], { generator: g }).ge(frac).float()));
  }

  loss(batch: Batch, s: Streams): { loss: Tensor; terms?: Record<string, number> } {
    const f = this.config.model.flow, bf16 = this.config.train.precision === 'bf16';
    return tidy(() => {
      const { x1, low } = this.latents(batch, s.noise);
      const { source, context } = noGrad(() => this.coupling(x1, low, s.noise));
      const t = this.trainTimes(x1.shape[0], s.time);
      const net = (x: Tensor, tt: Tensor) => this.model.forward(x, tt);
      if (!(f.pixel_loss_weight > 0)) {
        const run = () => this.matcher.loss(net, x1, source, { context, generator: s.time, t });
        return { loss: bf16 ? autocastBf16(run).to('float32') : run() };
      }
      if (!batch.image) throw new ModelSetupError('model.flow.pixel_loss_weight > 0 needs image batches (the high-res image is its target), not stored latents');
      if (f.schedule !== 'linear') throw new ModelSetupError(`model.flow.pixel_loss_weight > 0 needs schedule linear (x̂1 = x_t + (1 − t)·v), not ${f.schedule}`);
      // one-step estimate of the high-res latent from every training sample, decoded by the frozen VAE (gradients
      // flow through the decoder into v; the decoder's own weights stay frozen)
      const run = () => {
        const lt = this.matcher.lossTerms(net, x1, source, { context, generator: s.time, t });
        const tt = lt.t.reshape([lt.t.shape[0], 1, 1, 1]);
        const x1hat = lt.xt.add(lt.vt.float().mul(tt.neg().add(1)));
        const img = this.vae.decode(x1hat.div(f.scale_factor));
        return { flow: lt.loss.float(), pixel: F.mseLoss(img.float(), batch.image!) };
      };
      const { flow, pixel } = bf16 ? autocastBf16(run) : run();
      return { loss: flow.add(pixel.mul(f.pixel_loss_weight)), terms: { 'train/flow_loss': flow.item(), 'train/pixel_loss': pixel.item() } };
    });
  }

  valImages(batch: Batch, net: Module, g: Generator): ValImages {
    const f = this.config.model.flow;
    const v = this.config.train.val;
    const unet = net as EfficientUNet;
    return noGrad(() => tidy(() => {
      const { x1, low, psuImage } = this.latents(batch);
      const { latent } = sample((x, t) => unet.forward(x, t), { lowresLatent: low, zSize: [x1.shape[2], x1.shape[3]], coupling: { upsamplingMode: this.upMode, startFromNoise: f.start_from_noise, scaleFactor: f.scale_factor } }, {
        solver: v.solver, steps: v.num_steps, noiseStep: f.noising_step, generator: g, matcher: this.matcher,
      });
      // latents are × flow.scale_factor (encode above), which scale_by_std may have set: not the VAE config's own
      const dec = (z: Tensor) => this.vae.decode(z.div(f.scale_factor)).clamp(-1, 1);
      const hr = batch.image ? batch.image.alias() : dec(x1);
      let lr: Tensor;
      if (psuImage) lr = psuImage;
      else if (low.shape[2] === x1.shape[2]) lr = dec(low);
      else lr = F.interpolate(dec(low), { size: [hr.shape[2], hr.shape[3]], mode: 'nearest' });
      return { hr, lr: lr.clamp(-1, 1), pred: dec(latent) };
    }));
  }

  dispose(): void {
    this.model.dispose();
    this.emaModel.dispose();
    this.vae.dispose();
  }
}
