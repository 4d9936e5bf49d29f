// What an upscale returns: the image (and alpha) as tensors, what the run did, and the writers a caller needs
// (toBuffer / save), so the library's user does not have to know the pixel range or the metadata rules.
import { basename } from 'node:path';
import { cat, tidy, type Tensor } from '../tensor/index.js';
import { encodeTensorImage, formatFromPath, writeImage, type ImageFormat } from '../data/index.js';
import type { ImageMetadataBlocks } from '../data/image_codec.js';
import type { UpsampleInfo } from './types.js';

/** How a result is written. */
export interface SaveOptions {
  /** png (default for toBuffer), jpeg or webp; save() takes it from the extension unless given. */
  format?: ImageFormat;
  /** JPEG/WebP quality 1–100 (default 95). */
  quality?: number;
  /** WebP lossless (default false). */
  lossless?: boolean;
  /** Leave out the input's ICC profile and EXIF block and the run's parameters (default false: all kept). */
  stripMetadata?: boolean;
  /** Extra text entries besides the run's parameters. */
  metadata?: Record<string, string>;
  /** The colour the alpha channel is flattened onto for JPEG (default '#ffffff'). */
  background?: string;
}

/** The run's parameters as text metadata (PNG text chunks, or XMP in JPEG / WebP). */
export function runMetadata(info: UpsampleInfo): Record<string, string> {
  return {
    Software: 'fmboost',
    'fmboost:model': info.model,
    'fmboost:steps': String(info.steps),
    'fmboost:solver': info.solver,
    'fmboost:noise_step': String(info.noiseStep),
    'fmboost:seed': String(info.seed),
    'fmboost:precision': info.precision,
    'fmboost:scale': String(info.scale),
    ...(info.resample ? { 'fmboost:model_scale': String(info.modelScale), 'fmboost:resample': info.resample } : {}),
    ...(info.input ? { 'fmboost:input': basename(info.input) } : {}),
    'fmboost:input_size': `${info.inputSize[1]}x${info.inputSize[0]}`,
  };
}

export class UpsampleResult {
  private disposed = false;

  constructor(
    /** [3, H·scale, W·scale] in [−1, 1]; owned by this result (dispose() frees it). */
    readonly image: Tensor,
    readonly info: UpsampleInfo,
    /** [1, H·scale, W·scale] in [−1, 1] (−1 transparent) when the input had an alpha channel. */
    readonly alpha?: Tensor,
    /** The input's ICC profile and EXIF block, written back unless stripMetadata. */
    readonly source: ImageMetadataBlocks = {},
  ) {}

  private check(fn: string): void {
    if (this.disposed) throw new Error(`UpsampleResult.${fn}: the result was disposed`);
  }

  /** Colour and alpha as one [4, H, W] tensor (or the [3, H, W] image when there is no alpha); caller disposes. */
  rgba(): Tensor {
    this.check('rgba');
    return this.alpha ? tidy(() => cat([this.image, this.alpha as Tensor], 0)) : this.image.alias();
  }

  private encodeOptions(o: SaveOptions, name?: string) {
    const meta = o.stripMetadata ? undefined : { ...runMetadata(this.info), ...o.metadata };
    return {
      quality: o.quality, lossless: o.lossless, background: o.background, metadata: meta, name,
      ...(o.stripMetadata ? {} : { icc: this.source.icc, exif: this.source.exif }),
    };
  }

  /** Encoded bytes (default png). */
  async toBuffer(o: SaveOptions = {}): Promise<Buffer> {
    this.check('toBuffer');
    const t = this.rgba();
    try {
      return await encodeTensorImage(t, { ...this.encodeOptions(o), format: o.format ?? 'png' });
    } finally {
      t.dispose();
    }
  }

  /** Writes the image atomically; the format follows the extension unless o.format is given. */
  async save(path: string, o: SaveOptions = {}): Promise<void> {
    this.check('save');
    const t = this.rgba();
    try {
      await writeImage(path, t, { ...this.encodeOptions(o, path), format: o.format ?? formatFromPath(path) });
    } finally {
      t.dispose();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.image.dispose();
    this.alpha?.dispose();
  }
}
