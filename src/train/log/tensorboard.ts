// TensorBoard event files written directly: TFRecord framing around serialized `Event` protos.
//   record = uint64 length (LE) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
//   Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }
//   Value { string tag = 1; float simple_value = 2; Image image = 4; }
//   Image { int32 height = 1; int32 width = 2; int32 colorspace = 3; bytes encoded_image_string = 4; }
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { maskedCrc32c } from '../../util/crc32c.js';
import { ProtoWriter } from './protobuf.js';
import { encodePng, type RgbImage } from '../../util/png.js';
import type { Logger } from './logger.js';

export function tfRecord(data: Uint8Array): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(data.length));
  const lenCrc = Buffer.alloc(4);
  lenCrc.writeUInt32LE(maskedCrc32c(len));
  const dataCrc = Buffer.alloc(4);
  dataCrc.writeUInt32LE(maskedCrc32c(data));
  return Buffer.concat([len, lenCrc, data, dataCrc]);
}

export function eventProto(wallTime: number, step: number, what: { fileVersion?: string; summary?: ProtoWriter }): Uint8Array {
  const ev = new ProtoWriter().double(1, wallTime).int(2, step);
  if (what.fileVersion !== undefined) ev.bytes(3, what.fileVersion);
  if (what.summary) ev.message(5, what.summary);
  return ev.finish();
}

export function scalarValue(tag: string, value: number): ProtoWriter {
  return new ProtoWriter().bytes(1, tag).float(2, value);
}

/** An image summary value; `png` holds encoded image bytes, colorspace 1 = gray, 3 = RGB, 4 = RGBA. */
export function imageValue(tag: string, png: Uint8Array, height: number, width: number, colorspace: number): ProtoWriter {
  const img = new ProtoWriter().int(1, height).int(2, width).int(3, colorspace).bytes(4, png);
  return new ProtoWriter().bytes(1, tag).message(4, img);
}

export interface TensorBoardOptions {
  /** Clock for wall_time (seconds); injectable for tests. */
  now?: () => number;
  /** fsync after every write (slow; default: flush to the OS only). */
  fsync?: boolean;
}

/**
 * Writes one new events file per writer into `dir` (TensorBoard reads every events file in a directory,
 * so a resumed run simply adds another file).
 */
export class TensorBoardLogger implements Logger {
  readonly path: string;
  private fd: number | null;
  private readonly now: () => number;
  private readonly doFsync: boolean;

  constructor(dir: string, opts: TensorBoardOptions = {}) {
    mkdirSync(dir, { recursive: true });
    this.now = opts.now ?? (() => Date.now() / 1000);
    this.doFsync = opts.fsync ?? false;
    const t = this.now();
    this.path = join(dir, `events.out.tfevents.${Math.floor(t)}.${hostname()}.${process.pid}.${Math.random().toString(36).slice(2, 8)}`);
    this.fd = openSync(this.path, 'wx');
    this.write(eventProto(t, 0, { fileVersion: 'brain.Event:2' }));
  }

  private write(event: Uint8Array): void {
    if (this.fd === null) throw new Error(`TensorBoardLogger: ${this.path} is closed`);
    writeSync(this.fd, tfRecord(event));
    if (this.doFsync) fsyncSync(this.fd);
  }

  logScalars(step: number, values: Record<string, number>): void {
    const summary = new ProtoWriter();
    let n = 0;
    for (const [tag, v] of Object.entries(values)) {
      if (typeof v !== 'number') continue; // NaN/Inf are written as-is: a diverging loss should show up
      summary.message(1, scalarValue(tag, v));
      n++;
    }
    if (n) this.write(eventProto(this.now(), step, { summary }));
  }

  logImage(tag: string, step: number, img: RgbImage): void {
    const png = encodePng(img);
    this.write(eventProto(this.now(), step, { summary: new ProtoWriter().message(1, imageValue(tag, png, img.height, img.width, img.channels)) }));
  }

  flush(): void {
    if (this.fd !== null) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === null) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
  }
}
