// Image I/O: decode vs PIL-written PNGs and torch's value conversion, lossless round trips,
// metadata, typed errors for corrupt / truncated / oversized input.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { golden, ROOT } from '../helpers.js';
import { tensor, liveTensors } from '../../src/tensor_library.js';
import {
  decodeImage, decodeImageU8, encodeImageU8, encodeImage, readImage, writeImage, readImageText, probeImage,
  ImageDecodeError, ImageEncodeError, U8_TO_FLOAT, floatCHWToU8HWC, addPngText, readPngText, encodeTensorImage,
} from '../../src/data/index.js';
import { syntheticRgb, tempDir } from './util.js';

const G = golden('data_transforms.json');

test('uint8 → float matches torch ToTensor + Normalize(0.5, 0.5) for all 256 levels (bit-exact)', () => {
  assert.deepEqual(Array.from(U8_TO_FLOAT), G.u8_to_float.data);
});

test('float → uint8 matches torch (x+1)/2·255 + 0.5, clamp, truncate (bit-exact)', () => {
  const x = Float32Array.from(G.float_in.data as number[]);
  // treat the values as a 1-channel 1×N image; output is RGB with equal channels
  const u = floatCHWToU8HWC(x, 1, 1, x.length);
  const r = Array.from({ length: x.length }, (_, i) => u[3 * i]);
  assert.deepEqual(r, G.float_to_u8.data);
  assert.equal(floatCHWToU8HWC(Float32Array.from([NaN]), 1, 1, 1)[0], 0);
});

test('PNGs written by PIL decode to the expected [3,H,W] floats (RGB, RGBA alpha dropped, L expanded)', async () => {
  for (const mode of ['RGB', 'RGBA', 'L']) {
    const g = G.pil_pngs[mode];
    const path = join(ROOT, 'tests', 'fixtures', 'data', g.file);
    const t = await readImage(path);
    assert.deepEqual(t.shape, g.expected.shape, mode);
    assert.deepEqual(Array.from(t.toFloat32Array()), g.expected.data, mode);
    t.dispose();
  }
});

test('PNG round trip is lossless: uint8 → png → uint8 and tensor → png → tensor bit-exact', async () => {
  const H = 37, W = 53;
  const rgb = syntheticRgb(H, W, 1);
  const png = await encodeImageU8(rgb, H, W, { format: 'png' });
  const back = await decodeImageU8(png);
  assert.equal(back.channels, 3);
  assert.deepEqual([back.height, back.width], [H, W]);
  assert.ok(Buffer.from(back.data).equals(Buffer.from(rgb)));

  const { dir, cleanup } = tempDir();
  try {
    const dec = await decodeImage(png);
    const t = tensor(dec.data, { shape: [3, H, W] });
    const p = join(dir, 'x.png');
    await writeImage(p, t);
    const t2 = await readImage(p);
    assert.deepEqual(t2.shape, [3, H, W]);
    assert.ok(t.equal(t2), 'tensor → png → tensor changed values');
    // a [1,3,H,W] batch of one is accepted too
    const b = t.unsqueeze(0);
    assert.ok((await encodeTensorImage(b)).equals(await encodeTensorImage(t)));
    for (const x of [t, t2, b]) x.dispose();
  } finally { cleanup(); }
});

test('JPEG and WebP round trips are close; lossless WebP is exact', async () => {
  const H = 32, W = 48;
  const rgb = syntheticRgb(H, W, 2, 0.02); // smooth: lossy codecs keep it close
  for (const [format, maxMean] of [['jpeg', 3], ['webp', 4]] as const) {
    const buf = await encodeImageU8(rgb, H, W, { format, quality: 95 });
    const back = await decodeImageU8(buf);
    let s = 0;
    for (let i = 0; i < rgb.length; i++) s += Math.abs(back.data[i] - rgb[i]);
    assert.ok(s / rgb.length < maxMean, `${format}: mean abs error ${s / rgb.length}`);
    assert.ok(s > 0, `${format} should be lossy here`);
  }
  const ll = await decodeImageU8(await encodeImageU8(rgb, H, W, { format: 'webp', lossless: true }));
  assert.ok(Buffer.from(ll.data).equals(Buffer.from(rgb)));
});

test('PNG text metadata round trip (tEXt, and iTXt for non-Latin-1), pixels unchanged', async () => {
  const rgb = syntheticRgb(8, 8, 3);
  const meta = { prompt: 'upscale x4', steps: '40', unicode: 'ÿ ok', 'fmboost:config': '{"a":1,"name":"λ-flow"}' };
  const png = await encodeImageU8(rgb, 8, 8, { metadata: meta });
  assert.deepEqual(await readImageText(png), meta);
  assert.ok(Buffer.from((await decodeImageU8(png)).data).equals(Buffer.from(rgb)), 'text chunks broke decoding');
  // chunks are spliced correctly (the CRC must be valid or libpng/spng would reject a strict decode)
  const twice = addPngText(png, { extra: 'x' });
  assert.equal(readPngText(twice).extra, 'x');
  await assert.rejects(encodeImageU8(rgb, 8, 8, { format: 'jpeg', metadata: { a: 'b' } }), ImageEncodeError);
  assert.throws(() => addPngText(png, { '': 'empty keyword' }), RangeError);
});

test('truncated PNG/JPEG give ImageDecodeError naming the file', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const rgb = syntheticRgb(40, 40, 4);
    for (const format of ['png', 'jpeg'] as const) {
      const full = await encodeImageU8(rgb, 40, 40, { format });
      const p = join(dir, `trunc.${format === 'png' ? 'png' : 'jpg'}`);
      writeFileSync(p, full.subarray(0, Math.floor(full.length * 0.6)));
      await assert.rejects(readImage(p), (e: unknown) => {
        assert.ok(e instanceof ImageDecodeError, `expected ImageDecodeError, got ${e}`);
        assert.equal(e.file, p);
        assert.ok(e.message.includes(p), e.message);
        assert.equal(e.code, 'corrupt');
        return true;
      });
    }
    const junk = join(dir, 'junk.png');
    writeFileSync(junk, 'definitely not an image');
    await assert.rejects(decodeImage(junk), (e: unknown) => e instanceof ImageDecodeError && e.code === 'unsupported' && e.file === junk);
    await assert.rejects(decodeImage(join(dir, 'missing.png')), (e: unknown) => e instanceof ImageDecodeError && e.code === 'io');
    await assert.rejects(probeImage(join(dir, 'missing.png')), (e: unknown) => e instanceof ImageDecodeError && e.code === 'io');
    await assert.rejects(probeImage(junk), (e: unknown) => e instanceof ImageDecodeError && e.code === 'unsupported' && e.file === junk);
    await assert.rejects(decodeImage(Buffer.from('xx'), { name: 'member.jpg' }), (e: unknown) => e instanceof ImageDecodeError && e.file === 'member.jpg');
  } finally { cleanup(); }
});

/** A PNG whose IHDR claims width×height (CRC fixed) but whose data is for a tiny image. */
function pngWithClaimedSize(png: Buffer, width: number, height: number): Buffer {
  const b = Buffer.from(png);
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  // recompute the IHDR CRC over type + data (bytes 12..29)
  let c = 0xffffffff;
  for (let i = 12; i < 29; i++) {
    c ^= b[i];
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  b.writeUInt32BE((c ^ 0xffffffff) >>> 0, 29);
  return b;
}

test('decompression-bomb guard rejects from the header, before decoding', async () => {
  const small = await encodeImageU8(syntheticRgb(16, 16, 5), 16, 16);
  // 100k × 100k claimed: decoding would fail as corrupt; the header check must answer first
  const bomb = pngWithClaimedSize(small, 100_000, 100_000);
  await assert.rejects(decodeImage(bomb, { name: 'bomb.png' }), (e: unknown) => e instanceof ImageDecodeError && e.code === 'too_large' && e.file === 'bomb.png');
  await assert.rejects(probeImage(bomb), (e: unknown) => e instanceof ImageDecodeError && e.code === 'too_large');
  // a real image over a small limit is refused; under it, accepted
  await assert.rejects(decodeImage(small, { maxPixels: 255 }), (e: unknown) => e instanceof ImageDecodeError && e.code === 'too_large');
  assert.equal((await decodeImage(small, { maxPixels: 256 })).width, 16);
});

test('encode rejects bad tensors with ImageEncodeError; decode/encode leak no tensors', async () => {
  const before = liveTensors();
  const bad = tensor(new Float32Array(2 * 4 * 4), { shape: [2, 4, 4] });
  await assert.rejects(encodeTensorImage(bad), (e: unknown) => e instanceof ImageEncodeError && /\[2, 4, 4\]/.test(e.message));
  bad.dispose();
  await assert.rejects(encodeImage(new Float32Array(10), 3, 2, 2), ImageEncodeError);
  const t = await readImage(join(ROOT, 'tests', 'fixtures', 'data', 'pil_rgb.png'));
  await encodeTensorImage(t);
  t.dispose();
  assert.equal(liveTensors(), before);
  assert.ok(readFileSync(join(ROOT, 'tests', 'fixtures', 'data', 'pil_rgb.png')).length > 0);
});
