// What a data source hands the loader: per item, where the image bytes are (decoded later, off the
// main thread) and any ready tensors (latents). Indices are stable: a skipped item keeps its index.
import type { Tensor } from '../../tensor/tensor.js';

/** Where one image's encoded bytes live: a whole file, or a byte range inside a file (tar member). */
export interface ImageRef {
  path: string;
  offset?: number;
  length?: number;
  /** Display name for errors (file path, or shard.tar:member). */
  name: string;
}

export interface SourceItem {
  key: string;
  image?: ImageRef;
  /** Parsed sidecar JSON (tar `.json` members). */
  json?: unknown;
  /** Ready tensors, unbatched (e.g. latent [4, h, w], latent_lowres, image [3, H, W]); the caller owns them. */
  tensors?: Record<string, Tensor>;
}

export interface SkippedItem {
  /** File or member name. */
  name: string;
  reason: string;
  /** Item index, when the item was listed before it failed. */
  index?: number;
}

export interface DataSource {
  readonly name: string;
  readonly length: number;
  item(index: number): SourceItem;
  /** Items found unusable (listed at scan time or when decoding failed), with reasons. */
  readonly skipped: SkippedItem[];
  /** Records a failure found later (e.g. by the loader's decoder); deduplicated by name. */
  reportSkip(s: SkippedItem): void;
}

/** Shared skip bookkeeping. */
export class SkipLog {
  readonly list: SkippedItem[] = [];
  private seen = new Set<string>();
  add(s: SkippedItem): void {
    if (this.seen.has(s.name)) return;
    this.seen.add(s.name);
    this.list.push(s);
  }
}

export function checkIndex(src: { name: string; length: number }, i: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= src.length) throw new RangeError(`${src.name}: item index ${i} out of range [0, ${src.length})`);
}
