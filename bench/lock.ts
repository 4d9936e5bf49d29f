// One benchmark at a time on this machine: two runs at once would each measure the other's load.
import { openSync, writeSync, closeSync, readFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOCK = join(tmpdir(), 'fmboost-bench.lock');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryTake(): number | null {
  try {
    const fd = openSync(LOCK, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return null;
  } catch {
    const holder = Number(readFileSync(LOCK, 'utf8').trim());
    if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) {
      try { unlinkSync(LOCK); } catch { /* someone else cleared it */ }
      return tryTake();
    }
    return holder;
  }
}

/** Waits (up to maxSec) for other bench runs to finish, then holds the lock until release(). */
export async function acquireBenchLock(maxSec: number): Promise<{ waitedSec: number; release(): void }> {
  const t0 = Date.now();
  let told = false;
  for (;;) {
    const holder = tryTake();
    if (holder === null) break;
    if ((Date.now() - t0) / 1e3 > maxSec) {
      console.warn(`bench: another bench run (pid ${holder}) still holds ${LOCK} after ${maxSec} s; running anyway`);
      return { waitedSec: (Date.now() - t0) / 1e3, release() {} };
    }
    if (!told) console.log(`bench: waiting for another bench run (pid ${holder}) to finish…`);
    told = true;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const release = () => {
    try {
      if (readFileSync(LOCK, 'utf8').trim() === String(process.pid)) unlinkSync(LOCK);
    } catch { /* already gone */ }
  };
  process.once('exit', release);
  return { waitedSec: (Date.now() - t0) / 1e3, release };
}
