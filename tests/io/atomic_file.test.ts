// Atomic writes (temp file + fsync + rename) and the clean-up of temp files that killed writers left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanStaleTemps, tempPathFor, writeFileAtomic } from '../../src/io/index.js';
import { tmpDir } from '../pipeline/tiny.js';

test('writeFileAtomic replaces the file whole, and a failed write leaves the old file and no temp file', () => {
  const { dir, cleanup } = tmpDir('fmboost-atomic-');
  try {
    const p = join(dir, 'out.png');
    writeFileAtomic(p, 'old');
    writeFileAtomic(p, Buffer.from('new bytes'));
    assert.equal(readFileSync(p, 'utf8'), 'new bytes');
    // renaming onto a non-empty folder fails: the target is untouched and the temp file removed
    mkdirSync(join(dir, 'taken', 'x'), { recursive: true });
    assert.throws(() => writeFileAtomic(join(dir, 'taken'), 'data'));
    assert.deepEqual(readdirSync(dir).sort(), ['out.png', 'taken']);
  } finally {
    cleanup();
  }
});

test('cleanStaleTemps removes only our temp files whose process is gone (and old enough)', () => {
  const { dir, cleanup } = tmpDir('fmboost-atomic-');
  try {
    const dead = join(dir, '.step-000000200.safetensors.2147483646.0a1b2c3d.tmp'); // a pid above pid_max: not running
    const mine = tempPathFor(join(dir, 'last.safetensors')); // this process: alive
    const other = join(dir, 'notes.tmp');
    for (const p of [dead, mine, other]) writeFileSync(p, 'x');
    const old = new Date(Date.now() - 3_600_000);
    for (const p of [dead, mine, other]) utimesSync(p, old, old);
    assert.deepEqual(cleanStaleTemps(dir), ['.step-000000200.safetensors.2147483646.0a1b2c3d.tmp']);
    assert.deepEqual(readdirSync(dir).sort(), [mine.slice(dir.length + 1), 'notes.tmp'].sort());
    assert.deepEqual(cleanStaleTemps(join(dir, 'missing')), []);
  } finally {
    cleanup();
  }
});
