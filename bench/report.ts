// The benchmark report: machine and settings, then one line per row; as a table on stdout,
// bench/report.md for people and bench/report.json for tools.
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { DEFAULT_MAX_RATIO, type BenchRow, type ProbeResult, type SkippedRow } from './registry.js';
import type { TimingPlan } from './timing.js';
import type { MachinePeak } from './peak.js';
import { barChartSvg, svgToPng, type Bar } from '../src/util/chart.js';

export interface RowResult {
  name: string;
  group: string;
  oursMs: number;
  torchMs: number;
  /**
   * ours / torch: the median over rounds of each round's median-ours / median-torch. Rounds are short
   * and back to back, so a burst of foreign load lands inside one pair instead of on one side.
   */
  ratio: number;
  /** Median over all our calls / median over all torch calls (unpaired, weighted by calls; sensitive to load bursts). */
  unpairedRatio: number;
  minMs: { ours: number; torch: number };
  oursGflops?: number;
  torchGflops?: number;
  /** Achieved FLOP/s ÷ the machine's peak for the run's threads (Report.peak). */
  oursPeakFrac?: number;
  torchPeakFrac?: number;
  oursUsPerOp?: number;
  torchUsPerOp?: number;
  target: string;
  pass: boolean;
  samples: { ours: number; torch: number; rounds: number };
  /** Spread of the samples: (p90 − p10) / median. */
  spread: { ours: number; torch: number };
  /** Share of all cores (0–1) taken by other processes while the row ran. */
  othersCpu: number;
  /** CPU time per call (user + system, all threads): less sensitive to other load than wall time. */
  cpuMsPerCall: { ours: number; torch: number };
  /** Minor page faults per timed call (memory freshly mapped in: allocator behaviour). */
  faultsPerCall: { ours: number; torch: number };
  /** Seconds spent before the row waiting for other processes to quieten down. */
  waitedSec?: number;
  /** Measurements made of this row (the one with the least foreign load is reported). */
  attempts?: number;
  notes?: string;
}

/** A probe row's measurement (bench/registry.ts ProbeRow). */
export interface ProbeRowResult extends ProbeResult {
  name: string;
  group: string;
  flops?: number;
  oursGflops?: number;
  oursPeakFrac?: number;
  othersCpu: number;
  notes?: string;
}

export interface Report {
  date: string;
  command: string;
  machine: { cpu: string; cores: number; ramGB: number };
  versions: { node: string; libtorch: string; torch: string; python: string };
  threads: { ours: number; torch: number };
  env: Record<string, string>;
  options: { quick: boolean; plan: TimingPlan; filter: string | null };
  /** 1/5/15-minute load averages before and after the run (other processes share these cores). */
  load: { before: number[]; after: number[] };
  /** Peak FP32 GFLOP/s of the machine for the run's threads (the FLOP-utilisation column's denominator). */
  peak: MachinePeak;
  rows: RowResult[];
  /** Probe rows (peak memory of one run in a fresh process, …). */
  probes: ProbeRowResult[];
  /** Selected rows that were not measured, with the reason. */
  skipped: SkippedRow[];
  /** Row files that failed to load (their rows are missing from this report). */
  loadErrors: { file: string; error: string }[];
}

export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1].trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function machine(): Report['machine'] {
  return { cpu: cpuModel(), cores: availableParallelism(), ramGB: Math.round(totalmem() / 2 ** 30 * 10) / 10 };
}

/** Judges one row against its target: µs per op for overhead rows, else the ratio. */
export function judge(row: BenchRow, oursMs: number, ratio: number): Pick<RowResult, 'target' | 'pass'> {
  const maxUs = row.target?.maxUsPerOp;
  if (maxUs !== undefined && row.opsPerCall) {
    return { target: `< ${maxUs} µs/op`, pass: (oursMs * 1e3) / row.opsPerCall < maxUs };
  }
  const maxRatio = row.target?.maxRatio ?? DEFAULT_MAX_RATIO;
  return { target: `≤ ${maxRatio.toFixed(2)}`, pass: ratio <= maxRatio };
}

const f = (x: number | undefined, d = 2) => (x === undefined ? '' : x.toFixed(d));
const ms = (x: number) => (x < 1 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(1));

function cells(r: RowResult): string[] {
  const gflops = r.oursGflops !== undefined ? `${f(r.oursGflops, 1)} / ${f(r.torchGflops, 1)}` : '';
  const util = r.oursPeakFrac !== undefined ? `${f(100 * r.oursPeakFrac, 1)} / ${f(100 * (r.torchPeakFrac ?? NaN), 1)}` : '';
  const perOp = r.oursUsPerOp !== undefined ? `${f(r.oursUsPerOp)} / ${f(r.torchUsPerOp)}` : '';
  const cpu = `${ms(r.cpuMsPerCall.ours)} / ${ms(r.cpuMsPerCall.torch)}`;
  return [r.name, ms(r.oursMs), ms(r.torchMs), f(r.ratio, 3), f(r.unpairedRatio, 3), gflops, util, perOp, cpu,
    `${r.faultsPerCall.ours} / ${r.faultsPerCall.torch}`, r.target, r.pass ? 'ok' : 'MISS', `${(100 * r.othersCpu).toFixed(0)}%`];
}
const HEAD = ['row', 'ours ms', 'torch ms', 'ours/torch', 'unpaired', 'GFLOP/s ours / torch', '% of peak ours / torch', 'µs/op ours / torch', 'CPU ms/call ours / torch', 'page faults/call ours / torch', 'target', 'met', 'others\' CPU'];

function textTable(head: string[], body: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

export function table(rows: RowResult[]): string {
  return textTable(HEAD, rows.map(cells));
}

const PROBE_HEAD = ['probe', 'ours s', 'torch s', 'ours/torch', 'peak RSS MB ours / torch', 'GFLOP/s ours', '% of peak ours', 'details', 'others\' CPU'];

function probeCells(p: ProbeRowResult): string[] {
  const details = Object.entries(p.details ?? {}).map(([k, v]) => `${k} ${v}`).join(', ');
  return [p.name, (p.oursMs / 1e3).toFixed(1), p.torchMs !== undefined ? (p.torchMs / 1e3).toFixed(1) : '—', p.ratio !== undefined ? f(p.ratio, 3) : '—',
    `${p.peakRssMB.ours.toFixed(0)} / ${p.peakRssMB.torch !== undefined ? p.peakRssMB.torch.toFixed(0) : '—'}`,
    f(p.oursGflops, 1), p.oursPeakFrac !== undefined ? f(100 * p.oursPeakFrac, 1) : '', details, `${(100 * p.othersCpu).toFixed(0)}%`];
}

export function probeTable(probes: ProbeRowResult[]): string {
  return textTable(PROBE_HEAD, probes.map(probeCells));
}

export function skippedTable(skipped: SkippedRow[]): string {
  const w = Math.max('skipped row'.length, ...skipped.map((s) => s.name.length));
  return ['skipped row'.padEnd(w) + '  reason', ...skipped.map((s) => `${s.name.padEnd(w)}  ${s.reason}`)].join('\n');
}

/** Goals of issue 14 for the precision rows: ≥ 2× PyTorch's default fp32 (pipeline and training steps), no slower than PyTorch's best. */
export const SPEEDUP_GOAL = 2;
const PRECISION_VARIANT = / · (fp32|bf16|bf16\+CL)$/;

export interface PrecisionSummary {
  base: string;
  ours: Record<string, number>;
  torch: Record<string, number>;
  /** Our fastest variant and PyTorch's. */
  oursBest: { variant: string; ms: number };
  torchBest: { variant: string; ms: number };
  /** torch fp32 ms / our best ms (the "×" over PyTorch's default). */
  speedupVsTorchFp32: number;
  /** our best ms / torch best ms (≤ 1: no slower than PyTorch's best). */
  ratioVsTorchBest: number;
}

/** Rows named '<base> · fp32|bf16|bf16+CL', one summary per base with all three variants measured. */
export function precisionSummaries(rows: RowResult[]): PrecisionSummary[] {
  const by = new Map<string, RowResult[]>();
  for (const r of rows) {
    const m = PRECISION_VARIANT.exec(r.name);
    if (!m) continue;
    const base = r.name.slice(0, m.index);
    by.set(base, [...(by.get(base) ?? []), r]);
  }
  const out: PrecisionSummary[] = [];
  for (const [base, rs] of by) {
    const ours: Record<string, number> = {}, torch: Record<string, number> = {};
    for (const r of rs) {
      const v = PRECISION_VARIANT.exec(r.name)![1];
      ours[v] = r.oursMs;
      torch[v] = r.torchMs;
    }
    if (ours.fp32 === undefined || torch.fp32 === undefined) continue;
    const best = (o: Record<string, number>) => Object.entries(o).reduce((a, [variant, ms]) => (ms < a.ms ? { variant, ms } : a), { variant: '', ms: Infinity });
    const oursBest = best(ours), torchBest = best(torch);
    out.push({ base, ours, torch, oursBest, torchBest, speedupVsTorchFp32: torch.fp32 / oursBest.ms, ratioVsTorchBest: oursBest.ms / torchBest.ms });
  }
  return out;
}

function precisionLines(rows: RowResult[]): string[] {
  const sums = precisionSummaries(rows);
  if (!sums.length) return [];
  const v = ['fp32', 'bf16', 'bf16+CL'];
  const head = ['model / step', ...v.map((x) => `ours ${x} ms`), ...v.map((x) => `torch ${x} ms`), 'ours best', `× vs torch fp32 (goal ≥ ${SPEEDUP_GOAL})`, 'ours best / torch best (goal ≤ 1)'];
  const cell = (x: number | undefined) => (x === undefined ? '—' : ms(x));
  return [
    'Precision summary: each model at fp32, bf16 (autocast) and bf16 + channels_last on both sides; "×" = PyTorch fp32 time / our fastest; ' +
      '"ours best / torch best" = our fastest / PyTorch\'s fastest setting.', '',
    '| ' + head.join(' | ') + ' |', '|' + head.map((_, i) => (i === 0 ? '---' : '---:')).join('|') + '|',
    ...sums.map((s) => '| ' + [s.base, ...v.map((x) => cell(s.ours[x])), ...v.map((x) => cell(s.torch[x])), s.oursBest.variant,
      `${s.speedupVsTorchFp32.toFixed(2)}${s.speedupVsTorchFp32 >= SPEEDUP_GOAL ? '' : ' (MISS)'}`,
      `${s.ratioVsTorchBest.toFixed(3)}${s.ratioVsTorchBest <= 1 ? '' : ' (MISS)'}`].join(' | ') + ' |'),
    '',
  ];
}

export function markdown(rep: Report): string {
  const p = rep.options.plan;
  const env = Object.entries(rep.env).map(([k, v]) => `${k}=${v}`).join(', ');
  const lines = [
    '# fmboost benchmark: ours (libtorch from Node) vs PyTorch, same run',
    '',
    `- date: ${rep.date}`,
    `- command: \`${rep.command}\``,
    `- machine: ${rep.machine.cpu}, ${rep.machine.cores} cores, ${rep.machine.ramGB} GB RAM`,
    `- versions: node ${rep.versions.node}, libtorch ${rep.versions.libtorch} (ours), torch ${rep.versions.torch} (python ${rep.versions.python})`,
    `- threads: ours ${rep.threads.ours}, torch ${rep.threads.torch}`,
    `- environment (as inherited by both sides, not changed by the bench): ${env}`,
    `- timing: per row, a warm-up on each side (≥ ${p.warmupCalls} calls and ≥ ${p.warmupSec} s), then rounds alternating ours and torch ` +
      `(each round times single calls for ≥ ${p.roundSec} s), until each side has ≥ ${p.sideSec} s, ≥ ${p.minIters} calls and ≥ ${p.minRounds} rounds. ` +
      '"ours ms"/"torch ms" = median over rounds of the round\'s median call; "ours/torch" = median over rounds of each round\'s ours/torch ' +
      '(paired, so load bursts land inside a pair; the target applies to it); "unpaired" = median over all our calls / median over all torch calls; ' +
      '"CPU ms/call" = process CPU time (all threads) per call; "page faults/call" = minor faults (memory the allocator got fresh from the OS); "others\' CPU" = share of all cores used by other processes during the row' +
      (rep.options.filter ? `; filter: \`${rep.options.filter}\`` : ''),
    `- load average (1/5/15 min) before → after: ${rep.load.before.map((x) => x.toFixed(2)).join('/')} → ${rep.load.after.map((x) => x.toFixed(2)).join('/')}` +
      ' (this machine is shared; other work on these cores adds noise to both sides)',
    `- target: ours/torch ≤ ${DEFAULT_MAX_RATIO.toFixed(2)}; per-op overhead < 10 µs`,
    `- peak: ${rep.peak.gflops.toFixed(0)} GFLOP/s fp32, ${(rep.peak.bf16Gflops ?? rep.peak.gflops).toFixed(0)} GFLOP/s bf16 for ${rep.peak.cores} core(s) (${rep.peak.source}${rep.peak.kernels ? `: ${Object.entries(rep.peak.kernels).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}` : ''}); "% of peak" = achieved GFLOP/s ÷ the peak of the row's precision`,
    '',
    '| ' + HEAD.join(' | ') + ' |',
    '|' + HEAD.map((_, i) => (i === 0 ? '---' : '---:')).join('|') + '|',
    ...rep.rows.map((r) => '| ' + cells(r).join(' | ') + ' |'),
    '',
    ...precisionLines(rep.rows),
  ];
  if (rep.probes.length) {
    lines.push('Probes (one run each in a fresh process; peak RSS = its VmHWM):', '',
      '| ' + PROBE_HEAD.join(' | ') + ' |', '|' + PROBE_HEAD.map((_, i) => (i === 0 || i === PROBE_HEAD.indexOf('details') ? '---' : '---:')).join('|') + '|',
      ...rep.probes.map((p) => '| ' + probeCells(p).join(' | ') + ' |'), '');
    for (const p of rep.probes) if (p.noTorch) lines.push(`- ${p.name}: no PyTorch counterpart: ${p.noTorch}`);
    lines.push('');
  }
  if (rep.skipped.length) {
    lines.push('Skipped rows (selected, not measured):', '', '| row | reason |', '|---|---|', ...rep.skipped.map((s) => `| ${s.name} | ${s.reason} |`), '');
  }
  if (rep.loadErrors.length) {
    lines.push('Row files that failed to load (their rows are missing):', '');
    for (const e of rep.loadErrors) lines.push(`- ${e.file}: ${e.error}`);
    lines.push('');
  }
  const noted = [...rep.rows, ...rep.probes].filter((r) => r.notes);
  if (noted.length) {
    lines.push('Notes:', '');
    for (const r of noted) lines.push(`- ${r.name}: ${r.notes}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The rows as a bar chart of speed against PyTorch (torch time / our time: above 1 is faster than PyTorch). */
export function ratioChartSvg(rep: Report): string {
  const bars: Bar[] = rep.rows.filter((r) => Number.isFinite(r.ratio) && r.ratio > 0).map((r) => ({
    label: r.name, value: 1 / r.ratio, color: r.pass ? '#2ca02c' : '#d62728',
  }));
  return barChartSvg(bars, {
    title: 'fmboost speed against PyTorch, same machine, same run',
    subtitle: `${rep.machine.cpu}, ${rep.threads.ours} thread(s), ${rep.date.slice(0, 10)}; green: meets its target, red: misses it`,
    xLabel: 'PyTorch time / fmboost time (above 1: fmboost is faster)',
    reference: { value: 1, label: 'PyTorch' }, width: 900,
  });
}

/** bench/report.json, bench/report.md and the ratio chart (bench/report.png beside the .md). */
export async function writeReport(rep: Report, mdPath: string, jsonPath: string): Promise<void> {
  writeFileSync(jsonPath, JSON.stringify(rep, null, 2) + '\n');
  writeFileSync(mdPath, markdown(rep) + '\nChart: `report.png` (PyTorch time / fmboost time per row).\n');
  writeFileSync(mdPath.replace(/\.md$/, '.png'), await svgToPng(ratioChartSvg(rep)));
}
