// Flow mode: train the EfficientUNet with the coupling flow-matching loss, the reference's recipe
// (DESIGN §1). A batch holds either stored latents (`latent`, `latent_lowres`: unscaled posterior
// means; scaled here) or images, encoded on the fly with the frozen VAE (posterior mean; the PSU
// image is the bilinear low-res image resized back up in pixel space).
import type { Batch } from '../../data/index.js';
import { psuPair } from '../../data/index.js';
import { FlowMatcher, NoiseAugmenter, buildSourceAndContext, sample, type UpsamplingMode } from '../../flow/index.js';
import type { AutoencoderKL, EfficientUNet } from '../../models/index.js';
import type { Module } from '../../nn/index.js';
import { F, autocastBf16, noGrad, tidy, type Generator, type Tensor } from '../../tensor/index.js';
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
  }

  describe(): string[] {
    return [`VAE (frozen): ${this.config.model.vae.preset}, weights ${this.vaeSource}`];
  }

  private encode(img: Tensor): Tensor {
    const post = this.vae.encode(img);
    try { return post.mean.mul(this.config.model.flow.scale_factor); } finally { post.dispose(); }
  }

  /**
   * x1 (high-res latent) and the low-res latent in model space (× scale_factor), plus the images
   * when the batch had them. For psu the low-res latent is the PSU latent (high-res size).
   */
  latents(batch: Batch): { x1: Tensor; low: Tensor; psuImage?: Tensor } {
    const sf = this.config.model.flow.scale_factor;
    return noGrad(() => tidy(() => {
      if (batch.latent) {
        if (!batch.latent_lowres) throw new ModelSetupError(`latent data without 'latent_lowres' (keys: ${Object.keys(batch.tensors).join(', ')})`);
        return { x1: batch.latent.mul(sf), low: batch.latent_lowres.mul(sf) };
      }
      const img = batch.image;
      if (!img) throw new ModelSetupError(`batch has neither images nor latents (keys: ${Object.keys(batch.tensors).join(', ')})`);
      const { lowres, psu } = psuPair(img, { lowResSize: this.config.data.low_res_size });
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

  loss(batch: Batch, s: Streams): { loss: Tensor } {
    return tidy(() => {
      const { x1, low } = this.latents(batch);
      const { source, context } = noGrad(() => this.coupling(x1, low, s.noise));
      const run = () => this.matcher.loss((x, t) => this.model.forward(x, t), x1, source, { context, generator: s.time });
      const loss = this.config.train.precision === 'bf16' ? autocastBf16(run).to('float32') : run();
      return { loss };
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
      const dec = (z: Tensor) => this.vae.decode(z, { denorm: true }).clamp(-1, 1);
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
