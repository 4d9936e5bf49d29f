// DataLoader: worker decoding equals inline decoding, exact resume, epochs, skipped files,
// latent batches, prefetch hides decode time.
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randn, Generator, tidy, liveTensors } from '../../src/tensor_library.js';
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

test('data-parallel shards: 2 ranks × batch 2 take exactly the items and pixels of 1 process × batch 4; state resumes on any world size', async () => {
  const { dir, cleanup } = tempDir();
  try {
    for (let i = 0; i < 21; i++) writeFileSync(join(dir, `s${String(i).padStart(2, '0')}.png`), await encodeImageU8(syntheticRgb(40, 44, i), 40, 44));
    const src = await ImageFolderSource.open(dir);
    const one = new DataLoader(src, { ...OPTS, numWorkers: 0 });
    const ref = await take(one, 8); // 21 items: 5 batches of 4 per epoch, into the second epoch
    const ranks = [0, 1].map((rank) => new DataLoader(src, { ...OPTS, batchSize: 2, numWorkers: 0, shard: { rank, worldSize: 2 } }));
    const per = await Promise.all(ranks.map((l) => take(l, 8)));
    for (let k = 0; k < 8; k++) {
      const [a, b] = [per[0][k], per[1][k]];
      assert.deepEqual([a.keys[0], b.keys[0], a.keys[1], b.keys[1]], ref[k].keys, `step ${k}: rank 0 takes global positions 0, 2; rank 1 takes 1, 3`);
      assert.equal(a.epoch, ref[k].epoch);
      const n = a.data.length / 2;
      const pix = [a.data.subarray(0, n), b.data.subarray(0, n), a.data.subarray(n), b.data.subarray(n)];
      for (let j = 0; j < 4; j++) assert.ok(Buffer.from(pix[j].slice().buffer).equals(Buffer.from(ref[k].data.slice(j * n, (j + 1) * n).buffer)), `step ${k} item ${j}: pixels (augmentation) differ`);
    }
    // the saved position is global: rank 0's state after 3 steps resumes a 1-process run at the global step 3
    const r0 = new DataLoader(src, { ...OPTS, batchSize: 2, numWorkers: 0, shard: { rank: 0, worldSize: 2 } });
    await take(r0, 3);
    const st = r0.state();
    assert.deepEqual(st, { ...st, epoch: 0, index: 12 });
    const resumed = new DataLoader(src, { ...OPTS, numWorkers: 0 });
    resumed.loadState(st);
    sameSnaps(await take(resumed, 5), ref.slice(3), 'world 2 → world 1 resume');
    const r1 = new DataLoader(src, { ...OPTS, batchSize: 2, numWorkers: 0, shard: { rank: 1, worldSize: 2 } });
    r1.loadState(one.state()); // world 1 after 8 steps → rank 1 of 2
    const next = await take(r1, 1);
    await one.next().then((b) => { assert.equal(b.keys[1], next[0].keys[0]); assert.equal(b.keys[3], next[0].keys[1]); b.dispose(); });
    assert.throws(() => new DataLoader(src, { ...OPTS, shard: { rank: 2, worldSize: 2 } }), /shard rank 2 of world size 2/);
    assert.throws(() => new DataLoader(src, { ...OPTS, batchSize: 11, shard: { rank: 0, worldSize: 2 } }), /fewer than one batch|cannot fill/);
    for (const l of [one, ...ranks, r0, resumed, r1]) await l.close();
  } finally { cleanup(); }
});
