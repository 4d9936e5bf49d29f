// Batches from a DataSource: a seeded shuffle per epoch, a resumable position (epoch, index), and
// image decoding + augmentation in a worker pool with prefetch, so a training step does not wait
// on JPEG decoding. Items that fail to decode are skipped (reported on the source); a batch is
// always the next `batchSize` good items in permutation order, so resuming from a saved state gives
// exactly the batches an uninterrupted run would have given.
//
// Data-parallel (`shard`): every rank computes the same permutation and rank r of W takes the
// positions ≡ r (mod W), as torch's DistributedSampler; an epoch uses ⌊n/W⌋·W positions, so every rank
// has as many items. The saved position is global (the next step's first position), so a run resumes
// on any world size; it is exact when no item was skipped (ranks that skip drift by their skips).
import os from 'node:os';
import { Tensor } from '../tensor/tensor.js';
import { tensor, stack } from '../tensor/creation.js';
import { keep } from '../tensor/scope.js';
import { DataSourceError } from './errors.js';
import { DecodePool } from './decode_pool.js';
import type { AugmentSpec, DecodeResult } from './decode_task.js';
import { Rng } from './rng.js';
import type { DataSource } from './sources/types.js';

export interface LoaderOptions {
  batchSize: number;
  /** Shuffle each epoch (default true) with a permutation drawn from (seed, epoch). */
  shuffle?: boolean;
  seed?: number;
  /** Drop the last incomplete batch of an epoch (default true, as for training). */
  dropLast?: boolean;
  /** Decode worker threads (default: cores − 1, at least 1; 0 decodes on the main thread). */
  numWorkers?: number;
  /** Batches decoded ahead (default 2). */
  prefetch?: number;
  /** Image augmentation, run in the workers. Random draws depend only on (seed, epoch, item). */
  augment?: AugmentSpec;
  maxPixels?: number;
  /** Data-parallel: this rank's share of every epoch (default: the whole epoch). */
  shard?: { rank: number; worldSize: number };
}

/** Where the next batch starts: exact resume needs this and the options. */
export interface LoaderState { epoch: number; index: number; seed: number; length: number }

export interface Batch {
  keys: string[];
  /** Source item indices. */
  indices: number[];
  /** [B, 3, H, W] in [-1, 1], when the items have images. */
  image?: Tensor;
  latent?: Tensor;
  latent_lowres?: Tensor;
  /** Every batched tensor by name (image, latent, latent_lowres, ...). */
  tensors: Record<string, Tensor>;
  json?: unknown[];
  epoch: number;
  /** The loader state right after this batch (save it with the checkpoint of this step). */
  state: LoaderState;
  /** Milliseconds next() waited for decoding to finish. */
  waitMs: number;
  dispose(): void;
}

interface Pending {
  epoch: number;
  pos: number;
  index: number;
  key: string;
  json?: unknown;
  tensors?: Record<string, Tensor>;
  decode?: Promise<DecodeResult>;
  error?: string;
}

type ItemOut = { p: Pending; image?: DecodeResult & { ok: true } };

export class DataLoader {
  readonly batchSize: number;
  private readonly pool: DecodePool;
  private readonly opts: Required<Pick<LoaderOptions, 'shuffle' | 'seed' | 'dropLast' | 'prefetch'>> & LoaderOptions;
  private epoch = 0;
  private pos = 0;
  /** Scheduling cursor (ahead of epoch/pos by the prefetch window). */
  private schedEpoch = 0;
  private schedPos = 0;
  private queue: Pending[] = [];
  private perms = new Map<number, Uint32Array>();
  private busy = false;
  private readonly rank: number;
  private readonly world: number;
  /** Positions an epoch uses: ⌊n/W⌋·W. */
  private readonly limit: number;
  /** Per-batch wait times (ms), most recent last. */
  readonly waits: number[] = [];

  constructor(readonly source: DataSource, opts: LoaderOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new RangeError(`DataLoader: batchSize must be a positive integer, got ${opts.batchSize}`);
    if (source.length === 0) throw new DataSourceError(source.name, 'has no items');
    this.batchSize = opts.batchSize;
    this.opts = { shuffle: true, seed: 0, dropLast: true, prefetch: 2, ...opts };
    if (this.opts.dropLast && source.length < this.batchSize) throw new DataSourceError(source.name, `${source.length} items cannot fill one batch of ${this.batchSize} with dropLast`);
    this.rank = opts.shard?.rank ?? 0;
    this.world = opts.shard?.worldSize ?? 1;
    if (!(Number.isInteger(this.world) && this.world >= 1 && Number.isInteger(this.rank) && this.rank >= 0 && this.rank < this.world)) throw new RangeError(`DataLoader: shard rank ${this.rank} of world size ${this.world}`);
    this.limit = Math.floor(source.length / this.world) * this.world;
    if (this.opts.dropLast && this.limit / this.world < this.batchSize) throw new DataSourceError(source.name, `${source.length} items give each of ${this.world} ranks ${this.limit / this.world}, fewer than one batch of ${this.batchSize}`);
    this.epoch = this.schedEpoch = 0;
    this.pos = this.schedPos = this.rank;
    this.pool = new DecodePool(opts.numWorkers ?? Math.max(1, os.availableParallelism() - 1));
  }

  state(): LoaderState {
    return { epoch: this.epoch, index: this.pos - this.rank, seed: this.opts.seed, length: this.source.length };
  }

  /** Continue from a saved state (same source and options). Prefetched work is dropped. */
  loadState(s: LoaderState): void {
    if (s.seed !== this.opts.seed) throw new RangeError(`DataLoader.loadState: state was saved with seed ${s.seed}, this loader has seed ${this.opts.seed}`);
    if (s.length !== this.source.length) throw new RangeError(`DataLoader.loadState: state was saved for ${s.length} items, the source has ${this.source.length}`);
    if (!(Number.isInteger(s.epoch) && s.epoch >= 0 && Number.isInteger(s.index) && s.index >= 0 && s.index <= s.length)) throw new RangeError(`DataLoader.loadState: bad position epoch ${s.epoch}, index ${s.index}`);
    this.dropQueue();
    this.epoch = this.schedEpoch = s.epoch;
    // this rank's first position at or after the saved global one
    this.pos = this.schedPos = s.index + ((((this.rank - s.index) % this.world) + this.world) % this.world);
    this.normalize();
  }

  /** Mean wait per batch so far (ms). */
  get meanWaitMs(): number {
    return this.waits.length ? this.waits.reduce((a, b) => a + b, 0) / this.waits.length : 0;
  }

  private normalize(): void {
    if (this.pos >= this.limit) { this.epoch++; this.pos = this.rank; }
    if (this.schedPos >= this.limit) { this.schedEpoch++; this.schedPos = this.rank; }
  }

  private perm(epoch: number): Uint32Array | null {
    if (!this.opts.shuffle) return null;
    let p = this.perms.get(epoch);
    if (!p) {
      p = new Rng(this.opts.seed, epoch, 0x5eed).permutation(this.source.length);
      this.perms.set(epoch, p);
      for (const e of this.perms.keys()) if (e < epoch - 1) this.perms.delete(e);
    }
    return p;
  }

  private schedule(): void {
    const window = this.opts.prefetch * this.batchSize + this.batchSize;
    while (this.queue.length < window) {
      const epoch = this.schedEpoch, pos = this.schedPos;
      const perm = this.perm(epoch);
      const index = perm ? perm[pos] : pos;
      const p: Pending = { epoch, pos, index, key: String(index) };
      try {
        const it = this.source.item(index);
        p.key = it.key;
        p.json = it.json;
        if (it.tensors) { for (const t of Object.values(it.tensors)) keep(t); p.tensors = it.tensors; }
        if (it.image) {
          if (it.tensors?.image) throw new DataSourceError(this.source.name, `item ${it.key} has both an image file and an image tensor`);
          p.decode = this.pool.run({ ref: it.image, aug: this.opts.augment ?? {}, maxPixels: this.opts.maxPixels, rngKeys: [this.opts.seed, epoch, index] });
          p.decode.catch(() => undefined); // dropped prefetches must not become unhandled rejections
        }
      } catch (e) {
        if (!(e instanceof DataSourceError)) throw e;
        p.error = e.message;
      }
      this.queue.push(p);
      this.schedPos += this.world;
      this.normalize();
    }
  }

  private dropQueue(): void {
    for (const p of this.queue) if (p.tensors) for (const t of Object.values(p.tensors)) t.dispose();
    this.queue = [];
  }

  /** The next batch. The caller owns its tensors (they are exempt from tidy scopes): call dispose(). */
  async next(): Promise<Batch> {
    if (this.busy) throw new Error('DataLoader.next(): the previous next() has not finished (await it first)');
    this.busy = true;
    try {
      return await this.nextInner();
    } finally {
      this.busy = false;
    }
  }

  private async nextInner(): Promise<Batch> {
    let waitMs = 0;
    for (;;) {
      const epoch = this.epoch;
      const wholeEpoch = this.pos === this.rank;
      const got: ItemOut[] = [];
      while (got.length < this.batchSize) {
        this.schedule();
        const p = this.queue[0];
        if (p.epoch !== epoch) break; // epoch exhausted
        let res: DecodeResult | undefined;
        if (p.decode) {
          const t0 = performance.now();
          res = await p.decode;
          waitMs += performance.now() - t0;
        }
        this.queue.shift();
        this.pos = p.pos + this.world;
        this.normalize();
        if (p.error) { this.source.reportSkip({ name: p.key, reason: p.error, index: p.index }); continue; }
        if (res && !res.ok) {
          if (p.tensors) for (const t of Object.values(p.tensors)) t.dispose();
          this.source.reportSkip({ name: res.name, reason: res.reason, index: p.index });
          continue;
        }
        got.push({ p, image: res as (DecodeResult & { ok: true }) | undefined });
      }
      if (got.length === this.batchSize || (got.length > 0 && !this.opts.dropLast)) {
        this.waits.push(waitMs);
        return this.assemble(got, epoch, waitMs);
      }
      for (const g of got) if (g.p.tensors) for (const t of Object.values(g.p.tensors)) t.dispose();
      if (wholeEpoch) {
        throw new DataSourceError(this.source.name, `only ${got.length} usable items in a whole epoch, fewer than batchSize ${this.batchSize} (${this.source.skipped.length} skipped; see source.skipped)`);
      }
    }
  }

  private assemble(items: ItemOut[], epoch: number, waitMs: number): Batch {
    const tensors: Record<string, Tensor> = {};
    try {
      if (items[0].image) {
        const { height, width } = items[0].image;
        const n = 3 * height * width;
        const buf = new Float32Array(items.length * n);
        items.forEach((it, b) => {
          const im = it.image;
          if (!im) throw new DataSourceError(this.source.name, `item ${it.p.key} has no image but item ${items[0].p.key} has one`);
          if (im.height !== height || im.width !== width) {
            throw new DataSourceError(this.source.name, `images in one batch differ in size: ${items[0].p.key} is ${height}x${width}, ${it.p.key} is ${im.height}x${im.width} (set augment.crop)`);
          }
          buf.set(im.data, b * n);
        });
        tensors.image = keep(tensor(buf, { shape: [items.length, 3, height, width] }));
      }
      const names = Object.keys(items[0].p.tensors ?? {});
      for (const k of names) {
        const parts = items.map((it) => {
          const t = it.p.tensors?.[k];
          if (!t) throw new DataSourceError(this.source.name, `item ${it.p.key} has no '${k}'`);
          return t;
        });
        tensors[k] = keep(stack(parts));
      }
    } catch (e) {
      for (const t of Object.values(tensors)) t.dispose();
      throw e;
    } finally {
      for (const it of items) if (it.p.tensors) for (const t of Object.values(it.p.tensors)) t.dispose();
    }
    const json = items.some((it) => it.p.json !== undefined) ? items.map((it) => it.p.json) : undefined;
    return {
      keys: items.map((it) => it.p.key),
      indices: items.map((it) => it.p.index),
      image: tensors.image,
      latent: tensors.latent,
      latent_lowres: tensors.latent_lowres,
      tensors,
      json,
      epoch,
      state: this.state(),
      waitMs,
      dispose: () => { for (const t of Object.values(tensors)) if (!t.isDisposed) t.dispose(); },
    };
  }

  /** Endless batches (across epochs). */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    for (;;) yield await this.next();
  }

  /** Stops the workers and frees prefetched tensors. */
  async close(): Promise<void> {
    this.dropQueue();
    await this.pool.close();
  }
}
