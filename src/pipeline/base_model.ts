// The base model of the paper's pipeline: a text-to-image (or unconditional) latent diffusion model whose output
// FMBoost upscales. Every base (SD1.5 / LCM in sd_base.ts, our own small one later) implements this one interface,
// so `generate` (generate.ts) and the CLI never need to know which kind they drive.
import type { Tensor } from '../tensor/index.js';

export interface BaseSampleOptions {
  /** The text prompt; bases with needsPrompt false ignore it (and accept none). */
  prompt?: string;
  negativePrompt?: string;
  /** Sampler steps (default: the base's). */
  steps?: number;
  /** Guidance scale (classifier-free guidance, or LCM's guidance embedding; default: the base's). */
  guidance?: number;
  /** Seed of the initial noise and of any noise a sampler injects (same seed, same latent). */
  seed?: number;
  /** [height, width] in pixels, at the base's resolution (default: defaultSize). */
  size?: [number, number];
  /** One of samplers (default: the first). */
  sampler?: string;
  signal?: AbortSignal;
  /** After each sampler step (1-based). */
  onStep?: (step: number, total: number) => void;
}

export interface BaseModel {
  /** What to call it in messages and metadata (e.g. the folder's or the file's name). */
  readonly name: string;
  /** Its family, e.g. 'sd' or 'lcm'. */
  readonly kind: string;
  /** [height, width] in pixels it samples at when no size is given. */
  readonly defaultSize: [number, number];
  /** Sampler names sample() accepts; the first is the default. */
  readonly samplers: readonly string[];
  /** Whether sample() requires a prompt. */
  readonly needsPrompt: boolean;
  /** The base's latent [1, C, h, w] in its VAE's space, unscaled (what vae.encode(x).mode() gives); the caller disposes it. */
  sample(o: BaseSampleOptions): Promise<Tensor>;
  /** An unscaled latent of sample() → image [1, 3, H, W] in [-1, 1] (a new tensor). */
  decode(latent: Tensor): Tensor;
  /**
   * The base VAE's config (AutoencoderKL options), when it has one: generate() compares it with an LSU CFM's
   * (which would take these latents as its own). Optional: a base without an LDM VAE leaves it out.
   */
  readonly vaeConfig?: Readonly<Record<string, unknown>>;
  dispose(): void;
}
