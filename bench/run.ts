// `npm run bench [-- --filter <substring>] [--quick] [--rounds N] [--threads N] [--report]`
// Runs every registered row on our side (this process) and on PyTorch's (bench/torch_baseline.py,
// one long-lived process) in the same run, alternating the two, with the same thread count and the
// environment as given. Prints a table; writes bench/report.{md,json} for a full run (or --report).
import { readdirSync, existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getNumThreads, setNumThreads, runtimeInfo, liveTensors } from '../src/tensor/index.js';
import { allProbes, allRows, skippedRows, type BenchRow, type ProbeRow } from './registry.js';
import { FULL, QUICK, median, roundOptions, sum, timeCalls, timeCallsAsync, type TimingPlan, type Timed } from './timing.js';
import { othersCpuShare } from './cpu_share.js';
import { acquireBenchLock } from './lock.js';
import { TorchBaseline } from './torch_client.js';
import { judge, machine, probeTable, skippedTable, table, writeReport, type ProbeRowResult, type Report, type RowResult } from './report.js';
import { measurePeak, peakFor, type MachinePeak } from './peak.js';
import { mergePrevious } from './merge.js';

interface Args { filter: string | null; quick: boolean; rounds: number | null; threads: number | null; report: boolean; merge?: boolean; quietWait: number; quietBelow: number; retries: number; budgetSec: number }

function parseArgs(argv: string[]): Args {
  const a: Args = { filter: null, quick: false, rounds: null, threads: null, report: false, quietWait: 5, quietBelow: 0.25, retries: 1, budgetSec: 150 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench: ${k} needs a value`);
      return v;
    };
    const int = () => {
      const n = Number(val());
      if (!Number.isInteger(n) || n < 1) throw new Error(`bench: ${k} needs a positive integer`);
      return n;
    };
    if (k === '--filter') a.filter = val();
    else if (k === '--quick') a.quick = true;
    else if (k === '--rounds') a.rounds = int();
    else if (k === '--threads') a.threads = int();
    else if (k === '--report') a.report = true;
    else if (k === '--merge') { a.report = true; a.merge = true; }
    else if (k === '--quiet-wait') a.quietWait = Number(val());
    else if (k === '--quiet-below') a.quietBelow = Number(val());
    else if (k === '--retries') a.retries = Number(val());
    else if (k === '--budget') a.budgetSec = Number(val());
    else if (k === '--help' || k === '-h') {
      console.log('usage: npm run bench -- [--filter <substring>] [--quick] [--rounds N] [--threads N] [--report | --merge]\n' +
        '         [--quiet-wait SEC (default 5)] [--quiet-below SHARE (default 0.25)] [--retries N (default 1)] [--budget SEC (default 150)]\n' +
        'Before each row, waits up to SEC seconds for other processes to use < SHARE of the cores; a row that ran while\n' +
        'others used more than that is measured again (up to N times, while the run is under its time budget) and the\n' +
        'attempt with the least foreign load is kept. Past the budget, rows are measured once without waiting.');
      process.exit(0);
    } else throw new Error(`bench: unknown argument '${k}' (try --help)`);
  }
  return a;
}

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = join(here, '..', '..');

/**
 * Imports every file in bench/rows/: each registers its rows. A file that fails to load (someone's
 * work in progress) is reported, loudly and in the report, and the other files' rows still run.
 */
async function loadRows(): Promise<{ file: string; error: string }[]> {
  const dir = join(here, 'rows');
  const files = readdirSync(dir).filter((f) => f.endsWith('.js')).sort();
  const failed: { file: string; error: string }[] = [];
  for (const f of files) {
    try {
      await import(pathToFileURL(join(dir, f)).href);
    } catch (e) {
      const error = e instanceof Error ? e.message.split('\n')[0] : String(e);
      console.error(`bench: rows/${f} failed to load, its rows are missing: ${error}`);
      failed.push({ file: `bench/rows/${f.replace(/\.js$/, '.ts')}`, error });
    }
  }
  return failed;
}

function spread(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
  return (q(0.9) - q(0.1)) / median(s);
}

/** Waits (up to maxSec) until other processes use less than `below` of the cores over 0.5 s; returns seconds waited. */
async function waitQuiet(pids: number[], maxSec: number, below: number): Promise<number> {
  const t0 = Date.now();
  while ((Date.now() - t0) / 1e3 < maxSec) {
    const w = othersCpuShare(pids);
    await new Promise((r) => setTimeout(r, 500));
    if (w.stop() < below) break;
  }
  return (Date.now() - t0) / 1e3;
}

async function runRow(row: BenchRow, torch: TorchBaseline, plan: TimingPlan, peak: MachinePeak): Promise<RowResult> {
  const id = row.name;
  const live0 = liveTensors();
  const ours = await row.setup();
  const oursSamples: number[] = [];
  const torchSamples: number[] = [];
  const pairRatios: number[] = [];
  const oursRounds: number[] = [], torchRounds: number[] = [];
  let oursFaults = 0, torchFaults = 0, oursCpu = 0, torchCpu = 0;
  const window = othersCpuShare([process.pid, torch.pid]);
  try {
    await torch.setup(id, row.torch);
    const opts = roundOptions(plan);
    const enough = (xs: number[]) => sum(xs) >= plan.sideSec * 1e3 && xs.length >= plan.minIters;
    for (let r = 0; r < plan.maxRounds && (r < plan.minRounds || !enough(oursSamples) || !enough(torchSamples)); r++) {
      // Alternate who goes first so drift (heat, other load) does not favour one side.
      let o: Timed = { samples: [], faults: 0, cpuMs: 0 }, t: Timed = { samples: [], faults: 0, cpuMs: 0 };
      const runOurs = async () => {
        o = row.async ? await timeCallsAsync(async () => { await ours.run(); }, opts, r > 0) : timeCalls(() => {
          if (ours.run() instanceof Promise) throw new Error(`bench: row '${row.name}' returned a promise from run(): mark it async`);
        }, opts, r > 0);
      };
      const runTorch = async () => { t = await torch.time(id, opts, r > 0); };
      if (r % 2 === 0) { await runOurs(); await runTorch(); } else { await runTorch(); await runOurs(); }
      oursSamples.push(...o.samples);
      torchSamples.push(...t.samples);
      oursFaults += o.faults;
      torchFaults += t.faults;
      oursCpu += o.cpuMs;
      torchCpu += t.cpuMs;
      oursRounds.push(median(o.samples));
      torchRounds.push(median(t.samples));
      pairRatios.push(median(o.samples) / median(t.samples));
    }
  } finally {
    ours.dispose();
    await torch.free(id).catch(() => undefined);
  }
  const others = window.stop();
  const leaked = liveTensors() - live0;
  if (leaked > 0) console.warn(`bench: row '${row.name}' left ${leaked} live tensors`);
  // Each round counts once: under load a slow round holds few calls and a quiet one many, so a
  // median over calls would weigh the two sides' rounds differently.
  const om = median(oursRounds), tm = median(torchRounds);
  const res: RowResult = {
    name: row.name,
    group: row.group,
    oursMs: om,
    torchMs: tm,
    ratio: median(pairRatios),
    unpairedRatio: median(oursSamples) / median(torchSamples),
    minMs: { ours: Math.min(...oursSamples), torch: Math.min(...torchSamples) },
    ...judge(row, om, median(pairRatios)),
    samples: { ours: oursSamples.length, torch: torchSamples.length, rounds: pairRatios.length },
    spread: { ours: round(spread(oursSamples), 3), torch: round(spread(torchSamples), 3) },
    othersCpu: round(others, 3),
    cpuMsPerCall: { ours: round(oursCpu / oursSamples.length, 4), torch: round(torchCpu / torchSamples.length, 4) },
    faultsPerCall: { ours: Math.round(oursFaults / oursSamples.length), torch: Math.round(torchFaults / torchSamples.length) },
    notes: row.notes,
  };
  if (row.flops) {
    res.oursGflops = row.flops / (om * 1e6);
    res.torchGflops = row.flops / (tm * 1e6);
    res.oursPeakFrac = res.oursGflops / peakFor(row.name, peak);
    res.torchPeakFrac = res.torchGflops / peakFor(row.name, peak);
  }
  if (row.opsPerCall) {
    res.oursUsPerOp = (om * 1e3) / row.opsPerCall;
    res.torchUsPerOp = (tm * 1e3) / row.opsPerCall;
  }
  return res;
}

async function runProbe(p: ProbeRow, threads: number, peak: MachinePeak): Promise<ProbeRowResult> {
  // Our pid's ticks include the probe's child once it has exited and been reaped (cutime/cstime).
  const window = othersCpuShare([process.pid]);
  const r = await p.measure({ threads });
  const res: ProbeRowResult = { name: p.name, group: p.group, ...r, othersCpu: round(window.stop(), 3), notes: p.notes };
  if (p.flops) {
    res.flops = p.flops;
    res.oursGflops = p.flops / (r.oursMs * 1e6);
    res.oursPeakFrac = res.oursGflops / peakFor(p.name, peak);
  }
  return res;
}

function round(x: number, d: number): number {
  const k = 10 ** d;
  return Math.round(x * k) / k;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.threads) setNumThreads(args.threads);
  const threads = getNumThreads();
  const plan: TimingPlan = { ...(args.quick ? QUICK : FULL) };
  if (args.rounds) plan.minRounds = args.rounds;

  const loadErrors = await loadRows();
  const needle = args.filter?.toLowerCase();
  const selected = (r: { name: string; group: string }) => !needle || r.name.toLowerCase().includes(needle) || r.group.toLowerCase().includes(needle);
  const allSelected = [...allRows().filter(selected), ...allProbes().filter(selected)];
  if (allSelected.length === 0) throw new Error(`bench: no row matches --filter '${args.filter}'`);
  const skipped = skippedRows(allSelected, args.quick);
  const isSkipped = (r: { name: string }) => skipped.some((s) => s.name === r.name);
  const rows = allRows().filter((r) => selected(r) && !isSkipped(r));
  const probeRows = allProbes().filter((r) => selected(r) && !isSkipped(r));
  for (const s of skipped) console.log(`  skip ${s.name}: ${s.reason}`);

  const script = join(root, 'bench', 'torch_baseline.py');
  if (!existsSync(script)) throw new Error(`bench: ${script} is missing`);
  const lock = await acquireBenchLock(600);
  // measured under the lock, so another bench run does not share the cores with it
  const peak = measurePeak(threads, machine().cores);
  console.log(`  peak: fp32 ${peak.gflops.toFixed(0)} GFLOP/s, bf16 ${peak.bf16Gflops.toFixed(0)} GFLOP/s (${Object.entries(peak.kernels).map(([k, v]) => `${k} ${v.toFixed(0)}`).join('; ')})`);
  const loadBefore = loadavg();
  const runStart = Date.now();
  const torch = new TorchBaseline(script, threads);
  const results: RowResult[] = [];
  const probes: ProbeRowResult[] = [];
  let tinfo;
  try {
    tinfo = await torch.info();
    if (tinfo.threads !== threads) throw new Error(`bench: torch runs ${tinfo.threads} threads, ours ${threads}`);
    console.log(`bench: ${rows.length} rows, ${threads} threads, ≥ ${plan.sideSec} s per side per row in alternating rounds${args.quick ? ' (quick)' : ''}`);
    for (const row of rows) {
      const t0 = Date.now();
      let r: RowResult | null = null;
      let attempts = 0;
      // Past the time budget, rows are measured once, without waiting for a quiet machine.
      const inBudget = () => (Date.now() - runStart) / 1e3 < args.budgetSec;
      try {
        for (let attempt = 0; attempt <= args.retries; attempt++) {
          const waited = args.quietWait > 0 && inBudget() ? await waitQuiet([process.pid, torch.pid], args.quietWait, args.quietBelow) : 0;
          const a = await runRow(row, torch, { ...plan, ...(args.quick ? row.quickPlan ?? row.plan : row.plan) }, peak);
          a.waitedSec = round(waited, 1);
          attempts++;
          if (!r || a.othersCpu < r.othersCpu) r = a;
          if (a.othersCpu <= args.quietBelow || attempt === args.retries || !inBudget()) break;
          console.log(`  (others used ${(100 * a.othersCpu).toFixed(0)}% of the cores during '${row.name}'; measuring again)`);
        }
      } catch (e) {
        // A failed row (its setup, ours or torch's call) is reported with its error; the run goes on.
        const reason = `failed: ${e instanceof Error ? e.message : String(e)}`;
        skipped.push({ name: row.name, group: row.group, reason });
        console.log(`  FAIL ${row.name}: ${reason}`);
        continue;
      }
      if (!r) throw new Error('unreachable');
      r.attempts = attempts;
      results.push(r);
      console.log(`  ${r.pass ? 'ok  ' : 'MISS'} ${r.name}: ours ${r.oursMs.toFixed(3)} ms, torch ${r.torchMs.toFixed(3)} ms, ratio ${r.ratio.toFixed(3)} (unpaired ${r.unpairedRatio.toFixed(3)}, cpu ms/call ${r.cpuMsPerCall.ours.toFixed(2)}/${r.cpuMsPerCall.torch.toFixed(2)}, faults/call ${r.faultsPerCall.ours}/${r.faultsPerCall.torch}, others' CPU ${(100 * r.othersCpu).toFixed(0)}%, ${((Date.now() - t0) / 1e3).toFixed(1)} s)`);
    }
    for (const p of probeRows) {
      if (args.quietWait > 0) await waitQuiet([process.pid, torch.pid], args.quietWait, args.quietBelow);
      let r: ProbeRowResult;
      try {
        r = await runProbe(p, threads, peak);
      } catch (e) {
        // A failed probe is reported with its error; the run goes on.
        const reason = `failed: ${e instanceof Error ? e.message : String(e)}`;
        skipped.push({ name: p.name, group: p.group, reason });
        console.log(`  FAIL probe ${p.name}: ${reason}`);
        continue;
      }
      probes.push(r);
      console.log(`  probe ${r.name}: ours ${(r.oursMs / 1e3).toFixed(1)} s, peak RSS ${r.peakRssMB.ours.toFixed(0)} MB` +
        (r.torchMs !== undefined ? `; torch ${(r.torchMs / 1e3).toFixed(1)} s, ${r.peakRssMB.torch?.toFixed(0)} MB` : `; no torch: ${r.noTorch ?? 'none'}`) +
        (r.ratio !== undefined ? `; ours/torch ${r.ratio.toFixed(3)}` : ''));
    }
  } finally {
    await torch.close();
    lock.release();
  }

  // Ours and torch were given the same thread count; check ours was not changed by a row.
  if (getNumThreads() !== threads) console.warn(`bench: thread count changed during the run (${threads} → ${getNumThreads()})`);
  const env: Record<string, string> = {};
  for (const k of ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'FMBOOST_THREADS', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_MMAP_THRESHOLD_', 'GLIBC_TUNABLES']) {
    env[k] = process.env[k] ?? '(unset)';
  }
  const report: Report = {
    date: new Date().toISOString(),
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    machine: machine(),
    versions: { node: process.version, libtorch: runtimeInfo().torch, torch: tinfo.torch, python: tinfo.python },
    threads: { ours: threads, torch: tinfo.threads },
    env,
    options: { quick: args.quick, plan, filter: args.filter },
    load: { before: loadBefore, after: loadavg() },
    peak,
    rows: results,
    probes,
    skipped,
    loadErrors,
  };
  if (results.length) console.log('\n' + table(results));
  if (probes.length) console.log('\n' + probeTable(probes));
  if (skipped.length) console.log('\n' + skippedTable(skipped));
  console.log(`\n${report.machine.cpu}, ${report.machine.cores} cores; threads ${threads}; ` +
    Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' '));
  if (!args.filter || args.report) {
    if (args.merge) {
      const defined = new Set([...allRows(), ...allProbes()].map((r) => r.name));
      const m = mergePrevious(report, join(root, 'bench', 'report.json'), defined);
      console.log(`--merge: ${m.carried} row(s) kept from the previous report${m.dropped.length ? `; dropped (no longer defined): ${m.dropped.join(', ')}` : ''}`);
    }
    await writeReport(report, join(root, 'bench', 'report.md'), join(root, 'bench', 'report.json'));
    console.log('wrote bench/report.md, bench/report.json and bench/report.png');
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
