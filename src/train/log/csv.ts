// CSV metrics log: one row per logged step, header written once. Columns grow when a new metric shows
// up (the file is then rewritten with the wider header, atomically); reopening an existing file appends
// to it under its header, and `resumeStep` drops rows logged after the checkpoint being resumed, so a
// resumed run does not duplicate steps.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from './logger.js';
import type { RgbImage } from '../../util/png.js';

export class CsvLogError extends Error {
  override name = 'CsvLogError';
}

function cell(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = typeof v === 'number' ? String(v) : v;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Splits one CSV line (RFC 4180 quoting; rows never contain raw newlines here). */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') { out.push(cur); cur = ''; }
    else cur += c;
  }
  out.push(cur);
  return out;
}

export interface CsvLoggerOptions {
  /** When resuming from a checkpoint at this step, rows with a larger step are dropped. */
  resumeStep?: number;
}

export class CsvLogger implements Logger {
  private columns: string[] = [];
  private fd: number | null = null;

  constructor(readonly path: string, opts: CsvLoggerOptions = {}) {
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      const lines = text.split('\n').filter((l) => l.length > 0);
      if (lines.length) {
        this.columns = parseCsvLine(lines[0]);
        if (this.columns[0] !== 'step') throw new CsvLogError(`${path}: not a metrics CSV (first column is "${this.columns[0]}", expected "step")`);
        if (opts.resumeStep !== undefined) {
          const keep = lines.slice(1).filter((l) => Number(parseCsvLine(l)[0]) <= opts.resumeStep!);
          if (keep.length !== lines.length - 1) this.rewrite([lines[0], ...keep]);
        }
      }
    }
    this.fd = openSync(path, 'a');
  }

  private rewrite(lines: string[]): void {
    const tmp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(tmp, lines.map((l) => l + '\n').join(''));
    renameSync(tmp, this.path);
  }

  logScalars(step: number, values: Record<string, number>): void {
    if (this.fd === null) throw new CsvLogError(`${this.path}: logger is closed`);
    const keys = Object.keys(values).filter((k) => k !== 'step');
    if (this.columns.length === 0) {
      this.columns = ['step', ...keys];
      writeSync(this.fd, this.columns.map(cell).join(',') + '\n');
    } else {
      const fresh = keys.filter((k) => !this.columns.includes(k));
      if (fresh.length) this.widen(fresh);
    }
    const row = this.columns.map((c) => (c === 'step' ? step : values[c]));
    writeSync(this.fd!, row.map(cell).join(',') + '\n');
  }

  /** New metric names: rewrite the file with a wider header and padded rows. */
  private widen(fresh: string[]): void {
    closeSync(this.fd!);
    const lines = readFileSync(this.path, 'utf8').split('\n').filter((l) => l.length > 0);
    const pad = ','.repeat(fresh.length);
    this.columns = [...this.columns, ...fresh];
    this.rewrite([this.columns.map(cell).join(','), ...lines.slice(1).map((l) => l + pad)]);
    this.fd = openSync(this.path, 'a');
  }

  logImage(_tag: string, _step: number, _img: RgbImage): void {}

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

/** Reads a metrics CSV back as rows of numbers (empty cells → undefined). */
export function readMetricsCsv(path: string): { columns: string[]; rows: Record<string, number | undefined>[] } {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  if (!lines.length) return { columns: [], rows: [] };
  const columns = parseCsvLine(lines[0]);
  const rows = lines.slice(1).map((l) => {
    const cells = parseCsvLine(l);
    const r: Record<string, number | undefined> = {};
    columns.forEach((c, i) => (r[c] = cells[i] === undefined || cells[i] === '' ? undefined : Number(cells[i])));
    return r;
  });
  return { columns, rows };
}
