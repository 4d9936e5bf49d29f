import test from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { plotLines, lossCurvePng, niceTicks } from '../../src/util/plot.js';
import { encodePng, PngError } from '../../src/util/png.js';

// Bitwise CRC-32 (IEEE), independent of the encoder's table.
function refCrc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function decodePng(png: Buffer): { w: number; h: number; colorType: number; px: Buffer; chunks: string[] } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let o = 8, w = 0, h = 0, colorType = -1;
  const idat: Buffer[] = [];
  const chunks: string[] = [];
  while (o < png.length) {
    const n = png.readUInt32BE(o);
    const type = png.toString('ascii', o + 4, o + 8);
    const body = png.subarray(o + 8, o + 8 + n);
    assert.equal(png.readUInt32BE(o + 8 + n), refCrc32(png.subarray(o + 4, o + 8 + n)), `${type} CRC`);
    chunks.push(type);
    if (type === 'IHDR') {
      w = body.readUInt32BE(0); h = body.readUInt32BE(4); colorType = body[9];
      assert.equal(body[8], 8, 'bit depth');
    }
    if (type === 'IDAT') idat.push(body);
    o += 12 + n;
  }
  const ch = colorType === 2 ? 3 : 1;
  const raw = inflateSync(Buffer.concat(idat));
  assert.equal(raw.length, h * (w * ch + 1));
  const rows: Buffer[] = [];
  for (let y = 0; y < h; y++) {
    assert.equal(raw[y * (w * ch + 1)], 0, 'filter type 0');
    rows.push(raw.subarray(y * (w * ch + 1) + 1, (y + 1) * (w * ch + 1)));
  }
  return { w, h, colorType, px: Buffer.concat(rows), chunks };
}

test('PNG encoder: chunks, CRCs, dimensions and pixels round-trip', () => {
  const w = 7, h = 4;
  const data = new Uint8Array(w * h * 3).map((_, i) => (i * 13 + 5) & 255);
  const dec = decodePng(encodePng({ width: w, height: h, channels: 3, data }));
  assert.deepEqual(dec.chunks, ['IHDR', 'IDAT', 'IEND']);
  assert.deepEqual([dec.w, dec.h, dec.colorType], [7, 4, 2]);
  assert.deepEqual([...dec.px], [...data]);
  const gray = decodePng(encodePng({ width: 3, height: 2, channels: 1, data: Uint8Array.from([0, 50, 100, 150, 200, 250]) }));
  assert.deepEqual([gray.colorType, ...gray.px], [0, 0, 50, 100, 150, 200, 250]);
  assert.throws(() => encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(5) }), (e: Error) => e instanceof PngError && /5 bytes, expected 12/.test(e.message));
});

test('loss curve: the polyline passes through the pixels the data maps to', () => {
  const steps = Array.from({ length: 21 }, (_, i) => i * 50);
  const losses = steps.map((s) => 1 / (1 + s / 100));
  const color: [number, number, number] = [200, 0, 0];
  const { image, layout } = plotLines([{ x: steps, y: losses, color }], { width: 320, height: 200 });
  assert.equal(layout.xMin, 0);
  assert.equal(layout.xMax, 1000);
  assert.equal(layout.yMin, Math.min(...losses));
  assert.equal(layout.yMax, 1);
  const dec = decodePng(lossCurvePng(steps, losses, { width: 320, height: 200 }));
  assert.deepEqual([dec.w, dec.h], [320, 200]);
  const at = (px: Buffer, x: number, y: number) => [...px.subarray((y * 320 + x) * 3, (y * 320 + x) * 3 + 3)];
  for (let i = 0; i < steps.length; i++) {
    const x = Math.round(layout.left + (steps[i] / 1000) * (layout.right - layout.left));
    const y = Math.round(layout.bottom - ((losses[i] - layout.yMin) / (1 - layout.yMin)) * (layout.bottom - layout.top));
    assert.deepEqual(at(Buffer.from(image.data), x, y), color, `point ${i} at (${x}, ${y})`);
    assert.deepEqual(at(dec.px, x, y), [31, 119, 180], `default-color PNG point ${i}`);
  }
  // A pixel well above the (decreasing, convex) curve at the right end is not on it.
  const xr = layout.right - 2, yr = layout.top + 5;
  assert.notDeepEqual(at(Buffer.from(image.data), xr, yr), color);
  // The axes are drawn at the plot rectangle's left and bottom edges.
  // (points chosen away from the curve: it hugs the top-left and bottom-right corners.)
  assert.deepEqual(at(Buffer.from(image.data), layout.left, layout.bottom - 3), [0, 0, 0]);
  assert.deepEqual(at(Buffer.from(image.data), Math.round((layout.left + layout.right) / 2) + 1, layout.bottom), [0, 0, 0]);
});

test('log-y plots and nice ticks', () => {
  const { layout } = plotLines([{ x: [0, 1, 2], y: [1, 0.1, 0.01] }], { logY: true });
  assert.equal(layout.yMax, 0);
  assert.equal(layout.yMin, -2);
  assert.deepEqual(niceTicks(0, 1000), [0, 200, 400, 600, 800, 1000]);
  assert.deepEqual(niceTicks(0.013, 0.05, 4).map((v) => +v.toFixed(6)), [0.02, 0.03, 0.04, 0.05]);
});
