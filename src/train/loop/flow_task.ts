// Flow mode: train the EfficientUNet with the coupling flow-matching loss, the reference's recipe
// (DESIGN §1). A batch holds either stored latents (`latent`, `latent_lowres`: unscaled posterior
// means; scaled here) or images, encoded on the fly with the frozen VAE (posterior mean; the PSU
// image is the low-res image — degraded by one of data.degradations — resized back up in pixel space).
import type { Batch } from '../../data/index.js';
import { degrade } from '../../data/index.js';
import { FlowMatcher, NoiseAugmenter, buildSourceAndContext, psuImage, sample, type UpsamplingMode } from '../../flow/index.js';
import type { AutoencoderKL, EfficientUNet } from '../../models/index.js';
import type { Module } from '../../nn/index.js';
import { F, atPrecision, autocastBf16, cat, noGrad, rand, randn, tidy, type Generator, type Tensor } from '../../tensor/index.js';
import type { FmboostConfig } from '../config/index.js';
import { ModelSetupError, buildUNet, frozenVAE } from './models.js';
import type { Streams, TrainTask, ValImages } from './task.js';
import { flowConfigOfRun, type CfmModel } from '../../upscale/model.js';
import { upscalePass } from '../../upscale/stages.js';

export class FlowTask implements TrainTask {
  readonly mode = 'flow' as const;
  readonly model: EfficientUNet;
  readonly emaModel: EfficientUNet;
  readonly vae: AutoencoderKL;
  private readonly vaeSource: string;
  private readonly matcher: FlowMatcher;
  private readonly upMode: UpsamplingMode;
  /** model.flow.source noise: an unconditional base model (x0 = N(0, I), no low-res input, no context). */
  private readonly unconditional: boolean;
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
    this.unconditional = f.source === 'noise';
    this.upMode = f.source === 'lsu' ? f.lsu_interpolation : f.source === 'noise' ? 'identity' : f.source;
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
   * The low-res images, each sample degraded by one of data.degradations drawn from `g` (no draw when there is
   * one, or without g: validation uses the first).
   */
  private lowResImages(img: Tensor, g?: Generator): Tensor {
    const ds = this.config.data.degradations, size: [number, number] = [this.config.data.low_res_size, this.config.data.low_res_size];
    if (ds.length === 1 || !g) return degrade(img, size, ds[0]);
    return tidy(() => {
      const u = rand([img.shape[0]], { generator: g }).toFloat32Array();
      return cat(Array.from(u, (v, i) => degrade(img.narrow(0, i, 1), size, ds[Math.min(ds.length - 1, Math.floor(v * ds.length))])), 0);
    });
  }

  /**
   * x1 (high-res latent) and the low-res latent in model space (× scale_factor). For psu the low-res latent is
   * the PSU latent (high-res size: flow/source.ts's psuImage, encoded); for lsu the encoded low-res image, which
   * the coupling interpolates.
   */
  latents(batch: Batch, g?: Generator): { x1: Tensor; low: Tensor } {
    const sf = this.config.model.flow.scale_factor;
    return noGrad(() => tidy(() => {
      if (this.unconditional) {
        // no low-res input: x1 alone (low is x1's handle, unused by the coupling)
        const x1 = batch.latent ? batch.latent.mul(sf) : batch.image ? this.encode(batch.image) : null;
        if (!x1) throw new ModelSetupError(`batch has neither images nor latents (keys: ${Object.keys(batch.tensors).join(', ')})`);
        return { x1, low: x1.alias() };
      }
      if (batch.latent) {
        if (!batch.latent_lowres) throw new ModelSetupError(`latent data without 'latent_lowres' (keys: ${Object.keys(batch.tensors).join(', ')})`);
        return { x1: batch.latent.mul(sf), low: batch.latent_lowres.mul(sf) };
      }
      const img = batch.image;
      if (!img) throw new ModelSetupError(`batch has neither images nor latents (keys: ${Object.keys(batch.tensors).join(', ')})`);
      const lowres = this.lowResImages(img, g);
      const x1 = this.encode(img);
      const low = this.encode(this.upMode === 'psu' ? psuImage(lowres, [img.shape[2], img.shape[3]]) : lowres);
      return { x1, low };
    }));
  }

  private coupling(x1: Tensor, low: Tensor, generator: Generator): { source: Tensor; context: Tensor | null } {
    const f = this.config.model.flow;
    if (this.unconditional) return { source: randn(x1.shape, { dtype: x1.dtype, generator }), context: null };
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

  /**
   * Validation images. Image batches of a psu / lsu model with an integer factor go through the one upscale
   * path (upscale/stages.ts upscalePass, as the Upsampler and `fmboost eval` do): each high-res image is
   * degraded with data.degradations[0] and upscaled, so validation PSNR is eval's PSNR on these crops.
   * Stored-latent batches (no image to degrade) and the research sources the upscaler does not take
   * (identity, noise_upsampling) sample the stored / built context latent with flow.sample.
   */
  async valImages(batch: Batch, net: Module, g: Generator): Promise<ValImages> {
    const f = this.config.model.flow, d = this.config.data;
    if (this.unconditional) return this.valSamples(batch, net, g);
    const viaPipeline = batch.image && (f.source === 'psu' || f.source === 'lsu') && d.image_size % d.low_res_size === 0;
    if (!viaPipeline) return this.valImagesFromLatents(batch, net, g);
    const v = this.config.train.val;
    const hr = batch.image!;
    const name = this.config.name ?? 'training run';
    const model: CfmModel = { path: name, name, unet: net as EfficientUNet, vae: this.vae, flow: flowConfigOfRun(this.config as unknown as Record<string, unknown>, name) };
    const lowres = noGrad(() => this.lowResImages(hr));
    const preds: Tensor[] = [];
    try {
      for (let i = 0; i < hr.shape[0]; i++) {
        const lo = lowres.narrow(0, i, 1);
        try {
          const r = await upscalePass(model, lo, { gridPoints: v.num_steps, solver: v.solver, noiseStep: f.noising_step, generator: g }, { tile: null, pass: 0, passes: 1 });
          preds.push(r.image);
        } finally {
          lo.dispose();
        }
      }
      return noGrad(() => tidy(() => ({
        hr: hr.alias(),
        // the low-res view, as the flow sees it: PSU's pixel-space resize
        lr: psuImage(lowres, [hr.shape[2], hr.shape[3]], model.flow.pixelResize).clamp(-1, 1),
        pred: cat(preds, 0),
      })));
    } finally {
      lowres.dispose();
      for (const t of preds) t.dispose();
    }
  }

  /** An unconditional model's validation: as many samples from N(0, I) as the batch has images, and the images
   *  themselves; validation compares the two sets' distributions (SWD), not pairs. */
  private valSamples(batch: Batch, net: Module, g: Generator): ValImages {
    const f = this.config.model.flow, v = this.config.train.val;
    const unet = net as EfficientUNet;
    return noGrad(() => tidy(() => {
      const { x1 } = this.latents(batch);
      const x0 = randn(x1.shape, { generator: g });
      const { latent } = sample((x, t) => unet.forward(x, t), { source: x0, context: null }, { solver: v.solver, steps: v.num_steps, generator: g, matcher: this.matcher });
      const dec = (z: Tensor) => this.vae.decode(z.div(f.scale_factor)).clamp(-1, 1);
      const hr = batch.image ? batch.image.alias() : dec(x1);
      return { hr, lr: hr.alias(), pred: dec(latent), unpaired: true };
    }));
  }

  private valImagesFromLatents(batch: Batch, net: Module, g: Generator): ValImages {
    const f = this.config.model.flow;
    const v = this.config.train.val;
    const unet = net as EfficientUNet;
    return noGrad(() => tidy(() => {
      const { x1, low } = this.latents(batch);
      const { latent } = sample((x, t) => unet.forward(x, t), { lowresLatent: low, zSize: [x1.shape[2], x1.shape[3]], coupling: { upsamplingMode: this.upMode, startFromNoise: f.start_from_noise, scaleFactor: f.scale_factor } }, {
        solver: v.solver, steps: v.num_steps, noiseStep: f.noising_step, generator: g, matcher: this.matcher,
      });
      // latents are × flow.scale_factor (encode above), which scale_by_std may have set: not the VAE config's own
      const dec = (z: Tensor) => this.vae.decode(z.div(f.scale_factor)).clamp(-1, 1);
      const hr = batch.image ? batch.image.alias() : dec(x1);
      const lr = low.shape[2] === x1.shape[2] ? dec(low) : F.interpolate(dec(low), { size: [hr.shape[2], hr.shape[3]], mode: 'nearest' });
      return { hr, lr: lr.clamp(-1, 1), pred: dec(latent) };
    }));
  }

  dispose(): void {
    this.model.dispose();
    this.emaModel.dispose();
    this.vae.dispose();
  }
}
