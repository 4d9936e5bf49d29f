// The library API: `const up = await Upsampler.load({ model }); const { image, info } = await up.upsampleImage(img)`.
// (Interface first; the implementation lands in the following commits.)
import type { Tensor } from '../tensor/index.js';
import type { LatentInput, UpsampleOptions, UpsampleResult, UpsamplerLoadOptions } from './types.js';

export class Upsampler {
  private constructor(readonly modelPath: string) {}

  /** Loads a model bundle (or a training checkpoint, or a list of stage models for a cascade). */
  static async load(opts: UpsamplerLoadOptions = {}): Promise<Upsampler> {
    void opts;
    throw new Error('Upsampler.load: not implemented yet');
  }

  /** One image ([3, H, W] in [−1, 1], or a file path) → the upscaled image. */
  async upsampleImage(image: Tensor | string, opts: UpsampleOptions = {}): Promise<UpsampleResult> {
    void image; void opts;
    throw new Error('Upsampler.upsampleImage: not implemented yet');
  }

  /** Several images (processed one after another; each gets seed + index). */
  async upsampleBatch(images: (Tensor | string)[], opts: UpsampleOptions = {}): Promise<UpsampleResult[]> {
    void images; void opts;
    throw new Error('Upsampler.upsampleBatch: not implemented yet');
  }

  /** A base model's latent → the upscaled image. */
  async upsampleLatent(input: LatentInput | string, opts: UpsampleOptions & { scaled?: boolean } = {}): Promise<UpsampleResult> {
    void input; void opts;
    throw new Error('Upsampler.upsampleLatent: not implemented yet');
  }

  /** Frees the weights. */
  dispose(): void {}
}
