// `npm run bench -- --merge`: a partial run (e.g. --filter upscal) completes the committed report instead of
// replacing it. Rows and probes of the previous report that this run did not measure are carried over, each
// noted with the date of the run that measured it — but only while the code still defines a row of that name:
// a renamed or removed row (e.g. "upscale 256→512" after the default model became 4×) is dropped, not kept stale.
import { existsSync, readFileSync } from 'node:fs';
import type { Report } from './report.js';

/** Adds the previous report's still-defined, not re-measured rows and probes to `report` (in place). */
export function mergePrevious(report: Report, jsonPath: string, defined: ReadonlySet<string>): { carried: number; dropped: string[] } {
  if (!existsSync(jsonPath)) return { carried: 0, dropped: [] };
  const prev = JSON.parse(readFileSync(jsonPath, 'utf8')) as Report;
  const have = new Set([...report.rows.map((r) => r.name), ...report.probes.map((p) => p.name), ...report.skipped.map((s) => s.name)]);
  const dropped: string[] = [];
  // rows carried over from a merged report already name their own run
  const carried = <T extends { name: string; notes?: string }>(xs: T[] = []): T[] => xs
    .filter((x) => {
      if (have.has(x.name)) return false;
      if (!defined.has(x.name)) { dropped.push(x.name); return false; }
      return true;
    })
    .map((x) => (x.notes?.includes('measured in the run of') ? x : { ...x, notes: `${x.notes ? x.notes + '; ' : ''}measured in the run of ${prev.date}` }));
  const rows = carried(prev.rows);
  const probes = carried(prev.probes);
  report.rows.push(...rows);
  report.probes.push(...probes);
  report.command += ` (merged with the report of ${prev.date})`;
  return { carried: rows.length + probes.length, dropped };
}
