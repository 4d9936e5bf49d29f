// Atomic file writes: the bytes go to a temp file beside the target, are flushed, and are renamed over it, so a
// killed process or a full disk (EFBIG, ENOSPC) leaves the old file or the new one, never a truncated one.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** Temp names are `.NAME.PID.RANDOM.tmp` beside the target (hidden, and recognisable by cleanStaleTemps). */
const TEMP_RE = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Writes `data` to `path` atomically (temp file + fsync + rename); the temp file is removed on failure. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = tempPathFor(path);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) try { closeSync(fd); } catch { /* already closed */ }
    try { unlinkSync(tmp); } catch { /* never created */ }
    throw e;
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files that killed writers left in `dir` (our naming only, and only when their process is gone
 * and the file is older than `minAgeMs`). Returns the names removed.
 */
export function cleanStaleTemps(dir: string, minAgeMs = 60_000): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  const now = Date.now();
  for (const n of names) {
    const m = TEMP_RE.exec(n);
    if (!m || alive(Number(m[1]))) continue;
    const p = join(dir, n);
    try {
      if (now - statSync(p).mtimeMs < minAgeMs) continue;
      unlinkSync(p);
      removed.push(n);
    } catch { /* raced with another cleaner */ }
  }
  return removed;
}
