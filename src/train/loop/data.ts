// Training data from the config: the configured sources opened and joined, a seeded held-out split
// for validation, and the loaders (train: shuffled, augmented, resumable; validation: fixed order).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataLoader, DataSourceError, ImageFolderSource, LatentShardSource, Rng, TarShardSource } from '../../data/index.js';
import type { AugmentSpec, DataSource, SkippedItem, SourceItem } from '../../data/index.js';
import type { DataOptions } from '../config/index.js';

/** Several sources as one (indices run through them in order). */
export class ConcatSource implements DataSource {
  readonly name: string;
  private readonly starts: number[] = [];
  readonly length: number;
  constructor(readonly parts: DataSource[]) {
    if (!parts.length) throw new DataSourceError('data', 'no sources');
    this.name = parts.length === 1 ? parts[0].name : parts.map((p) => p.name).join(' + ');
    let n = 0;
    for (const p of parts) { this.starts.push(n); n += p.length; }
    this.length = n;
  }
  private locate(i: number): [DataSource, number] {
    let k = this.parts.length - 1;
    while (this.starts[k] > i) k--;
    return [this.parts[k], i - this.starts[k]];
  }
  item(i: number): SourceItem {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new RangeError(`${this.name}: item index ${i} out of range [0, ${this.length})`);
    const [s, j] = this.locate(i);
    return s.item(j);
  }
  get skipped(): SkippedItem[] { return this.parts.flatMap((p) => p.skipped); }
  reportSkip(s: SkippedItem): void {
    const [src] = s.index !== undefined && s.index < this.length ? this.locate(s.index) : [this.parts[0]];
    src.reportSkip(s);
  }
}

/** Some items of a source, by index (skips are reported to the base source). */
export class SubsetSource implements DataSource {
  readonly name: string;
  constructor(readonly base: DataSource, readonly indices: number[], label: string) {
    this.name = `${base.name} [${label}]`;
  }
  get length(): number { return this.indices.length; }
  item(i: number): SourceItem {
    if (!Number.isInteger(i) || i < 0 || i >= this.indices.length) throw new RangeError(`${this.name}: item index ${i} out of range [0, ${this.indices.length})`);
    return this.base.item(this.indices[i]);
  }
  get skipped(): SkippedItem[] { return this.base.skipped; }
  reportSkip(s: SkippedItem): void { this.base.reportSkip({ ...s, index: s.index === undefined ? undefined : this.indices[s.index] }); }
}

/** Opens one configured source. `latents`: a manifest.json or a folder holding one. */
export async function openSource(s: DataOptions['sources'][number]): Promise<DataSource> {
  if (s.type === 'images') return ImageFolderSource.open(s.path);
  if (s.type === 'tar') {
    const files = s.path.includes('*') ? globFiles(s.path) : [s.path];
    return new TarShardSource(files);
  }
  const manifest = existsSync(s.path) && statSync(s.path).isDirectory() ? join(s.path, 'manifest.json') : s.path;
  return new LatentShardSource(manifest);
}

/** `dir/prefix-*.tar` → matching files, sorted (one `*` in the file name). */
function globFiles(pattern: string): string[] {
  const slash = pattern.lastIndexOf('/');
  const dir = slash >= 0 ? pattern.slice(0, slash) || '/' : '.';
  const re = new RegExp('^' + pattern.slice(slash + 1).split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  const names = (existsSync(dir) && statSync(dir).isDirectory() ? readdirSync(dir) : []).filter((n) => re.test(n)).sort();
  if (!names.length) throw new DataSourceError(pattern, 'no files match');
  return names.map((n) => join(dir, n));
}

export async function openSources(d: DataOptions): Promise<DataSource> {
  if (!d.sources.length) throw new DataSourceError('data.sources', 'no data sources configured (e.g. data.sources=[{type: images, path: ./photos}])');
  const parts: DataSource[] = [];
  for (const s of d.sources) parts.push(await openSource(s));
  return parts.length === 1 ? parts[0] : new ConcatSource(parts);
}

export interface Split { train: DataSource; val: DataSource | null }

/**
 * Held-out items: a seeded random ⌈n·val_split⌉ of the items (at least one when val_split > 0, and
 * never all). Both subsets keep the source order.
 */
export function splitSource(src: DataSource, valSplit: number, seed: number): Split {
  if (valSplit <= 0) return { train: src, val: null };
  const n = src.length;
  const nVal = Math.min(n - 1, Math.max(1, Math.ceil(n * valSplit)));
  if (nVal <= 0) return { train: src, val: null };
  const perm = new Rng(seed, 0x7a1).permutation(n);
  const isVal = new Uint8Array(n);
  for (let i = 0; i < nVal; i++) isVal[perm[i]] = 1;
  const tr: number[] = [], va: number[] = [];
  for (let i = 0; i < n; i++) (isVal[i] ? va : tr).push(i);
  return { train: new SubsetSource(src, tr, 'train'), val: new SubsetSource(src, va, 'val') };
}

/** Augmentation of training images: shorter side to resize_shorter (default image_size), crop image_size, optional flip. */
export function trainAugment(d: DataOptions): AugmentSpec {
  return { resizeShorter: d.resize_shorter ?? d.image_size, resizeKernel: 'lanczos3', crop: d.image_size, cropMode: d.random_crop ? 'random' : 'center', hflip: d.random_flip ? 0.5 : 0 };
}

/** Validation: the training augmentation, deterministic (center crop, no flip). */
export function valAugment(d: DataOptions): AugmentSpec {
  return { ...trainAugment(d), cropMode: 'center', hflip: 0 };
}

/** `shard`: a data-parallel rank's strided share of every epoch (DataLoader's LoaderOptions.shard). */
export function trainLoader(src: DataSource, d: DataOptions, seed: number, shard?: { rank: number; worldSize: number }): DataLoader {
  return new DataLoader(src, { batchSize: d.batch_size, shuffle: true, seed, dropLast: true, numWorkers: d.workers, augment: trainAugment(d), shard });
}

export function valLoader(src: DataSource, d: DataOptions): DataLoader {
  return new DataLoader(src, { batchSize: d.batch_size, shuffle: false, dropLast: false, numWorkers: 0, augment: valAugment(d) });
}
