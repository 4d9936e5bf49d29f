// safetensors reader and writer. Format: u64 little-endian header length N, N bytes of JSON
// ({key: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}), then the raw
// little-endian tensor bytes. Tensor bytes go file <-> native memory directly (pread/write in the
// addon), so a multi-GB file is never held twice in memory.
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { native } from '../tensor/native.js';
import { Tensor } from '../tensor/tensor.js';
import { BYTES, dtypeCode, type DType } from '../tensor/dtype.js';
import { WeightsFileError } from './errors.js';

/** safetensors dtype tag → our dtype. */
const FROM_TAG: Record<string, DType> = {
  F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64',
  I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
const TO_TAG = Object.fromEntries(Object.entries(FROM_TAG).map(([k, v]) => [v, k])) as Record<DType, string>;
/** The python library orders data by dtype (its enum order, descending), then name: largest
 *  alignments first, so every tensor starts aligned. Ranks follow that enum. */
const TAG_RANK: Record<string, number> = { BOOL: 0, U8: 1, I8: 2, I16: 3, F16: 4, BF16: 5, I32: 6, F32: 7, F64: 8, I64: 9 };

/** Same cap as the reference implementation: a bigger header is a corrupt or hostile file. */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  dtype: DType;
  /** The file's tag: F32, BF16, ... */
  tag: string;
  shape: number[];
  /** Byte range relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Entries in file (data offset) order. */
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Absolute file offset where the data section starts (8 + header length). */
  dataStart: number;
  fileSize: number;
}

export interface ReadSafetensorsOptions {
  /** Load only these keys (each must exist) or the keys this predicate accepts. */
  keys?: readonly string[] | ((key: string) => boolean);
}

function readExactly(fd: number, buf: Buffer, pos: number): number {
  let done = 0;
  while (done < buf.length) {
    const r = readSync(fd, buf, done, buf.length - done, pos + done);
    if (r === 0) break;
    done += r;
  }
  return done;
}

function isUInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function parseHeader(fd: number, file: string): SafetensorsHeader {
  const fileSize = fstatSync(fd).size;
  const fail = (detail: string, key?: string): never => { throw new WeightsFileError(file, key, detail); };
  if (fileSize < 8) fail(`not a safetensors file: ${fileSize} bytes, shorter than the 8-byte header length`);
  const lenBuf = Buffer.alloc(8);
  readExactly(fd, lenBuf, 0);
  const n = lenBuf.readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} is larger than ${MAX_HEADER_BYTES} bytes (corrupt or not a safetensors file)`);
  const headerLen = Number(n);
  if (8 + headerLen > fileSize) fail(`header length ${headerLen} runs past the end of the ${fileSize}-byte file (truncated?)`);
  const hb = Buffer.alloc(headerLen);
  readExactly(fd, hb, 8);
  if (hb[0] !== 0x7b) fail('header does not start with "{" (not a safetensors file)');
  let json: unknown;
  try {
    json = JSON.parse(hb.toString('utf8'));
  } catch (e) {
    fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('header JSON is not an object');

  const dataStart = 8 + headerLen;
  const dataLen = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const entries: [string, SafetensorsEntry][] = [];
  for (const [key, v] of Object.entries(json as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('__metadata__ is not an object of strings');
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof mv !== 'string') fail(`__metadata__["${mk}"] is not a string`);
        metadata[mk] = mv as string;
      }
      continue;
    }
    if (v === null || typeof v !== 'object') fail('entry is not an object', key);
    const { dtype: tag, shape, data_offsets: offs } = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof tag !== 'string' || !(tag in FROM_TAG)) {
      fail(`unsupported dtype ${JSON.stringify(tag)} (supported: ${Object.keys(FROM_TAG).join(', ')})`, key);
    }
    if (!Array.isArray(shape) || !shape.every(isUInt)) fail(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`, key);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isUInt)) fail(`data_offsets ${JSON.stringify(offs)} is not [begin, end]`, key);
    const [b, e] = offs as [number, number];
    const dtype = FROM_TAG[tag as string];
    const numel = (shape as number[]).reduce((a, x) => a * x, 1);
    if (e < b) fail(`data_offsets [${b}, ${e}] end before they begin`, key);
    if (e - b !== numel * BYTES[dtype]) {
      fail(`data_offsets [${b}, ${e}] hold ${e - b} bytes but ${tag}[${(shape as number[]).join(',')}] needs ${numel * BYTES[dtype]}`, key);
    }
    if (e > dataLen) fail(`data_offsets [${b}, ${e}] run past the end of the data section (${dataLen} bytes; truncated file?)`, key);
    entries.push([key, { dtype, tag: tag as string, shape: shape as number[], dataOffsets: [b, e] }]);
  }
  entries.sort((x, y) => x[1].dataOffsets[0] - y[1].dataOffsets[0] || x[1].dataOffsets[1] - y[1].dataOffsets[1]);
  for (let i = 1; i < entries.length; i++) {
    const [pk, p] = entries[i - 1], [k, c] = entries[i];
    if (c.dataOffsets[0] < p.dataOffsets[1]) {
      fail(`data_offsets [${c.dataOffsets}] overlap those of '${pk}' [${p.dataOffsets}]`, k);
    }
  }
  return { tensors: new Map(entries), metadata, dataStart, fileSize };
}

/** Keys, dtypes, shapes and metadata, without reading any tensor data. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const fd = openOrThrow(path, 'r');
  try {
    return parseHeader(fd, path);
  } finally {
    closeSync(fd);
  }
}

function openOrThrow(path: string, flags: string): number {
  try {
    return openSync(path, flags);
  } catch (e) {
    throw new WeightsFileError(path, undefined, `cannot open: ${(e as Error).message}`);
  }
}

/** Reads tensors (all, or the selected keys) straight into native memory. */
export function readSafetensors(path: string, opts: ReadSafetensorsOptions = {}): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const fd = openOrThrow(path, 'r');
  const out = new Map<string, Tensor>();
  try {
    const header = parseHeader(fd, path);
    let want: (k: string) => boolean = () => true;
    if (Array.isArray(opts.keys)) {
      const set = new Set(opts.keys as string[]);
      for (const k of set) if (!header.tensors.has(k)) throw new WeightsFileError(path, k, 'no such tensor in this file');
      want = (k) => set.has(k);
    } else if (typeof opts.keys === 'function') want = opts.keys;
    // Entries are in offset order, so the reads go sequentially through the file.
    for (const [key, e] of header.tensors) {
      if (!want(key)) continue;
      let h: unknown;
      try {
        h = native.readFile(fd, header.dataStart + e.dataOffsets[0], dtypeCode(e.dtype), e.shape);
      } catch (err) {
        throw new WeightsFileError(path, key, (err as Error).message);
      }
      out.set(key, Tensor.fromHandle(h));
    }
    return { tensors: out, metadata: header.metadata };
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  } finally {
    closeSync(fd);
  }
}

/** The header bytes (padded with spaces to a multiple of 8) and the write order of the tensors. */
function buildHeader(file: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata?: Record<string, string>): { header: Buffer; order: [string, Tensor, number][] } {
  const list = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)).map(([key, t]) => {
    if (key === '__metadata__') throw new WeightsFileError(file, key, '"__metadata__" is reserved and cannot name a tensor');
    if (!(t instanceof Tensor)) throw new WeightsFileError(file, key, 'value is not a Tensor');
    if (t.isDisposed) throw new WeightsFileError(file, key, 'tensor was disposed');
    const dtype = t.dtype;
    const tag = TO_TAG[dtype];
    if (!tag) throw new WeightsFileError(file, key, `dtype ${dtype} cannot be stored in safetensors`);
    return { key, t, tag, shape: t.shape, bytes: t.numel * BYTES[dtype] };
  });
  list.sort((a, b) => TAG_RANK[b.tag] - TAG_RANK[a.tag] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const obj: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) {
    const m: Record<string, string> = {};
    for (const k of Object.keys(metadata).sort()) {
      if (typeof metadata[k] !== 'string') throw new WeightsFileError(file, undefined, `metadata["${k}"] must be a string`);
      m[k] = metadata[k];
    }
    obj.__metadata__ = m;
  }
  let off = 0;
  for (const e of list) {
    obj[e.key] = { dtype: e.tag, shape: e.shape, data_offsets: [off, off + e.bytes] };
    off += e.bytes;
  }
  let json = Buffer.from(JSON.stringify(obj), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const header = Buffer.alloc(8 + json.length);
  header.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(header, 8);
  return { header, order: list.map((e) => [e.key, e.t, e.bytes]) };
}

/**
 * Writes tensors as safetensors, atomically: everything goes to a temp file in the same directory,
 * which is fsynced and then renamed over `path`. On any failure the temp file is removed and an
 * existing file at `path` is left untouched. Tensors stream one by one (no whole-file buffer).
 */
export function writeSafetensors(path: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata?: Record<string, string>): void {
  const { header, order } = buildHeader(path, tensors, metadata);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o644);
  } catch (e) {
    throw new WeightsFileError(path, undefined, `cannot create temp file ${tmp}: ${(e as Error).message}`);
  }
  let key: string | undefined;
  try {
    let done = 0;
    while (done < header.length) done += writeSync(fd, header, done, header.length - done);
    for (const [k, t, bytes] of order) {
      key = k;
      const n = native.writeFile(fd, t.handle);
      if (n !== bytes) throw new Error(`wrote ${n} bytes, expected ${bytes}`);
    }
    key = undefined;
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) try { closeSync(fd); } catch { /* already failing */ }
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e instanceof WeightsFileError ? e : new WeightsFileError(path, key, `write failed: ${(e as Error).message}`);
  }
  // Make the rename itself durable; not every filesystem allows fsync on a directory.
  try {
    const dfd = openSync(dirname(path), 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch { /* best effort */ }
}
