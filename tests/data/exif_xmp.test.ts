// EXIF orientation on decode, EXIF/ICC kept and run parameters as XMP on encode, alpha read apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeImage, encodeImage, readImageText } from '../../src/data/image_codec.js';
import { readXmpText, xmpPacket } from '../../src/data/xmp.js';

function rgb(w: number, h: number): Buffer {
  const b = Buffer.alloc(w * h * 3);
  for (let i = 0; i < b.length; i += 3) { b[i] = 10; b[i + 1] = 200; b[i + 2] = 30; }
  return b;
}

test('a JPEG with EXIF orientation 6 decodes upright, and its EXIF goes into the output with orientation 1', async () => {
  const jpg = await sharp(rgb(8, 4), { raw: { width: 8, height: 4, channels: 3 } }).withMetadata({ orientation: 6 }).jpeg().toBuffer();
  assert.equal((await sharp(jpg).metadata()).orientation, 6);
  const d = await decodeImage(jpg);
  assert.deepEqual([d.width, d.height], [4, 8]);
  assert.ok(d.exif && d.exif.length > 0);
  for (const format of ['png', 'jpeg', 'webp'] as const) {
    const out = await encodeImage(d.data, 3, d.height, d.width, { format, exif: d.exif });
    const m = await sharp(out).metadata();
    assert.ok(m.exif, `${format} keeps EXIF`);
    assert.equal(m.orientation ?? 1, 1, `${format}: orientation upright`);
    assert.deepEqual([m.width, m.height], [4, 8]);
  }
});

test('run parameters go into JPEG/WebP as XMP and read back; PNG keeps text chunks', async () => {
  const meta = { Software: 'fmboost', 'fmboost:steps': '1', 'fmboost:input': 'a "b" & <c>.png' };
  assert.deepEqual(readXmpText(xmpPacket(meta)), meta);
  const d = await decodeImage(await sharp(rgb(4, 4), { raw: { width: 4, height: 4, channels: 3 } }).png().toBuffer());
  for (const format of ['png', 'jpeg', 'webp'] as const) {
    const out = await encodeImage(d.data, 3, 4, 4, { format, metadata: meta });
    assert.deepEqual(await readImageText(out), meta, format);
  }
  assert.throws(() => xmpPacket({ 'bad key': 'x' }), /cannot be stored in XMP/);
});

test('an ICC profile is kept; alpha is decoded apart and written back as RGBA', async () => {
  const p3 = await sharp(rgb(4, 4), { raw: { width: 4, height: 4, channels: 3 } }).withIccProfile('p3').png().toBuffer();
  const d = await decodeImage(p3);
  assert.ok(d.icc);
  const out = await encodeImage(d.data, 3, 4, 4, { format: 'png', icc: d.icc });
  assert.ok((await sharp(out).metadata()).icc?.equals(d.icc!));
  const rgba = Buffer.alloc(4 * 4 * 4, 255);
  rgba[3] = 0; // first pixel transparent
  const a = await decodeImage(await sharp(rgba, { raw: { width: 4, height: 4, channels: 4 } }).png().toBuffer());
  assert.ok(a.alpha);
  assert.equal(a.alpha![0], -1);
  assert.equal(a.alpha![1], 1);
  const four = new Float32Array(4 * 16);
  four.set(a.data, 0);
  four.set(a.alpha!, 48);
  const png = await encodeImage(four, 4, 4, 4, { format: 'png' });
  const m = await sharp(png).metadata();
  assert.equal(m.channels, 4);
  const jpg = await encodeImage(four, 4, 4, 4, { format: 'jpeg' });
  assert.equal((await sharp(jpg).metadata()).channels, 3);
});
