// Precomputed latents: safetensors shards plus a manifest JSON. Each shard holds, per key, one
// tensor whose first dim runs over the shard's items (latent [N, 4, h, w], latent_lowres
// [N, 4, h, w] for PSU, optionally image [N, 3, H, W] as uint8 or float). Stored latents are the
// *unscaled* VAE posterior means (the trainer multiplies by scale_factor). One item is read by its
// byte range straight into native memory, so shards are never loaded whole.
import { closeSync, openSync, readFileSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readSafetensorsHeader, writeSafetensors, type SafetensorsHeader } from '../../io/safetensors.js';
import { native } from '../../tensor/native.js';
import { BYTES, dtypeCode, type DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { stack } from '../../tensor/creation.js';
import { keep } from '../../tensor/scope.js';
import { DataSourceError } from '../errors.js';
import { checkIndex, SkipLog, type DataSource, type SkippedItem, type SourceItem } from './types.js';

export const LATENT_MANIFEST_FORMAT = 'fmboost-latents';

export interface LatentManifest {
  format: typeof LATENT_MANIFEST_FORMAT;
  version: 1;
  /** Tensor names present in every shard (e.g. ["latent", "latent_lowres"]). */
  keys: string[];
  shards: { file: string; count: number; ids?: string[] }[];
  /** Free-form provenance: image_size, low_res_size, upsampling ('psu'), vae, scale_factor... */
  info?: Record<string, unknown>;
}

interface ShardInfo { path: string; count: number; ids?: string[]; header: SafetensorsHeader }

export class LatentShardSource implements DataSource {
  readonly name: string;
  readonly manifest: LatentManifest;
  private readonly shards: ShardInfo[] = [];
  private readonly starts: number[] = [];
  private readonly itemShape = new Map<string, { dtype: DType; shape: number[]; bytes: number }>();
  private readonly log = new SkipLog();
  private total = 0;

  constructor(manifestPath: string) {
    this.name = `latents:${manifestPath}`;
    let m: LatentManifest;
    try { m = JSON.parse(readFileSync(manifestPath, 'utf8')); } catch (e) { throw new DataSourceError(manifestPath, `cannot read manifest: ${(e as Error).message}`); }
    if (m?.format !== LATENT_MANIFEST_FORMAT || m.version !== 1) throw new DataSourceError(manifestPath, `not a ${LATENT_MANIFEST_FORMAT} v1 manifest (format ${JSON.stringify(m?.format)}, version ${JSON.stringify(m?.version)})`);
    if (!Array.isArray(m.keys) || !m.keys.length || !Array.isArray(m.shards)) throw new DataSourceError(manifestPath, 'manifest needs non-empty "keys" and a "shards" list');
    this.manifest = m;
    const dir = dirname(resolve(manifestPath));
    for (const s of m.shards) {
      const path = resolve(dir, s.file);
      const header = readSafetensorsHeader(path);
      for (const k of m.keys) {
        const e = header.tensors.get(k);
        if (!e) throw new DataSourceError(path, `shard has no tensor '${k}' (manifest keys: ${m.keys.join(', ')})`);
        if (e.shape[0] !== s.count) throw new DataSourceError(path, `'${k}' has ${e.shape[0]} items but the manifest says ${s.count}`);
        const shape = e.shape.slice(1);
        const bytes = shape.reduce((a, x) => a * x, 1) * BYTES[e.dtype];
        const prev = this.itemShape.get(k);
        if (prev && (prev.dtype !== e.dtype || prev.shape.join() !== shape.join())) {
          throw new DataSourceError(path, `'${k}' is ${e.dtype}[${shape}] per item here but ${prev.dtype}[${prev.shape}] in earlier shards`);
        }
        this.itemShape.set(k, { dtype: e.dtype, shape, bytes });
      }
      if (s.ids && s.ids.length !== s.count) throw new DataSourceError(path, `manifest lists ${s.ids.length} ids for ${s.count} items`);
      this.starts.push(this.total);
      this.shards.push({ path, count: s.count, ids: s.ids, header });
      this.total += s.count;
    }
  }

  get length(): number { return this.total; }
  get skipped(): SkippedItem[] { return this.log.list; }
  reportSkip(s: SkippedItem): void { this.log.add(s); }
  get keys(): string[] { return this.manifest.keys; }

  private locate(i: number): [ShardInfo, number] {
    let lo = 0, hi = this.starts.length - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (this.starts[mid] <= i) lo = mid; else hi = mid - 1; }
    return [this.shards[lo], i - this.starts[lo]];
  }

  /** Item i's tensors (unbatched). A uint8 `image` is converted to float32 in [-1, 1]. */
  item(i: number): SourceItem {
    checkIndex(this, i);
    const [sh, j] = this.locate(i);
    const tensors: Record<string, Tensor> = {};
    const fd = openSync(sh.path, 'r');
    try {
      for (const k of this.manifest.keys) {
        const e = sh.header.tensors.get(k)!;
        const s = this.itemShape.get(k)!;
        const t = Tensor.fromHandle(native.readFile(fd, sh.header.dataStart + e.dataOffsets[0] + j * s.bytes, dtypeCode(s.dtype), s.shape));
        if (k === 'image' && s.dtype === 'uint8') {
          const f = t.to('float32'); t.dispose();
          const a = f.div(255); f.dispose();
          const b = a.sub(0.5); a.dispose();
          tensors[k] = b.div(0.5); b.dispose();
        } else tensors[k] = t;
      }
    } catch (e) {
      for (const t of Object.values(tensors)) t.dispose();
      throw e;
    } finally {
      closeSync(fd);
    }
    return { key: sh.ids?.[j] ?? String(i), tensors };
  }
}

/**
 * Writes latent shards and their manifest: add() items one by one (tensors without the batch dim);
 * every `shardSize` items a shard is written; finish() writes the last shard and the manifest.
 */
export class LatentShardWriter {
  private pending: { id: string; tensors: Record<string, Tensor> }[] = [];
  private readonly shards: LatentManifest['shards'] = [];
  private keys: string[] | undefined;

  constructor(readonly dir: string, readonly shardSize = 1024, readonly info: Record<string, unknown> = {}) {
    if (!(shardSize >= 1)) throw new RangeError(`LatentShardWriter: shardSize must be ≥ 1, got ${shardSize}`);
    mkdirSync(dir, { recursive: true });
  }

  /** Copies the tensors (the caller keeps ownership of its own; the copies are exempt from tidy scopes). */
  add(id: string, tensors: Record<string, Tensor>): void {
    const keys = Object.keys(tensors).sort();
    if (!this.keys) this.keys = keys;
    else if (keys.join() !== this.keys.join()) throw new DataSourceError(this.dir, `item '${id}' has keys [${keys}] but earlier items have [${this.keys}]`);
    const own: Record<string, Tensor> = {};
    for (const k of keys) { const d = tensors[k].detach(); own[k] = keep(d.clone()); d.dispose(); }
    this.pending.push({ id, tensors: own });
    if (this.pending.length >= this.shardSize) this.flush();
  }

  private flush(): void {
    if (!this.pending.length) return;
    const file = `shard-${String(this.shards.length).padStart(5, '0')}.safetensors`;
    const out: Record<string, Tensor> = {};
    try {
      for (const k of this.keys!) out[k] = stack(this.pending.map((p) => p.tensors[k]));
      writeSafetensors(join(this.dir, file), out);
    } finally {
      for (const t of Object.values(out)) t.dispose();
    }
    this.shards.push({ file, count: this.pending.length, ids: this.pending.map((p) => p.id) });
    for (const p of this.pending) for (const t of Object.values(p.tensors)) t.dispose();
    this.pending = [];
  }

  /** Writes the remaining items and manifest.json (atomically); returns the manifest path. */
  finish(): string {
    this.flush();
    const m: LatentManifest = { format: LATENT_MANIFEST_FORMAT, version: 1, keys: this.keys ?? [], shards: this.shards, info: this.info };
    const path = join(this.dir, 'manifest.json');
    writeFileSync(`${path}.tmp`, JSON.stringify(m, null, 1));
    renameSync(`${path}.tmp`, path);
    return path;
  }
}
