// Latent precomputation (`fmboost precompute`): every image once through the VAE encoder —
// `latent` = posterior mean of the high-res crop, `latent_lowres` = posterior mean of its PSU image
// (bilinear down to low_res_size without antialias, bilinear back up in pixel space), both unscaled
// (the trainer multiplies by scale_factor) — written as latent shards + manifest.json in the format
// of src/data LatentShardSource (LATENT_MANIFEST_FORMAT).
//
// Resumable at shard granularity: the manifest is rewritten (atomically) after every shard with the
// shards done so far, so it is always valid; a second run with the same settings skips the items
// whose ids are listed and continues with the next shard number. (LatentShardWriter writes the
// manifest only at the end, hence this writer.)
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldNow } from 'node:timers/promises';
import { DataLoader, DataSourceError, LATENT_MANIFEST_FORMAT, degrade, type DataSource, type LatentManifest } from '../data/index.js';
import { readSafetensors, writeSafetensors } from '../io/index.js';
import type { AutoencoderKL } from '../models/index.js';
import { keep, noGrad, stack, tidy, type Tensor } from '../tensor/index.js';
import { formatDuration } from './log/progress.js';
import { SubsetSource } from './loop/data.js';
import { psuImage } from '../flow/index.js';

export class PrecomputeError extends Error {
  override name = 'PrecomputeError';
}

export interface PrecomputeOptions {
  source: DataSource;
  vae: AutoencoderKL;
  /** Description of the VAE weights (stored in the manifest; a resume must use the same). */
  vaeName: string;
  outDir: string;
  imageSize: number;
  lowResSize: number;
  batchSize?: number;
  shardSize?: number;
  workers?: number;
  out?: { write(s: string): unknown };
  /** Progress line every n batches (default 10). */
  every?: number;
  signal?: AbortSignal;
}

export interface PrecomputeResult {
  manifest: string;
  /** Items encoded by this run. */
  encoded: number;
  /** Items found already done (resume). */
  alreadyDone: number;
  skipped: { name: string; reason: string }[];
  shards: number;
  complete: boolean;
}

/** Mean and standard deviation of every high-res latent element over all shards (float64 sums). */
export function latentStats(dir: string, shards: LatentManifest['shards']): { mean: number; std: number; count: number } {
  let n = 0, sum = 0, sq = 0;
  for (const sh of shards) {
    const { tensors } = readSafetensors(join(dir, sh.file));
    try {
      const t = tensors.get('latent');
      if (!t) throw new PrecomputeError(`${sh.file} has no 'latent' tensor`);
      const v = t.toFloat32Array();
      for (let i = 0; i < v.length; i++) { sum += v[i]; sq += v[i] * v[i]; }
      n += v.length;
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }
  const mean = sum / n;
  return { mean, std: Math.sqrt(Math.max(sq / n - mean * mean, 0)), count: n };
}

interface Pending { id: string; latent: Tensor; lowres: Tensor }

export async function precomputeLatents(o: PrecomputeOptions): Promise<PrecomputeResult> {
  const out = o.out ?? process.stderr;
  const bs = o.batchSize ?? 8;
  const shardSize = o.shardSize ?? 1024;
  if (!(Number.isInteger(shardSize) && shardSize >= 1)) throw new PrecomputeError(`shard size must be an integer ≥ 1, got ${shardSize}`);
  if (o.source.length === 0) throw new PrecomputeError(`the source holds no images${o.source.skipped.length ? ` (${o.source.skipped.length} unreadable)` : ''}: nothing to precompute`);
  if (o.imageSize % o.vae.downFactor || o.lowResSize >= o.imageSize) throw new PrecomputeError(`image size ${o.imageSize} must be a multiple of ${o.vae.downFactor} and larger than the low-res size ${o.lowResSize}`);
  mkdirSync(o.outDir, { recursive: true });
  const manifestPath = join(o.outDir, 'manifest.json');
  const info: Record<string, unknown> = {
    image_size: o.imageSize, low_res_size: o.lowResSize, upsampling: 'psu', vae: o.vaeName, scale_factor: o.vae.scaleFactor,
    posterior: 'mean (unscaled)', source: o.source.name,
  };
  const shards: LatentManifest['shards'] = [];
  const done = new Set<string>();
  if (existsSync(manifestPath)) {
    let m: LatentManifest;
    try { m = JSON.parse(readFileSync(manifestPath, 'utf8')); } catch (e) { throw new PrecomputeError(`${manifestPath}: unreadable manifest (${(e as Error).message}); remove it or use another --out`); }
    if (m.format !== LATENT_MANIFEST_FORMAT) throw new PrecomputeError(`${manifestPath} is not a latent manifest`);
    for (const k of ['image_size', 'low_res_size', 'vae'] as const) {
      if (m.info?.[k] !== info[k]) throw new PrecomputeError(`${o.outDir} was made with ${k} = ${JSON.stringify(m.info?.[k])}, this run has ${JSON.stringify(info[k])}: use another --out folder`);
    }
    for (const s of m.shards) { shards.push(s); for (const id of s.ids ?? []) done.add(id); }
  }
  const todo: number[] = [];
  for (let i = 0; i < o.source.length; i++) if (!done.has(o.source.item(i).key)) todo.push(i);
  const alreadyDone = o.source.length - todo.length;
  if (alreadyDone) out.write(`precompute: resuming: ${alreadyDone} items already in ${shards.length} shard(s), ${todo.length} to go\n`);

  const writeManifest = (complete: boolean) => {
    const m: LatentManifest = { format: LATENT_MANIFEST_FORMAT, version: 1, keys: ['latent', 'latent_lowres'], shards, info: { ...info, complete, skipped: o.source.skipped.length } };
    const tmp = `${manifestPath}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(m, null, 1));
    renameSync(tmp, manifestPath);
  };

  let pending: Pending[] = [];
  const flush = () => {
    if (!pending.length) return;
    const file = `shard-${String(shards.length).padStart(5, '0')}.safetensors`;
    const t = tidy(() => ({ latent: stack(pending.map((p) => p.latent)), latent_lowres: stack(pending.map((p) => p.lowres)) }));
    try {
      writeSafetensors(join(o.outDir, file), t);
    } finally {
      t.latent.dispose(); t.latent_lowres.dispose();
    }
    shards.push({ file, count: pending.length, ids: pending.map((p) => p.id) });
    for (const p of pending) { p.latent.dispose(); p.lowres.dispose(); }
    pending = [];
    writeManifest(false);
  };

  let encoded = 0;
  const t0 = performance.now();
  if (todo.length) {
    const sub = new SubsetSource(o.source, todo, 'todo');
    const loader = new DataLoader(sub, {
      batchSize: bs, shuffle: false, dropLast: false, numWorkers: o.workers,
      augment: { resizeShorter: o.imageSize, resizeKernel: 'lanczos3', crop: o.imageSize, cropMode: 'center' },
    });
    try {
      let nb = 0;
      for (;;) {
        if (o.signal?.aborted) break;
        let batch;
        try {
          batch = await loader.next();
        } catch (e) {
          // every remaining item failed to decode
          if (e instanceof DataSourceError && /usable items in a whole epoch/.test(e.message)) break;
          throw e;
        }
        try {
          if (batch.epoch > 0) break; // wrapped around: all items seen
          const img = batch.image;
          if (!img) throw new PrecomputeError(`${o.source.name} has no images to encode (items hold ${Object.keys(batch.tensors).join(', ') || 'nothing'})`);
          const { latent, lowres } = noGrad(() => tidy(() => {
            const enc = (x: Tensor) => { const post = o.vae.encode(x); try { return post.mean.clone(); } finally { post.dispose(); } };
            const psu = psuImage(degrade(img, [o.lowResSize, o.lowResSize], 'bilinear'), [img.shape[2], img.shape[3]]);
            return { latent: enc(img), lowres: enc(psu) };
          }));
          try {
            for (let i = 0; i < batch.keys.length; i++) {
              pending.push({ id: batch.keys[i], latent: keep(latent.select(0, i).clone()), lowres: keep(lowres.select(0, i).clone()) });
              if (pending.length >= shardSize) flush();
            }
          } finally {
            latent.dispose(); lowres.dispose();
          }
          encoded += batch.keys.length;
          nb++;
          if (nb % (o.every ?? 10) === 0) {
            const sec = (performance.now() - t0) / 1000;
            const rate = encoded / sec;
            const left = todo.length - encoded - sub.skipped.length;
            out.write(`precompute: ${alreadyDone + encoded}/${o.source.length} items, ${o.source.skipped.length} skipped, ${rate.toFixed(1)} items/s, eta ${formatDuration(left / rate)}\n`);
          }
          if (batch.state.epoch > 0) break; // that was the last batch
        } finally {
          batch.dispose();
        }
        await yieldNow();
      }
    } finally {
      await loader.close();
    }
  }
  flush();
  const complete = !o.signal?.aborted;
  if (complete && shards.length) {
    // LDM's scale_by_std: the flow sees latent × scale_factor with unit variance when scale_factor = 1/std.
    const s = latentStats(o.outDir, shards);
    Object.assign(info, { latent_mean: s.mean, latent_std: s.std, suggested_scale_factor: 1 / s.std });
    out.write(`precompute: latents mean ${s.mean.toFixed(4)}, std ${s.std.toFixed(4)} → suggested model.flow.scale_factor = ${(1 / s.std).toFixed(5)}\n`);
  }
  writeManifest(complete);
  const skipped = o.source.skipped.map((s) => ({ name: s.name, reason: s.reason }));
  for (const s of skipped.slice(0, 20)) out.write(`precompute: skipped ${s.name}: ${s.reason}\n`);
  out.write(`precompute: ${complete ? 'done' : 'stopped'}: ${encoded} encoded now, ${alreadyDone} already done, ${skipped.length} skipped (unreadable), ${shards.length} shard(s) in ${manifestPath} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  return { manifest: manifestPath, encoded, alreadyDone, skipped, shards: shards.length, complete };
}
