// A small POSIX tar reader: lists members (ustar, GNU long names, pax path/size records) with their
// byte ranges, without reading member data, so shards are read lazily by range.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DataSourceError } from '../errors.js';

export interface TarMember {
  name: string;
  /** Absolute file offset of the data. */
  offset: number;
  size: number;
  /** '0' regular file, '5' directory, ... */
  type: string;
}

export interface TarIndex {
  members: TarMember[];
  /** Problems that stopped the listing early (truncated archive, bad checksum). */
  problems: string[];
}

const BLOCK = 512;

function cstr(b: Buffer, start: number, len: number): string {
  const sub = b.subarray(start, start + len);
  const z = sub.indexOf(0);
  return sub.toString('utf8', 0, z < 0 ? len : z);
}

function octal(b: Buffer, start: number, len: number): number {
  if (b[start] & 0x80) { // GNU base-256 for sizes ≥ 8 GiB
    let v = b[start] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[start + i];
    return v;
  }
  const s = cstr(b, start, len).trim();
  return s ? parseInt(s, 8) : 0;
}

function checksumOk(h: Buffer): boolean {
  const stored = octal(h, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  return sum === stored;
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let p = 0;
  while (p < data.length) {
    const sp = data.indexOf(0x20, p);
    if (sp < 0) break;
    const len = parseInt(data.toString('utf8', p, sp), 10);
    if (!(len > 0)) break;
    const rec = data.toString('utf8', sp + 1, p + len - 1); // drop trailing newline
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    p += len;
  }
  return out;
}

export function readTarIndex(path: string): TarIndex {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new DataSourceError(path, `cannot open tar: ${(e as Error).message}`);
  }
  const members: TarMember[] = [];
  const problems: string[] = [];
  try {
    const fileSize = fstatSync(fd).size;
    const h = Buffer.alloc(BLOCK);
    let pos = 0;
    let longName: string | undefined;
    let pax: Record<string, string> = {};
    while (pos + BLOCK <= fileSize) {
      readSync(fd, h, 0, BLOCK, pos);
      if (h.every((x) => x === 0)) break; // end-of-archive marker
      if (!checksumOk(h)) {
        if (members.length === 0 && pos === 0) throw new DataSourceError(path, 'not a tar file (header checksum mismatch at offset 0)');
        problems.push(`header checksum mismatch at offset ${pos}; listing stopped`);
        break;
      }
      const type = String.fromCharCode(h[156] || 0x30);
      let size = octal(h, 124, 12);
      if (pax.size !== undefined) size = Number(pax.size);
      const dataOff = pos + BLOCK;
      const next = dataOff + Math.ceil(size / BLOCK) * BLOCK;
      if (dataOff + size > fileSize) {
        problems.push(`member at offset ${pos} needs ${size} bytes but the file ends first (truncated archive)`);
        break;
      }
      const readData = () => { const b = Buffer.alloc(size); readSync(fd, b, 0, size, dataOff); return b; };
      if (type === 'L') { longName = cstr(readData(), 0, size); pos = next; continue; }
      if (type === 'x') { pax = parsePax(readData()); pos = next; continue; }
      if (type === 'g') { pos = next; continue; }
      let name = cstr(h, 0, 100);
      if (h.toString('latin1', 257, 262) === 'ustar') {
        const prefix = cstr(h, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      if (longName !== undefined) name = longName;
      if (pax.path !== undefined) name = pax.path;
      longName = undefined;
      pax = {};
      members.push({ name, offset: dataOff, size, type });
      pos = next;
    }
    return { members, problems };
  } finally {
    closeSync(fd);
  }
}

/** Reads a member's bytes. */
export function readTarMember(path: string, m: { offset: number; size: number }): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(m.size);
    let done = 0;
    while (done < m.size) {
      const r = readSync(fd, b, done, m.size - done, m.offset + done);
      if (r === 0) throw new DataSourceError(path, `member at ${m.offset} is truncated`);
      done += r;
    }
    return b;
  } finally {
    closeSync(fd);
  }
}

/** WebDataset key/extension split: "dir/abc.seg.png" → ["dir/abc", "seg.png"] (first dot of the basename). */
export function splitKey(name: string): [string, string] | null {
  const slash = name.lastIndexOf('/');
  const dot = name.indexOf('.', slash + 1);
  if (dot <= slash + 1) return null;
  return [name.slice(0, dot), name.slice(dot + 1).toLowerCase()];
}
