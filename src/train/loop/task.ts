// What differs between the two training modes: the trained module, its loss on a batch, and how a
// validation batch turns into (reference, low-res view, prediction) images. The loop is shared.
import type { Batch } from '../../data/index.js';
import type { Module } from '../../nn/index.js';
import type { Generator, Tensor } from '../../tensor/index.js';

/** The seeded streams of a run (all derived from train.seed; saved in checkpoints). */
export interface Streams {
  /** t ~ U[0, 1) of the flow loss. */
  time: Generator;
  /** Noise augmentation of x0, start noise, noise_upsampling fill. */
  noise: Generator;
  /** Posterior samples (autoencoder mode). */
  posterior: Generator;
  /** Dropout masks. */
  dropout: Generator;
}

export const STREAM_NAMES = ['time', 'noise', 'posterior', 'dropout'] as const;

/** Images in [-1, 1], [B, 3, H, W], all at the high-res size (the low-res view is shown upsampled). */
export interface ValImages {
  hr: Tensor;
  lr: Tensor;
  pred: Tensor;
  /** pred is not made from hr (an unconditional model's samples): compare the sets (SWD), not the pairs. */
  unpaired?: boolean;
}

export interface TrainTask {
  readonly mode: 'flow' | 'autoencoder';
  /** The module being trained. */
  readonly model: Module;
  /** Same architecture: holds the EMA weights. */
  readonly emaModel: Module;
  /** Loss of one micro-batch (a scalar with its graph); `terms` are extra scalars to log. */
  loss(batch: Batch, s: Streams): { loss: Tensor; terms?: Record<string, number> };
  /** Validation images of one batch, made with `net` (the EMA model) and a private generator. Caller disposes. */
  valImages(batch: Batch, net: Module, g: Generator): ValImages | Promise<ValImages>;
  /** Data-dependent initialisation at the start of a run that is not a resume; returns what it did. */
  prepare?(next: () => Promise<Batch>, opts: { loadWeights: boolean }): Promise<string | null>;
  /** What the task wants printed at start (frozen VAE source, …). */
  describe(opts?: { resumed?: boolean }): string[];
  dispose(): void;
}
