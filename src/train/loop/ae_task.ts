// Autoencoder mode: train the KL autoencoder (the first stage) on images. Loss = per-pixel
// reconstruction (L1 or L2, mean) + kl_weight · KL(posterior ‖ N(0, I)) summed per image, averaged
// over the batch and divided by the pixel count C·H·W — LDM's `rec.sum/B + w·kl.sum/B` scaled by
// 1/(C·H·W), without its learned log-variance, perceptual and adversarial terms.
import type { Batch } from '../../data/index.js';
import { degrade } from '../../data/index.js';
import { psuImage } from '../../flow/index.js';
import { PatchMoments, pcaInitShortcut, type AutoencoderKL } from '../../models/index.js';
import type { Module } from '../../nn/index.js';
import { F, autocastBf16, noGrad, tidy, type Generator, type Tensor } from '../../tensor/index.js';
import type { FmboostConfig } from '../config/index.js';
import { ModelSetupError, buildVAE, loadVaeWeights } from './models.js';
import type { Streams, TrainTask, ValImages } from './task.js';

export class AutoencoderTask implements TrainTask {
  readonly mode = 'autoencoder' as const;
  readonly model: AutoencoderKL;
  readonly emaModel: AutoencoderKL;
  private readonly init: string;

  constructor(readonly config: FmboostConfig) {
    this.model = buildVAE(config.model.vae);
    this.emaModel = buildVAE(config.model.vae);
    this.emaModel.eval();
    this.emaModel.requiresGrad_(false);
    // model.vae.path, when set, is the starting point (fine-tuning); null = random init.
    this.init = config.model.vae.path === null ? 'random init' : loadVaeWeights(this.model, config.model.vae.path);
  }

  describe(opts: { resumed?: boolean } = {}): string[] {
    const start = opts.resumed ? 'the resumed checkpoint' : this.init;
    return [`autoencoder: ${this.config.model.vae.preset} (${this.model.numParameters().toLocaleString('en-US')} parameters), start: ${start}`];
  }

  /** PCA of the first pca_batches training batches' f×f patches → the linear shortcut (models/vae/pca.ts). */
  async prepare(next: () => Promise<Batch>, opts: { loadWeights: boolean }): Promise<string | null> {
    const n = this.config.train.autoencoder.pca_batches;
    if (!this.model.encoderShortcut || n === 0 || this.config.model.vae.path !== null || opts.loadWeights) return null;
    const moments = new PatchMoments(this.model.downFactor);
    try {
      for (let i = 0; i < n; i++) {
        const batch = await next();
        try { moments.add(this.image(batch)); } finally { batch.dispose(); }
      }
      const r = pcaInitShortcut(this.model, moments);
      return `autoencoder: linear shortcut initialised by PCA of ${r.patches.toLocaleString('en-US')} patches of ${this.model.downFactor}×${this.model.downFactor} px (${n} batches): the top ${this.model.config.embedDim} components keep ${(100 * r.explained).toFixed(2)} % of the variance`;
    } finally {
      moments.dispose();
    }
  }

  private image(batch: Batch): Tensor {
    if (!batch.image) throw new ModelSetupError(`autoencoder training needs images; the batch has ${Object.keys(batch.tensors).join(', ') || 'nothing'}`);
    return batch.image;
  }

  loss(batch: Batch, s: Streams): { loss: Tensor; terms: Record<string, number> } {
    const a = this.config.train.autoencoder;
    const x = this.image(batch);
    const terms: Record<string, number> = {};
    const loss = tidy(() => {
      const run = () => {
        const { decoded, posterior } = this.model.forward(x, { samplePosterior: a.sample_posterior, generator: s.posterior });
        try {
          const rec = a.rec_loss === 'l1' ? F.l1Loss(decoded.to('float32'), x) : F.mseLoss(decoded.to('float32'), x);
          const perPixel = x.shape[1] * x.shape[2] * x.shape[3];
          const kl = posterior.kl().to('float32').mean().div(perPixel);
          terms['train/rec_loss'] = rec.item();
          terms['train/kl'] = kl.item() * perPixel;
          return a.kl_weight > 0 ? rec.add(kl.mul(a.kl_weight)) : rec;
        } finally {
          posterior.dispose();
        }
      };
      return this.config.train.precision === 'bf16' ? autocastBf16(run) : run();
    });
    return { loss, terms };
  }

  valImages(batch: Batch, net: Module, _g: Generator): ValImages {
    const vae = net as AutoencoderKL;
    return noGrad(() => tidy(() => {
      const x = this.image(batch);
      const post = vae.encode(x);
      let pred: Tensor;
      try { pred = vae.decode(post.mean).clamp(-1, 1); } finally { post.dispose(); }
      // The low-res view shows what the flow model would start from: the PSU image.
      const size = this.config.data.low_res_size;
      const psu = psuImage(degrade(x, [size, size], this.config.data.degradations[0]), [x.shape[2], x.shape[3]]);
      return { hr: x.alias(), lr: psu.clamp(-1, 1), pred };
    }));
  }

  dispose(): void {
    this.model.dispose();
    this.emaModel.dispose();
  }
}
