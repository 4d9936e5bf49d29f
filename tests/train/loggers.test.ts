import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CsvLogger, readMetricsCsv } from '../../src/train/log/csv.js';
import { WandbLogger, WandbUnavailableError } from '../../src/train/log/wandb.js';
import { formatProgress, formatDuration, ThroughputMeter, ProgressPrinter } from '../../src/train/log/progress.js';
import { createLoggers } from '../../src/train/log/create.js';
import { metricCurvePng } from '../../src/util/plot.js';
import { existsSync, readdirSync } from 'node:fs';

test('CSV: header once, new metrics widen the header, reopening appends without a second header', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-csv-'));
  try {
    const p = join(dir, 'metrics.csv');
    const a = new CsvLogger(p);
    a.logScalars(1, { 'train/loss': 0.5 });
    a.logScalars(2, { 'train/loss': 0.25 });
    a.logScalars(3, { 'train/loss': 0.125, 'val/psnr': 20 });
    a.close();
    const b = new CsvLogger(p);
    b.logScalars(4, { 'train/loss': 0.0625 });
    b.close();
    const text = readFileSync(p, 'utf8');
    assert.equal(text.split('\n').filter((l) => l.startsWith('step')).length, 1);
    assert.equal(text, 'step,train/loss,val/psnr\n1,0.5,\n2,0.25,\n3,0.125,20\n4,0.0625,\n');
    const { columns, rows } = readMetricsCsv(p);
    assert.deepEqual(columns, ['step', 'train/loss', 'val/psnr']);
    assert.deepEqual(rows[2], { step: 3, 'train/loss': 0.125, 'val/psnr': 20 });
    assert.equal(rows[0]['val/psnr'], undefined);

    // Resuming from a checkpoint at step 2 drops the rows logged after it.
    const c = new CsvLogger(p, { resumeStep: 2 });
    c.logScalars(3, { 'train/loss': 0.2 });
    c.close();
    assert.deepEqual(readMetricsCsv(p).rows.map((r) => [r.step, r['train/loss']]), [[1, 0.5], [2, 0.25], [3, 0.2]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('W&B requested without a client: a clear error at start', async () => {
  await assert.rejects(
    WandbLogger.start({ project: 'x', moduleName: '@fmboost-test/no-such-wandb-client' }),
    (e: Error) => e instanceof WandbUnavailableError && /W&B client "@fmboost-test\/no-such-wandb-client" cannot be loaded/.test(e.message) && /npm install/.test(e.message),
  );
});

test('progress line: plain for logs, bar for a TTY, ETA from the measured rate', () => {
  let t = 100;
  const m = new ThroughputMeter(10, () => t);
  for (let s = 1; s <= 5; s++) { m.mark(s, 8); t += 0.5; }
  // marks at t = 100, 100.5, …, 102: 4 steps in 2 s
  const r = m.rates();
  assert.equal(r.itPerSec, 2);
  assert.equal(r.samplesPerSec, 16);
  assert.equal(m.eta(5, 125), 60);
  const line = formatProgress({ step: 5, maxSteps: 125, loss: 0.12345, lr: 3e-5, ...r, etaSeconds: m.eta(5, 125) });
  assert.equal(line, 'step=5/125 loss=0.1235 lr=3.00e-5 it/s=2.00 samples/s=16.0 eta=1:00');
  const bar = formatProgress({ step: 50, maxSteps: 100, loss: 1 }, { tty: true, barWidth: 10 });
  assert.ok(bar.startsWith('█████░░░░░ 50/100 50% loss 1.0000'), bar);
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(undefined), '?');
});

test('progress printer: plain lines every n steps in logs, a redrawn bar on a TTY', () => {
  const logOut: string[] = [];
  const p = new ProgressPrinter({ write: (s: string) => logOut.push(s) }, { every: 10 });
  for (let s = 1; s <= 25; s++) p.update({ step: s, maxSteps: 25, loss: 1 / s });
  assert.deepEqual(logOut.map((l) => l.split(' ')[0]), ['step=10/25', 'step=20/25', 'step=25/25']);
  assert.ok(logOut.every((l) => l.endsWith('\n') && !l.includes('\r')));

  const ttyOut: string[] = [];
  let t = 0;
  const q = new ProgressPrinter({ write: (s: string) => ttyOut.push(s), isTTY: true, columns: 80 }, { ttyHz: 1, clock: () => t });
  q.update({ step: 1, maxSteps: 10 }); // drawn (first)
  t = 0.5;
  q.update({ step: 2, maxSteps: 10 }); // throttled
  t = 1.2;
  q.update({ step: 3, maxSteps: 10 }); // drawn
  assert.equal(ttyOut.length, 2);
  assert.ok(ttyOut.every((l) => l.startsWith('\r') && !l.includes('\n') && l.length <= 80 + 4));
  assert.match(ttyOut[1], /3\/10 30%/);
});

test('createLoggers: CSV + TensorBoard in the experiment folder; W&B without a client fails before anything is created', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-exp-'));
  try {
    const settings = { csv: true, tensorboard: true, wandb: false, wandb_project: 'p' };
    const l = await createLoggers(dir, settings);
    l.logScalars(1, { 'train/loss': 2 });
    await l.close();
    assert.ok(existsSync(join(dir, 'metrics.csv')));
    assert.equal(readdirSync(join(dir, 'tensorboard')).length, 1);
    const dir2 = join(dir, 'wb');
    // (no W&B client is installed in this repository)
    await assert.rejects(createLoggers(dir2, { ...settings, wandb: true }), WandbUnavailableError);
    assert.equal(existsSync(dir2), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('metric curve from CSV rows', () => {
  const rows = [{ step: 1, loss: 1 }, { step: 2, loss: undefined }, { step: 3, loss: 0.5 }];
  const png = metricCurvePng(rows, 'loss', { width: 100, height: 60 })!;
  assert.equal(png.readUInt32BE(16), 100); // IHDR width
  assert.equal(png.readUInt32BE(20), 60);
  assert.equal(metricCurvePng(rows, 'val/psnr'), undefined);
});
