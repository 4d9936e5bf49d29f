// Sources: image folder (recursive, sorted, corrupt files skipped and reported), WebDataset tar
// shards (made with the system `tar` in ustar, gnu and pax formats), latent safetensors shards.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randn, tidy, liveTensors, Generator, tensor } from '../../src/tensor_library.js';
import {
  ImageFolderSource, TarShardSource, LatentShardSource, LatentShardWriter, readTarIndex, splitKey,
  encodeImageU8, decodeImage, DataSourceError, U8_TO_FLOAT,
} from '../../src/data/index.js';
import { syntheticRgb, tempDir } from './util.js';

async function writeImg(path: string, h: number, w: number, seed: number, format: 'png' | 'jpeg' | 'webp' = 'png'): Promise<Buffer> {
  const buf = await encodeImageU8(syntheticRgb(h, w, seed), h, w, { format, lossless: format === 'webp' });
  writeFileSync(path, buf);
  return buf;
}

test('ImageFolderSource: recursive, sorted, extension filter; corrupt header skipped and reported', async () => {
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(join(dir, 'b', 'deep'), { recursive: true });
    mkdirSync(join(dir, 'a'));
    await writeImg(join(dir, 'b', 'deep', 'z.png'), 8, 8, 1);
    await writeImg(join(dir, 'a', 'y.JPG'), 8, 8, 2, 'jpeg');
    await writeImg(join(dir, 'x.webp'), 8, 8, 3, 'webp');
    await writeImg(join(dir, 'a', 'c.jpeg'), 8, 8, 4, 'jpeg');
    writeFileSync(join(dir, 'notes.txt'), 'not an image, ignored by extension');
    writeFileSync(join(dir, 'a', 'broken.png'), 'garbage bytes in a .png');
    const full = await encodeImageU8(syntheticRgb(30, 30, 5), 30, 30);
    writeFileSync(join(dir, 'b', 'trunc.png'), full.subarray(0, full.length >> 1));

    const src = await ImageFolderSource.open(dir); // validate: 'header'
    const keys = Array.from({ length: src.length }, (_, i) => src.item(i).key);
    // truncated file has a valid header: listed now, skipped later by the loader's decoder
    assert.deepEqual(keys, ['a/c', 'a/y', 'b/deep/z', 'b/trunc', 'x']);
    assert.equal(src.skipped.length, 1);
    assert.equal(src.skipped[0].name, join(dir, 'a', 'broken.png'));
    assert.match(src.skipped[0].reason, /unsupported image format/i);

    const strict = await ImageFolderSource.open(dir, { validate: 'full' });
    assert.deepEqual(Array.from({ length: strict.length }, (_, i) => strict.item(i).key), ['a/c', 'a/y', 'b/deep/z', 'x']);
    assert.deepEqual(strict.skipped.map((s) => s.name).sort(), [join(dir, 'a', 'broken.png'), join(dir, 'b', 'trunc.png')]);

    const loose = await ImageFolderSource.open(dir, { validate: 'none' });
    assert.equal(loose.length, 6);
    assert.equal(loose.skipped.length, 0);
    await assert.rejects(ImageFolderSource.open(join(dir, 'nope')), DataSourceError);
    assert.throws(() => src.item(5), RangeError);
  } finally { cleanup(); }
});

test('tar reader: ustar / gnu / pax archives, long names, WebDataset grouping with .json', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const root = join(dir, 'content');
    mkdirSync(join(root, 'sub'), { recursive: true });
    const bufs: Record<string, Buffer> = {};
    bufs['000001'] = await writeImg(join(root, '000001.jpg'), 10, 12, 1, 'jpeg');
    writeFileSync(join(root, '000001.json'), JSON.stringify({ caption: 'first', w: 12 }));
    bufs['000002'] = await writeImg(join(root, '000002.png'), 10, 12, 2);
    bufs['sub/000003'] = await writeImg(join(root, 'sub', '000003.webp'), 10, 12, 3, 'webp');
    writeFileSync(join(root, '000004.txt'), 'caption without an image');
    const longKey = 'k'.repeat(120);
    bufs[longKey] = await writeImg(join(root, `${longKey}.png`), 10, 12, 4);
    const members = ['000001.jpg', '000001.json', '000002.png', 'sub/000003.webp', '000004.txt', `${longKey}.png`];

    for (const format of ['gnu', 'pax', 'ustar'] as const) {
      const shard = join(dir, `shard-${format}.tar`);
      const list = format === 'ustar' ? members.filter((m) => m.length <= 100) : members;
      execFileSync('tar', [`--format=${format}`, '-cf', shard, '-C', root, ...list]);
      const idx = readTarIndex(shard);
      assert.deepEqual(idx.problems, [], format);
      assert.deepEqual(idx.members.map((m) => m.name), list, format);
      const src = new TarShardSource([shard]);
      const expectKeys = ['000001', '000002', 'sub/000003', ...(format === 'ustar' ? [] : [longKey])];
      assert.deepEqual(Array.from({ length: src.length }, (_, i) => src.item(i).key), expectKeys, format);
      for (let i = 0; i < src.length; i++) {
        const it = src.item(i);
        // the byte range holds exactly the member's file
        const bytes = readFileSync(shard).subarray(it.image!.offset!, it.image!.offset! + it.image!.length!);
        assert.ok(bytes.equals(bufs[it.key]), `${format}: ${it.key} bytes`);
      }
      assert.deepEqual(src.item(0).json, { caption: 'first', w: 12 });
      assert.equal(src.item(1).json, undefined);
      assert.equal(src.skipped.length, 1, format);
      assert.match(src.skipped[0].name, /000004$/);
      assert.match(src.skipped[0].reason, /no image member/);
      const img = await decodeImage(readFileSync(shard).subarray(src.item(1).image!.offset!, src.item(1).image!.offset! + src.item(1).image!.length!));
      assert.deepEqual([img.height, img.width], [10, 12]);
    }

    // a truncated shard keeps the members before the cut and reports the problem
    const whole = readFileSync(join(dir, 'shard-gnu.tar'));
    const cut = join(dir, 'cut.tar');
    const third = readTarIndex(join(dir, 'shard-gnu.tar')).members[2];
    writeFileSync(cut, whole.subarray(0, third.offset + 10));
    const t = readTarIndex(cut);
    assert.equal(t.members.length, 2);
    assert.match(t.problems[0], /truncated/);
    assert.ok(new TarShardSource([cut]).skipped.some((s) => /truncated/.test(s.reason)));
    writeFileSync(join(dir, 'bad.tar'), Buffer.alloc(1024, 7));
    assert.throws(() => readTarIndex(join(dir, 'bad.tar')), /not a tar file/);
  } finally { cleanup(); }
});

test('splitKey follows WebDataset (first dot of the basename)', () => {
  assert.deepEqual(splitKey('a/b.c/0001.seg.PNG'), ['a/b.c/0001', 'seg.png']);
  assert.deepEqual(splitKey('x.jpg'), ['x', 'jpg']);
  assert.equal(splitKey('noext'), null);
  assert.equal(splitKey('dir/.hidden'), null);
});

test('LatentShardSource reads back what LatentShardWriter wrote, across shards, item by item', () => {
  const { dir, cleanup } = tempDir();
  const before = liveTensors();
  try {
    const g = new Generator(3);
    const lat = randn([7, 4, 4, 6], { generator: g });
    const low = randn([7, 4, 4, 6], { generator: g });
    const w = new LatentShardWriter(dir, 3, { image_size: 32, low_res_size: 8, upsampling: 'psu' });
    tidy(() => { for (let i = 0; i < 7; i++) w.add(`img${i}`, { latent: lat.select(0, i), latent_lowres: low.select(0, i) }); });
    const manifest = w.finish();
    const m = JSON.parse(readFileSync(manifest, 'utf8'));
    assert.deepEqual(m.shards.map((s: { count: number }) => s.count), [3, 3, 1]);
    const src = new LatentShardSource(manifest);
    assert.equal(src.length, 7);
    assert.deepEqual(src.keys, ['latent', 'latent_lowres']);
    for (const i of [0, 2, 3, 5, 6]) {
      const it = src.item(i);
      assert.equal(it.key, `img${i}`);
      tidy(() => {
        assert.ok(it.tensors!.latent.equal(lat.select(0, i)), `latent ${i}`);
        assert.ok(it.tensors!.latent_lowres.equal(low.select(0, i)), `latent_lowres ${i}`);
      });
      for (const t of Object.values(it.tensors!)) t.dispose();
    }
    // a uint8 `image` key comes back as float32 in [-1, 1] (the same mapping as decoded files)
    const d2 = join(dir, 'withimg');
    const w2 = new LatentShardWriter(d2, 8);
    const levels = tensor(Uint8Array.from({ length: 3 * 4 * 4 }, (_, k) => (k * 37) % 256), { shape: [3, 4, 4] });
    tidy(() => w2.add('a', { image: levels, latent: lat.select(0, 0) }));
    const it2 = new LatentShardSource(w2.finish()).item(0);
    assert.equal(it2.tensors!.image.dtype, 'float32');
    assert.deepEqual(Array.from(it2.tensors!.image.toFloat32Array()), Array.from(levels.data() as Uint8Array, (u) => U8_TO_FLOAT[u]));
    for (const t of [levels, ...Object.values(it2.tensors!)]) t.dispose();
    // a manifest that disagrees with its shard is rejected with the shard named
    m.shards[0].count = 4;
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(m));
    assert.throws(() => new LatentShardSource(join(dir, 'bad.json')), /shard-00000.safetensors.*has 3 items but the manifest says 4/);
    writeFileSync(join(dir, 'nf.json'), JSON.stringify({ shards: [] }));
    assert.throws(() => new LatentShardSource(join(dir, 'nf.json')), DataSourceError);
  } finally {
    cleanup();
  }
  assert.equal(liveTensors(), before + 2, 'only the two source tensors should remain');
});
