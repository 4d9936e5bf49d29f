// What the server needs from an upscaler. The server never calls the model directly: it is handed an
// Upscaler (the worker pool in production, a fake in unit tests), so HTTP handling is testable alone.
import type { JobOptions } from './options.js';
import type { RunContext } from './queue.js';
import type { Precision } from '../tensor/precision_names.js';

export interface UpscaleInput {
  /** The uploaded file's bytes (already checked to be an image within the pixel limit). */
  image: Buffer;
  options: JobOptions;
  /** Name for messages (the upload's file name). */
  name: string;
}

/** Encodings a job may ask for (the `format` option). */
export type OutputFormat = 'png' | 'jpeg' | 'webp';
export const OUTPUT_MIME: Record<OutputFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

export interface UpscaleOutput {
  /** The encoded result. */
  encoded: Buffer;
  /** Its format (default png). */
  format?: OutputFormat;
  width: number;
  height: number;
  /** What the run did (model, steps, solver, seconds, …). */
  info: Record<string, unknown>;
}

/** What the loaded model offers (shown by GET /api/info and used to check the scale option). */
export interface ModelDescription {
  name: string;
  /** Overall scales it can produce (powers of its factor; one value for a cascade). */
  scales: number[];
  /** Precision the worker runs the model at ('auto' resolved); absent for upscalers that do not say. */
  precision?: Precision;
  defaults: { steps: number; solver: string; noiseStep: number };
  /** A line about the model's measured quality (from the bundle's provenance), for the page. */
  quality?: string;
}

export interface Upscaler {
  upscale(input: UpscaleInput, ctx: RunContext): Promise<UpscaleOutput>;
  /** Known once the model is loaded; undefined for upscalers that cannot tell. */
  describe?(): ModelDescription | undefined;
  close(): Promise<void>;
}
