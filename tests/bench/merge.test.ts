// bench --merge: the previous report's rows that this run did not measure are kept (noted with their run's date)
// while the code still defines them; renamed or removed rows are dropped, not carried as stale numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergePrevious } from '../../bench/merge.js';
import type { Report } from '../../bench/report.js';
import { tmpDir } from '../pipeline/tiny.js';

const row = (name: string, notes?: string) => ({ name, group: 'g', notes }) as unknown as Report['rows'][number];
const report = (date: string, rows: string[], probes: string[] = [], skipped: string[] = []): Report => ({
  date, command: 'npm run bench', rows: rows.map((n) => row(n)), probes: probes.map((n) => row(n)) as unknown as Report['probes'],
  skipped: skipped.map((name) => ({ name, group: 'g', reason: 'x' })),
} as unknown as Report);

test('merge keeps defined unmeasured rows with their date, drops undefined ones, never duplicates', () => {
  const { dir, cleanup } = tmpDir('fmboost-merge-');
  try {
    const path = join(dir, 'report.json');
    const prev = report('2026-01-01T00:00:00Z', ['a', 'b', 'upscale 256→512', 'skipped-now'], ['p-old', 'p']);
    prev.rows[1] = row('b', 'measured in the run of 2025-12-01T00:00:00Z');
    writeFileSync(path, JSON.stringify(prev));
    const cur = report('2026-02-01T00:00:00Z', ['a', 'upscale 128→512'], [], ['skipped-now']);
    const defined = new Set(['a', 'b', 'upscale 128→512', 'skipped-now', 'p']);
    const m = mergePrevious(cur, path, defined);
    assert.deepEqual(cur.rows.map((r) => r.name), ['a', 'upscale 128→512', 'b']);
    assert.deepEqual(cur.probes.map((r) => r.name), ['p']);
    assert.deepEqual(m, { carried: 2, dropped: ['upscale 256→512', 'p-old'] });
    // a row carried twice keeps the date of the run that measured it
    assert.equal((cur.rows[2] as unknown as { notes: string }).notes, 'measured in the run of 2025-12-01T00:00:00Z');
    assert.match((cur.probes[0] as unknown as { notes: string }).notes, /measured in the run of 2026-01-01/);
    assert.match(cur.command, /merged with the report of 2026-01-01/);
  } finally {
    cleanup();
  }
});

test('merge without a previous report changes nothing', () => {
  const cur = report('2026-02-01T00:00:00Z', ['a']);
  assert.deepEqual(mergePrevious(cur, '/nonexistent/report.json', new Set(['a'])), { carried: 0, dropped: [] });
  assert.equal(cur.command, 'npm run bench');
});
