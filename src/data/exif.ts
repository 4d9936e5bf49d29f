// EXIF pass-through: an input photo's EXIF block (camera, date, GPS…) goes into the upscaled output. sharp can
// only rebuild EXIF from string tags or keep it along one pipeline; our output is new pixels, so the raw block is
// spliced into the encoded file: a PNG eXIf chunk, a JPEG APP1 segment, or a WebP EXIF chunk (with VP8X's flag).
import { isPng, pngChunk } from '../util/png_text.js';

const EXIF_HEADER = Buffer.from('Exif\0\0', 'latin1');

/** The TIFF part of an EXIF block as sharp's metadata().exif gives it ("Exif\0\0" + TIFF), or null if malformed. */
function tiffOf(exif: Buffer): Buffer | null {
  const t = exif.subarray(0, 6).equals(EXIF_HEADER) ? exif.subarray(6) : exif;
  if (t.length < 8) return null;
  const order = t.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return null;
  return t;
}

/** A copy of the EXIF block with the Orientation tag (0x0112) set to 1: the pixels were turned upright on decode,
 *  so a viewer must not turn them again. Returns null for a block that is not TIFF-structured. */
export function uprightExif(exif: Buffer): Buffer | null {
  const src = tiffOf(exif);
  if (!src) return null;
  const t = Buffer.from(src);
  const le = t.toString('latin1', 0, 2) === 'II';
  const u16 = (o: number) => (le ? t.readUInt16LE(o) : t.readUInt16BE(o));
  const ifd = le ? t.readUInt32LE(4) : t.readUInt32BE(4);
  if (ifd + 2 > t.length) return null;
  const n = u16(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + 12 * i;
    if (e + 12 > t.length) return null;
    if (u16(e) === 0x0112) {
      // type SHORT, count 1: the value sits in the first two bytes of the value field
      if (le) t.writeUInt16LE(1, e + 8); else t.writeUInt16BE(1, e + 8);
    }
  }
  return t;
}

function embedPng(png: Buffer, tiff: Buffer): Buffer {
  // eXIf must precede IDAT: insert it right after IHDR (signature 8 + IHDR chunk 25 bytes).
  const ihdrEnd = 8 + 12 + png.readUInt32BE(8);
  return Buffer.concat([png.subarray(0, ihdrEnd), pngChunk('eXIf', tiff), png.subarray(ihdrEnd)]);
}

function embedJpeg(jpg: Buffer, tiff: Buffer): Buffer {
  const payload = Buffer.concat([EXIF_HEADER, tiff]);
  if (payload.length + 2 > 0xffff) return jpg; // an APP1 segment holds at most 64 KB; such blocks are dropped
  const seg = Buffer.alloc(4);
  seg.writeUInt16BE(0xffe1, 0);
  seg.writeUInt16BE(payload.length + 2, 2);
  // after SOI and a JFIF APP0 if there is one
  let at = 2;
  if (jpg.readUInt16BE(2) === 0xffe0) at = 4 + jpg.readUInt16BE(4);
  return Buffer.concat([jpg.subarray(0, at), seg, payload, jpg.subarray(at)]);
}

function riffChunk(type: string, data: Buffer): Buffer {
  const pad = data.length & 1;
  const out = Buffer.alloc(8 + data.length + pad);
  out.write(type, 0, 'latin1');
  out.writeUInt32LE(data.length, 4);
  data.copy(out, 8);
  return out;
}

function embedWebp(webp: Buffer, tiff: Buffer, width: number, height: number, alpha: boolean): Buffer {
  const chunks: { type: string; buf: Buffer }[] = [];
  for (let p = 12; p + 8 <= webp.length;) {
    const size = webp.readUInt32LE(p + 4);
    const end = Math.min(webp.length, p + 8 + size + (size & 1));
    chunks.push({ type: webp.toString('latin1', p, p + 4), buf: webp.subarray(p, end) });
    p = end;
  }
  if (chunks[0]?.type !== 'VP8X') {
    // a simple-format file: the extended header is needed to carry metadata
    const x = Buffer.alloc(10);
    x[0] = alpha ? 0x10 : 0;
    x.writeUIntLE(width - 1, 4, 3);
    x.writeUIntLE(height - 1, 7, 3);
    chunks.unshift({ type: 'VP8X', buf: riffChunk('VP8X', x) });
  }
  chunks[0].buf = Buffer.from(chunks[0].buf);
  chunks[0].buf[8] |= 0x08; // EXIF flag
  const exif = { type: 'EXIF', buf: riffChunk('EXIF', tiff) };
  const xmp = chunks.findIndex((c) => c.type === 'XMP ');
  if (xmp >= 0) chunks.splice(xmp, 0, exif); else chunks.push(exif);
  const body = Buffer.concat(chunks.map((c) => c.buf));
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length + 4, 4);
  head.write('WEBP', 8, 'latin1');
  return Buffer.concat([head, body]);
}

/** The encoded image with the EXIF block spliced in (orientation set upright). Unparseable blocks are left out. */
export function embedExif(encoded: Buffer, format: 'png' | 'jpeg' | 'webp', exif: Buffer, size: { width: number; height: number; alpha: boolean }): Buffer {
  const tiff = uprightExif(exif);
  if (!tiff) return encoded;
  if (format === 'png') return isPng(encoded) ? embedPng(encoded, tiff) : encoded;
  if (format === 'jpeg') return encoded.readUInt16BE(0) === 0xffd8 ? embedJpeg(encoded, tiff) : encoded;
  return encoded.toString('latin1', 8, 12) === 'WEBP' ? embedWebp(encoded, tiff, size.width, size.height, size.alpha) : encoded;
}
