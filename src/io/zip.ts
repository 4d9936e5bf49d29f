// Minimal zip reader for torch.save archives: the central directory (with zip64), and where each
// entry's bytes start. torch writes entries uncompressed ("stored"), so data can be read in place.
import { fstatSync, readSync } from 'node:fs';
import { WeightsFileError } from './errors.js';

export interface ZipEntry {
  name: string;
  /** 0 = stored; anything else is compressed. */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50, SIG_EOCD64 = 0x06064b50, SIG_LOC64 = 0x07064b50, SIG_CDH = 0x02014b50, SIG_LFH = 0x04034b50;

export function readAt(fd: number, pos: number, len: number): Buffer {
  const buf = Buffer.alloc(len);
  let done = 0;
  while (done < len) {
    const r = readSync(fd, buf, done, len - done, pos + done);
    if (r === 0) break;
    done += r;
  }
  return done === len ? buf : buf.subarray(0, done);
}

function u64(b: Buffer, off: number, file: string): number {
  const v = b.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new WeightsFileError(file, undefined, `zip: 64-bit field ${v} is out of range (corrupt archive)`);
  return Number(v);
}

/** The central directory: entry name → entry. */
export function readZipDirectory(fd: number, file: string): Map<string, ZipEntry> {
  const fail = (detail: string): never => { throw new WeightsFileError(file, undefined, `zip: ${detail}`); };
  const size = fstatSync(fd).size;
  // The end-of-central-directory record is 22 bytes plus a comment of at most 65535 bytes.
  const tailStart = Math.max(0, size - 22 - 65535);
  const tail = readAt(fd, tailStart, size - tailStart);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) if (tail.readUInt32LE(i) === SIG_EOCD) { eocd = i; break; }
  if (eocd < 0) fail('no end-of-central-directory record (not a zip archive, or truncated)');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locPos = tailStart + eocd - 20;
    const loc = locPos >= 0 ? readAt(fd, locPos, 20) : Buffer.alloc(0);
    if (loc.length < 20 || loc.readUInt32LE(0) !== SIG_LOC64) fail('zip64 end-of-central-directory locator is missing');
    const e64 = readAt(fd, u64(loc, 8, file), 56);
    if (e64.length < 56 || e64.readUInt32LE(0) !== SIG_EOCD64) fail('zip64 end-of-central-directory record is missing');
    count = u64(e64, 32, file);
    cdSize = u64(e64, 40, file);
    cdOffset = u64(e64, 48, file);
  }
  if (cdOffset + cdSize > size) fail(`central directory (${cdSize} bytes at ${cdOffset}) runs past the end of the ${size}-byte file (truncated?)`);
  const cd = readAt(fd, cdOffset, cdSize);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CDH) fail(`central directory entry ${i} is corrupt`);
    const method = cd.readUInt16LE(p + 10);
    let compressedSize = cd.readUInt32LE(p + 20);
    let usize = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28), extraLen = cd.readUInt16LE(p + 30), commentLen = cd.readUInt16LE(p + 32);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extra field: the 8-byte values appear only for fields whose 32-bit slot is 0xffffffff.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = cd.readUInt16LE(x), len = cd.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        if (usize === 0xffffffff) { usize = u64(cd, q, file); q += 8; }
        if (compressedSize === 0xffffffff) { compressedSize = u64(cd, q, file); q += 8; }
        if (localHeaderOffset === 0xffffffff) { localHeaderOffset = u64(cd, q, file); q += 8; }
      }
      x += 4 + len;
    }
    entries.set(name, { name, method, compressedSize, size: usize, localHeaderOffset });
    p = xEnd + commentLen;
  }
  return entries;
}

/** Absolute offset of an entry's bytes (after its local header); refuses compressed entries. */
export function zipEntryDataOffset(fd: number, e: ZipEntry, file: string): number {
  if (e.method !== 0) {
    throw new WeightsFileError(file, e.name, `zip entry is compressed (method ${e.method}); only stored (uncompressed) entries ` +
      'are supported, as torch.save writes them. Re-save the file with torch.save instead of re-zipping it');
  }
  const h = readAt(fd, e.localHeaderOffset, 30);
  if (h.length < 30 || h.readUInt32LE(0) !== SIG_LFH) throw new WeightsFileError(file, e.name, 'zip: local file header is corrupt');
  const start = e.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
  if (start + e.size > fstatSync(fd).size) throw new WeightsFileError(file, e.name, `zip entry data (${e.size} bytes at ${start}) runs past the end of the file (truncated?)`);
  return start;
}

/** An entry's whole content (for small entries such as data.pkl). */
export function readZipEntry(fd: number, e: ZipEntry, file: string): Buffer {
  return readAt(fd, zipEntryDataOffset(fd, e, file), e.size);
}
