// DataLoader: worker decoding equals inline decoding, exact resume, epochs, skipped files,
// latent batches, prefetch hides decode time.
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randn, Generator, tidy, liveTensors } from '../../src/index.js';
import {
  DataLoader, ImageFolderSource, LatentShardSource, LatentShardWriter, encodeImageU8, readImage, centerCrop,
  type Batch, type LoaderOptions, type DataSource,
} from '../../src/data/index.js';
import { syntheticRgb, tempDir } from './util.js';

interface Snap { keys: string[]; epoch: number; data: Float32Array }

async function take(loader: DataLoader, n: number): Promise<Snap[]> {
  const out: Snap[] = [];
  for (let i = 0; i < n; i++) {
    const b: Batch = await loader.next();
    out.push({ keys: b.keys, epoch: b.epoch, data: (b.image ?? b.latent)!.toFloat32Array() });
    b.dispose();
  }
  return out;
}

function sameSnaps(a: Snap[], b: Snap[], msg: string): void {
  assert.equal(a.length, b.length, msg);
  for (let i = 0; i < a.length; i++) {
    assert.deepEqual(a[i].keys, b[i].keys, `${msg}: batch ${i} keys`);
    assert.equal(a[i].epoch, b[i].epoch, `${msg}: batch ${i} epoch`);
    assert.ok(Buffer.from(a[i].data.buffer).equals(Buffer.from(b[i].data.buffer)), `${msg}: batch ${i} pixels differ`);
  }
}

/** 23 images of varying size (≥ 40×44) and one truncated PNG with a valid header. */
async function makeFolder(dir: string): Promise<string> {
  for (let i = 0; i < 23; i++) {
    const h = 40 + (i % 3) * 4, w = 44 + (i % 5) * 2;
    const fmt = i % 4 === 3 ? 'jpeg' : 'png';
    writeFileSync(join(dir, `img${String(i).padStart(2, '0')}.${fmt === 'jpeg' ? 'jpg' : 'png'}`), await encodeImageU8(syntheticRgb(h, w, i), h, w, { format: fmt }));
  }
  const full = await encodeImageU8(syntheticRgb(40, 44, 99), 40, 44);
  const bad = join(dir, 'img07b.png');
  writeFileSync(bad, full.subarray(0, full.length - 200));
  return bad;
}

const OPTS: LoaderOptions = { batchSize: 4, seed: 7, augment: { crop: 32, hflip: 0.5 }, prefetch: 2 };

test('worker decoding equals inline decoding; resume from a saved state continues exactly; bad file skipped', async () => {
  const { dir, cleanup } = tempDir();
  const before = liveTensors();
  try {
    const bad = await makeFolder(dir);
    const src = await ImageFolderSource.open(dir);
    assert.equal(src.length, 24, 'the truncated file passes the header check');

    // 23 good items per epoch → 5 batches of 4 (3 dropped); 12 batches span 3 epochs
    const full = new DataLoader(src, { ...OPTS, numWorkers: 2 });
    const ref = await take(full, 12);
    await full.close();
    assert.deepEqual(ref.map((s) => s.epoch), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2]);
    assert.equal(ref[0].data.length, 4 * 3 * 32 * 32);
    assert.ok(src.skipped.some((s) => s.name === bad && /end of stream|truncated|premature/i.test(s.reason)), JSON.stringify(src.skipped));
    assert.equal(src.skipped.length, 1);
    for (const e of [0, 1]) {
      const keys = ref.filter((s) => s.epoch === e).flatMap((s) => s.keys);
      assert.equal(new Set(keys).size, 20, 'an item repeats within an epoch');
      assert.ok(!keys.includes('img07b'));
    }
    assert.notDeepEqual(ref[0].keys, ref[5].keys, 'epochs should be shuffled differently');

    const inline = new DataLoader(src, { ...OPTS, numWorkers: 0 });
    sameSnaps(await take(inline, 12), ref, 'inline vs workers');
    await inline.close();

    // interrupted after 4 batches, resumed in a new loader (new workers) from the saved state
    const first = new DataLoader(src, { ...OPTS, numWorkers: 1 });
    let state;
    for (let i = 0; i < 4; i++) { const b = await first.next(); state = b.state; b.dispose(); }
    await first.close();
    assert.deepEqual(state, first.state());
    const resumed = new DataLoader(src, { ...OPTS, numWorkers: 2 });
    resumed.loadState(JSON.parse(JSON.stringify(state)));
    sameSnaps(await take(resumed, 8), ref.slice(4), 'resumed vs uninterrupted');
    // loadState also rewinds a running loader
    resumed.loadState({ epoch: 1, index: 0, seed: 7, length: 24 });
    sameSnaps(await take(resumed, 2), ref.slice(5, 7), 'rewound to epoch 1');
    assert.throws(() => resumed.loadState({ epoch: 0, index: 0, seed: 8, length: 24 }), /seed/);
    await resumed.close();

    // a different seed gives a different order
    const other = new DataLoader(src, { ...OPTS, seed: 8, numWorkers: 0 });
    assert.notDeepEqual((await take(other, 1))[0].keys, ref[0].keys);
    await other.close();
  } finally { cleanup(); }
  assert.equal(liveTensors(), before, 'loader leaked tensors');
});

test('center-cropped, unshuffled batches equal readImage + centerCrop of each file', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await makeFolder(dir);
    const src = await ImageFolderSource.open(dir);
    const loader = new DataLoader(src, { batchSize: 3, shuffle: false, augment: { crop: [30, 36], cropMode: 'center' }, numWorkers: 2 });
    const b = await loader.next();
    assert.deepEqual(b.keys, ['img00', 'img01', 'img02']);
    assert.deepEqual(b.image!.shape, [3, 3, 30, 36]);
    for (let i = 0; i < 3; i++) {
      const full = await readImage(join(dir, `${b.keys[i]}.png`));
      tidy(() => assert.ok(centerCrop(full, [30, 36]).equal(b.image!.select(0, i)), `item ${b.keys[i]}`));
      full.dispose();
    }
    b.dispose();
    // mixed sizes without a crop: a clear error naming the items
    const raw = new DataLoader(src, { batchSize: 3, shuffle: false, numWorkers: 0 });
    await assert.rejects(raw.next(), /differ in size: img00 is 40x44, img01 is 44x46.*augment.crop/);
    await raw.close();
    await loader.close();
  } finally { cleanup(); }
});

test('latent shard loader: stacked batches, partial last batch without dropLast, exact resume', async () => {
  const { dir, cleanup } = tempDir();
  const before = liveTensors();
  try {
    const g = new Generator(11);
    const w = new LatentShardWriter(dir, 4);
    tidy(() => { for (let i = 0; i < 10; i++) w.add(`k${i}`, { latent: randn([4, 2, 3], { generator: g }), latent_lowres: randn([4, 2, 3], { generator: g }) }); });
    const src: DataSource = new LatentShardSource(w.finish());
    const loader = new DataLoader(src, { batchSize: 4, seed: 1, dropLast: false, numWorkers: 0 });
    const sizes: number[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const b = await loader.next();
      assert.deepEqual(b.latent!.shape.slice(1), [4, 2, 3]);
      assert.deepEqual(b.latent_lowres!.shape, b.latent!.shape);
      assert.equal(b.image, undefined);
      // each row is the stored item
      for (let r = 0; r < b.keys.length; r++) {
        const it = src.item(Number(b.keys[r].slice(1)));
        tidy(() => assert.ok(b.latent!.select(0, r).equal(it.tensors!.latent)));
        for (const t of Object.values(it.tensors!)) t.dispose();
        seen.add(b.keys[r]);
      }
      sizes.push(b.keys.length);
      b.dispose();
    }
    assert.deepEqual(sizes, [4, 4, 2]);
    assert.equal(seen.size, 10);
    const ref = await take(loader, 3);
    const again = new DataLoader(src, { batchSize: 4, seed: 1, dropLast: false, numWorkers: 0 });
    again.loadState({ epoch: 1, index: 0, seed: 1, length: 10 });
    sameSnaps(await take(again, 3), ref, 'latent resume');
    const pending = again.next();
    await assert.rejects(again.next(), /previous next\(\) has not finished/);
    (await pending).dispose();
    await loader.close();
    await again.close();
  } finally { cleanup(); }
  assert.equal(liveTensors(), before, 'latent loader leaked tensors');
});

test('prefetch: while the step runs, the next batches decode in the workers (wait ≈ 0)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await makeFolder(dir);
    const src = await ImageFolderSource.open(dir);
    const loader = new DataLoader(src, { ...OPTS, numWorkers: 2, prefetch: 2 });
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const b = await loader.next();
      waits.push(b.waitMs);
      b.dispose();
      await sleep(60); // a "training step"
    }
    assert.deepEqual(loader.waits, waits);
    assert.ok(waits.every((w) => w >= 0 && Number.isFinite(w)));
    const later = waits.slice(1);
    assert.ok(later.filter((w) => w < 5).length >= 4, `waits after the first batch: ${waits.map((w) => w.toFixed(2))}`);
    assert.ok(loader.meanWaitMs >= 0);
    await loader.close();
  } finally { cleanup(); }
});
