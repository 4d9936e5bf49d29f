// Public types of the upscaling pipeline (the library API `Upsampler` and the CLI share them).
import type { Precision, PrecisionOption, Tensor } from '../tensor/index.js';
import type { SolverName } from '../flow/index.js';

export type { UpsampleStage, StageProgressCallback, ProgressDetail } from '../upscale/types.js';
import type { UpsampleStage, ProgressDetail } from '../upscale/types.js';

export type ProgressCallback = (stage: UpsampleStage, step: number, total: number, detail?: ProgressDetail) => void;

export interface UpsamplerLoadOptions {
  /** Model bundle (.safetensors) or a training checkpoint directory / file; a list = cascade stages.
   *  Default: the bundled models/default/fmboost-default.safetensors. */
  model?: string | string[];
  /** 'cpu' (default) or a libtorch device string. */
  device?: string;
  /** libtorch intra-op threads (default: all cores). */
  threads?: number;
  /** 'fp32' (default), 'bf16' (mixed precision, CPU) or 'auto' (bf16 where the CPU has bf16 instructions). */
  precision?: PrecisionOption;
}

export interface UpsampleOptions {
  /** ODE solver steps (1 to MAX_SOLVER_STEPS; the grid has steps + 1 points); default: the model's. For adaptive
   *  solvers (dopri5) the number of grid points it must report at. */
  steps?: number;
  /** ODE solver; default: the model's (euler). */
  solver?: SolverName;
  /** Noise-augmentation step of the source (≤ 0: none); default: the model's. */
  noiseStep?: number;
  /** Seed of every random draw of the run (default 0): same seed, same output. */
  seed?: number;
  /** Overall output/input size factor, an integer from 2 to 64: a power of the model's factor runs that many
   *  passes, any other scale the covering power then an antialiased bicubic shrink (scale_plan.ts);
   *  default: one pass of each loaded stage. */
  scale?: number;
  /** Largest tile side in output pixels (multiple of 8 × the VAE factor); default: no tiling. */
  tileSize?: number;
  /** Tile overlap in output pixels (default tileSize / 4, rounded to the latent grid). */
  tileOverlap?: number;
  /** VAE tiling when tileSize is set: 'exact' (default; equals untiled, memory linear in the image) or 'blend'
   *  (independent overlapping tiles, memory bounded by the tile, approximate). The flow is always tiled by blending. */
  vaeTiling?: 'exact' | 'blend';
  /**
   * Memory budget of the process in bytes (default: a quarter of the free memory, 1–4 GiB; pipeline/memory.ts).
   * Without tileSize each pass runs in the largest tiles whose estimated peak fits it; a run that cannot fit,
   * or an explicit tileSize that would not, is refused with the estimate. CPU only (a CUDA device is not estimated).
   */
  maxMemory?: number;
  onProgress?: ProgressCallback;
  /** Aborts the run between tiles and solver steps; the AbortError carries signal.reason as its cause. */
  signal?: AbortSignal;
}

/** Every UpsampleOptions key, for the unknown-option check (a misspelled key must not silently run the defaults). */
export const UPSAMPLE_OPTION_KEYS = ['steps', 'solver', 'noiseStep', 'seed', 'scale', 'tileSize', 'tileOverlap', 'vaeTiling', 'maxMemory', 'onProgress', 'signal'] as const;

/** What the run did (written into output metadata). */
export interface UpsampleInfo {
  model: string;
  /** The input file (when given a path). */
  input?: string;
  /** ODE solver steps (grid points − 1). */
  steps: number;
  solver: SolverName;
  noiseStep: number;
  seed: number;
  /** The precision the models ran at ('auto' resolved). */
  precision: Precision;
  scale: number;
  /** What the model passes produced (a power of its factor); ≠ scale when the output was resized down. */
  modelScale: number;
  /** How the model's output was resized to `scale` ('bicubic_aa'), or null when it was not. */
  resample: 'bicubic_aa' | null;
  passes: number;
  inputSize: [number, number];
  outputSize: [number, number];
  tiles: number;
  nfe: number;
  seconds: number;
}

/** A latent from a base model: [4, h, w] or [1, 4, h, w]; scaled = already multiplied by scale_factor. */
export interface LatentInput {
  latent: Tensor;
  scaled: boolean;
}
