// Reads our TensorBoard event files back with a reader written here from the format description
// (TFRecord framing + Event/Summary protobuf), sharing no code with the writer.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { TensorBoardLogger } from '../../src/train/log/tensorboard.js';
import { crc32c, maskedCrc32c } from '../../src/util/crc32c.js';

// Bitwise CRC-32C (no table), independent of the writer's table-driven one.
function refCrc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
const refMask = (c: number) => ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) % 2 ** 32;

type Field = { field: number; wire: number; value: bigint | Buffer };
function decodeProto(buf: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = () => {
    let r = 0n, shift = 0n;
    for (;;) {
      const b = buf[i++];
      r |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (!(b & 0x80)) return r;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >>> 3, wire = key & 7;
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 1) { out.push({ field, wire, value: buf.subarray(i, i + 8) }); i += 8; }
    else if (wire === 5) { out.push({ field, wire, value: buf.subarray(i, i + 4) }); i += 4; }
    else if (wire === 2) { const n = Number(varint()); out.push({ field, wire, value: buf.subarray(i, i + n) }); i += n; }
    else throw new Error(`unexpected wire type ${wire}`);
  }
  assert.equal(i, buf.length, 'protobuf ran past its end');
  return out;
}
const one = (fs: Field[], n: number) => fs.filter((f) => f.field === n);

interface Ev { wallTime: number; step: number; fileVersion?: string; values: { tag: string; simple?: number; image?: { h: number; w: number; cs: number; png: Buffer } }[] }
function readEvents(path: string): Ev[] {
  const b = readFileSync(path);
  const evs: Ev[] = [];
  let o = 0;
  while (o < b.length) {
    const lenBytes = b.subarray(o, o + 8);
    const len = Number(lenBytes.readBigUInt64LE(0));
    assert.equal(b.readUInt32LE(o + 8), refMask(refCrc32c(lenBytes)), 'length CRC');
    const data = b.subarray(o + 12, o + 12 + len);
    assert.equal(b.readUInt32LE(o + 12 + len), refMask(refCrc32c(data)), 'data CRC');
    o += 16 + len;
    const f = decodeProto(data);
    const ev: Ev = { wallTime: (one(f, 1)[0].value as Buffer).readDoubleLE(0), step: Number(one(f, 2)[0]?.value ?? 0n), values: [] };
    if (one(f, 3).length) ev.fileVersion = (one(f, 3)[0].value as Buffer).toString('utf8');
    for (const s of one(f, 5)) {
      for (const v of one(decodeProto(s.value as Buffer), 1)) {
        const vf = decodeProto(v.value as Buffer);
        const val: Ev['values'][number] = { tag: (one(vf, 1)[0].value as Buffer).toString('utf8') };
        if (one(vf, 2).length) val.simple = (one(vf, 2)[0].value as Buffer).readFloatLE(0);
        if (one(vf, 4).length) {
          const im = decodeProto(one(vf, 4)[0].value as Buffer);
          val.image = { h: Number(one(im, 1)[0].value), w: Number(one(im, 2)[0].value), cs: Number(one(im, 3)[0].value), png: one(im, 4)[0].value as Buffer };
        }
        ev.values.push(val);
      }
    }
    evs.push(ev);
  }
  return evs;
}

// Just enough PNG decoding to get the pixels back (8-bit, filter 0 rows as our writer promises).
function pngPixels(png: Buffer): { w: number; h: number; px: Buffer } {
  let o = 8, w = 0, h = 0;
  const idat: Buffer[] = [];
  while (o < png.length) {
    const n = png.readUInt32BE(o);
    const type = png.toString('ascii', o + 4, o + 8);
    const body = png.subarray(o + 8, o + 8 + n);
    if (type === 'IHDR') { w = body.readUInt32BE(0); h = body.readUInt32BE(4); }
    if (type === 'IDAT') idat.push(body);
    o += 12 + n;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rows: Buffer[] = [];
  for (let y = 0; y < h; y++) rows.push(raw.subarray(y * (w * 3 + 1) + 1, (y + 1) * (w * 3 + 1)));
  return { w, h, px: Buffer.concat(rows) };
}

test('CRC-32C test vector: "123456789" → 0xE3069283', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(refCrc32c(Buffer.from('123456789')), 0xe3069283);
  const data = Buffer.from('some bytes to check the mask on');
  assert.equal(maskedCrc32c(data), refMask(refCrc32c(data)));
});

test('TensorBoard events: file_version first, scalars and images read back exactly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-tb-'));
  try {
    let clock = 1700000000.25;
    const tb = new TensorBoardLogger(dir, { now: () => (clock += 1) });
    tb.logScalars(10, { 'train/loss': 0.125, 'train/lr': 3e-5 });
    tb.logScalars(20, { 'train/loss': 0.0625, 'val/psnr': 27.5 });
    const w = 5, h = 3;
    const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 37) % 256);
    tb.logImage('val/grid', 20, { width: w, height: h, channels: 3, data: rgb });
    tb.logScalars(300000000000, { big: -1.5 }); // int64 steps beyond 2^32
    tb.close();

    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0], /^events\.out\.tfevents\.\d+\./);
    const evs = readEvents(join(dir, files[0]));
    assert.equal(evs.length, 5);
    assert.equal(evs[0].fileVersion, 'brain.Event:2');
    assert.equal(evs[0].wallTime, 1700000001.25);
    assert.deepEqual(evs[1].values, [{ tag: 'train/loss', simple: 0.125 }, { tag: 'train/lr', simple: Math.fround(3e-5) }]);
    assert.equal(evs[1].step, 10);
    assert.equal(evs[2].step, 20);
    assert.deepEqual(evs[2].values.map((v) => [v.tag, v.simple]), [['train/loss', 0.0625], ['val/psnr', 27.5]]);
    const img = evs[3].values[0];
    assert.equal(img.tag, 'val/grid');
    assert.deepEqual([img.image!.h, img.image!.w, img.image!.cs], [3, 5, 3]);
    const dec = pngPixels(img.image!.png);
    assert.deepEqual([dec.w, dec.h], [5, 3]);
    assert.deepEqual([...dec.px], [...rgb]);
    assert.equal(evs[4].step, 300000000000);
    assert.equal(evs[4].values[0].simple, -1.5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupted byte is caught by the record CRC (the reader check can fail)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-tb-'));
  try {
    const tb = new TensorBoardLogger(dir);
    tb.logScalars(1, { x: 1 });
    tb.close();
    const p = join(dir, readdirSync(dir)[0]);
    const b = readFileSync(p);
    b[b.length - 6] ^= 0xff; // inside the last record's data
    const tmp = join(dir, 'corrupt');
    writeFileSync(tmp, b);
    assert.throws(() => readEvents(tmp), /data CRC/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
