// Messages between the server and its upsampling worker threads.
import type { JobOptions } from './options.js';
import type { ModelDescription, OutputFormat } from './upscaler.js';
import type { PrecisionOption } from '../tensor/precision_names.js';

export interface WorkerConfig {
  model?: string | string[];
  threads?: number;
  precision?: PrecisionOption;
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: string;
  maxPixels: number;
  /** Bytes one job may add to what the process holds when it starts (the server's budget / concurrency; tiles are chosen to fit it). */
  jobMemory?: number;
}

export type ToWorker =
  | { type: 'run'; id: number; image: ArrayBuffer; options: JobOptions; name: string }
  | { type: 'cancel'; id: number }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; model: ModelDescription }
  | { type: 'load-error'; message: string }
  | { type: 'progress'; id: number; stage: string; step: number; total: number; fraction: number }
  | { type: 'done'; id: number; encoded: ArrayBuffer; format: OutputFormat; width: number; height: number; info: Record<string, unknown> }
  | { type: 'error'; id: number; name: string; message: string; aborted: boolean };
