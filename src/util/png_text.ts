// PNG tEXt chunks: insert key/value text into an encoded PNG and read it back. libvips (through
// sharp) cannot write arbitrary text chunks, so we splice them into the chunk stream ourselves.
import { crc32 } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function isPng(buf: Uint8Array): boolean {
  return buf.length >= 8 && SIGNATURE.equals(Buffer.from(buf.buffer, buf.byteOffset, 8));
}

/** One PNG chunk: length, type, data, CRC-32 of type + data. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** tEXt keywords are 1–79 Latin-1 characters without NUL; text is Latin-1 (we store UTF-8 in iTXt
 *  when the value is not Latin-1, so any string survives). */
function textChunk(key: string, value: string): Buffer {
  if (!/^[\x20-\x7e\xa1-\xff]{1,79}$/.test(key)) throw new RangeError(`PNG text keyword '${key}' must be 1-79 printable Latin-1 characters`);
  if (/^[\x00-\xff]*$/.test(value) && !value.includes('\0')) {
    return pngChunk('tEXt', Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([0]), Buffer.from(value, 'latin1')]));
  }
  // iTXt: keyword, NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, UTF-8 text
  return pngChunk('iTXt', Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(value, 'utf8')]));
}

interface RawChunk { type: string; start: number; end: number; data: Buffer }

function chunks(png: Buffer): RawChunk[] {
  if (!isPng(png)) throw new RangeError('not a PNG (bad signature)');
  const out: RawChunk[] = [];
  let p = 8;
  while (p + 12 <= png.length) {
    const len = png.readUInt32BE(p);
    const type = png.toString('latin1', p + 4, p + 8);
    if (p + 12 + len > png.length) throw new RangeError(`PNG chunk '${type}' runs past the end of the file (truncated)`);
    out.push({ type, start: p, end: p + 12 + len, data: png.subarray(p + 8, p + 8 + len) });
    p += 12 + len;
    if (type === 'IEND') break;
  }
  return out;
}

/** Returns a copy of `png` with one text chunk per entry, placed right before IEND. */
export function addPngText(png: Buffer, text: Record<string, string>): Buffer {
  const list = chunks(png);
  const iend = list.find((c) => c.type === 'IEND');
  if (!iend) throw new RangeError('PNG has no IEND chunk');
  const extra = Object.entries(text).map(([k, v]) => textChunk(k, String(v)));
  return Buffer.concat([png.subarray(0, iend.start), ...extra, png.subarray(iend.start)]);
}

/** All uncompressed tEXt and iTXt entries of a PNG (later duplicates win). */
export function readPngText(png: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of chunks(png)) {
    if (c.type === 'tEXt') {
      const z = c.data.indexOf(0);
      if (z > 0) out[c.data.toString('latin1', 0, z)] = c.data.toString('latin1', z + 1);
    } else if (c.type === 'iTXt') {
      const z = c.data.indexOf(0);
      if (z <= 0 || c.data[z + 1] !== 0) continue; // compressed iTXt: not written by us, skipped
      const lang = c.data.indexOf(0, z + 3);
      const trans = lang < 0 ? -1 : c.data.indexOf(0, lang + 1);
      if (trans < 0) continue;
      out[c.data.toString('latin1', 0, z)] = c.data.toString('utf8', trans + 1);
    }
  }
  return out;
}
