// End-to-end training through the CLI (subprocesses, FMBOOST_THREADS=1): a flow run on synthetic
// images writes everything it promises, and a run killed with SIGKILL after a checkpoint, resumed with
// --resume_checkpoint, ends with exactly the uninterrupted run's weights, EMA and optimizer state
// (tolerance 0: same ops, same thread count, same seeded streams).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '../../src/io/index.js';
import { loadCheckpoint, readMetricsCsv } from '../../src/train/index.js';
import { collect, flowConfig, makeFixture, runCli, spawnCli, type Fixture } from './e2e_fixtures.js';

let f: Fixture;
let cfg: string;
const MAX = 30;

before(async () => {
  f = await makeFixture(10);
  cfg = flowConfig(f, { max_steps: MAX, checkpoint_every: 3, val: '{every: 15, num_steps: 3, limit_batches: 1, crop_size: 64, num_images: 2, solver: euler}' });
});
after(() => rmSync(f.dir, { recursive: true, force: true }));

function pngSize(path: string): [number, number] {
  const b = readFileSync(path);
  assert.deepEqual([...b.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${path} is not a PNG`);
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

function maxDiff(a: string, b: string, prefixes: string[]): { keys: number; max: number } {
  const x = readSafetensors(a).tensors, y = readSafetensors(b).tensors;
  let keys = 0, max = 0;
  for (const [k, t] of x) {
    if (!prefixes.some((p) => k.startsWith(p))) continue;
    const u = y.get(k);
    assert.ok(u, `${b} lacks ${k}`);
    const p = t.toFloat32Array(), q = u.toFloat32Array();
    assert.equal(p.length, q.length, k);
    for (let i = 0; i < p.length; i++) max = Math.max(max, Math.abs(p[i] - q[i]));
    keys++;
  }
  for (const t of [...x.values(), ...y.values()]) t.dispose();
  return { keys, max };
}

test('flow training run: checkpoints, validation grid, CSV, TensorBoard, loss plot, corrupt image reported', async () => {
  const r = await runCli(['train', '--config', cfg, '--name', 'exp/full', '--logdir', join(f.dir, 'logs')], f.dir);
  assert.equal(r.code, 0, r.stderr);
  const exp = join(f.dir, 'logs/exp/full'); // nested names are folders
  assert.match(r.stderr, /skipped .*bad\.png/);
  assert.match(r.stderr, /1 item\(s\) skipped/);
  assert.match(r.stderr, /step=30\/30 loss=\d\.\d+ lr=\S+ it\/s=\S+ samples\/s=\S+ eta=/);
  assert.match(r.stderr, /validation at step 15: PSNR [\d.]+ dB/);
  assert.ok(existsSync(join(exp, 'config.yaml')));
  assert.match(readFileSync(join(exp, 'config.yaml'), 'utf8'), /max_steps: 30/);
  const steps = readdirSync(join(exp, 'checkpoints')).filter((n) => /^step-\d+\.safetensors$/.test(n));
  assert.equal(steps.length, MAX / 3);
  const last = loadCheckpoint(join(exp, 'checkpoints/last.safetensors'));
  assert.equal(last.step, MAX);
  assert.deepEqual([...last.rng.keys()].sort(), ['dropout', 'noise', 'posterior', 'time']);
  assert.ok(last.optimizer && last.ema.size === last.model.size);
  for (const m of [last.model, last.ema, last.rng, last.optimizer!.tensors]) for (const t of m.values()) t.dispose();

  const { rows, columns } = readMetricsCsv(join(exp, 'metrics.csv'));
  for (const c of ['train/loss', 'train/lr', 'train/grad_norm', 'val/psnr', 'val/ssim', 'val/mse', 'data/skipped']) assert.ok(columns.includes(c), `metrics.csv lacks ${c}`);
  const losses = rows.filter((x) => x['train/loss'] !== undefined);
  assert.equal(losses.length, MAX);
  assert.ok(losses.every((x) => Number.isFinite(x['train/loss']!) && x['data/skipped'] === 1));
  // memory: the live-tensor count is the same after every step (validation and checkpoints included)
  assert.equal(new Set(losses.map((x) => x['mem/live_tensors'])).size, 1, `live tensors per step: ${losses.map((x) => x['mem/live_tensors'])}`);
  const val = rows.filter((x) => x['val/psnr'] !== undefined);
  assert.deepEqual(val.map((x) => x.step), [15, 30]);
  assert.ok(val.every((x) => x['val/psnr']! > 0 && x['val/ssim']! <= 1 && x['val/mse']! > 0));
  // warmup: lr = 1e-3 · (k + 1)/2 for update k = 0, 1, then 1e-3 (the reference's scheduler-before-update order)
  assert.deepEqual(losses.slice(0, 3).map((x) => x['train/lr']), [5e-4, 1e-3, 1e-3]);

  // grid: 2 rows × (HR | LR | prediction) of 64 px with 2 px gaps
  const samples = readdirSync(join(exp, 'samples')).sort();
  assert.deepEqual(samples, ['step-000000015.png', 'step-000000030.png']);
  assert.deepEqual(pngSize(join(exp, 'samples', samples[1])), [3 * 64 + 2 * 2, 2 * 64 + 2]);
  pngSize(join(exp, 'loss.png'));
  const tb = readdirSync(join(exp, 'tensorboard'));
  assert.equal(tb.length, 1);
  const ev = readFileSync(join(exp, 'tensorboard', tb[0]));
  assert.ok(ev.includes(Buffer.from('train/loss')) && ev.includes(Buffer.from('val/psnr')) && ev.includes(Buffer.from('val/hr_lr_pred')));
});

test('SIGKILL after a checkpoint, then --resume_checkpoint: same final weights, EMA and optimizer state as the uninterrupted run', async () => {
  const logs = join(f.dir, 'logs');
  const ckdir = join(logs, 'killed/checkpoints');
  const p = spawnCli(['train', '--config', cfg, '--name', 'killed', '--logdir', logs], f.dir);
  const done = collect(p);
  let killedAt = -1;
  for (let i = 0; i < 6000 && killedAt < 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
    const names = existsSync(ckdir) ? readdirSync(ckdir).filter((n) => /^step-\d+\.safetensors$/.test(n)) : [];
    if (names.length) {
      p.kill('SIGKILL');
      killedAt = Math.max(...names.map((n) => Number(n.slice(5, 14))));
    }
  }
  const k = await done;
  assert.equal(k.signal, 'SIGKILL', 'the run finished before it could be killed');
  assert.ok(killedAt >= 3 && killedAt < MAX, `killed after step ${killedAt}`);
  // resume from the folder: the latest readable checkpoint (a half-written temp file is ignored)
  const r = await runCli(['train', '--config', cfg, '--name', 'killed', '--logdir', logs, '--resume_checkpoint', ckdir], f.dir);
  assert.equal(r.code, 0, r.stderr);
  const resumedFrom = Number(/resumed from .* at step (\d+)/.exec(r.stderr)?.[1]);
  assert.ok(resumedFrom >= killedAt && resumedFrom < MAX, `resumed from ${resumedFrom}`);
  const full = join(logs, 'exp/full/checkpoints/last.safetensors');
  const resumed = join(ckdir, 'last.safetensors');
  const d = maxDiff(full, resumed, ['model.', 'ema.', 'optimizer.']);
  assert.ok(d.keys > 100, `compared ${d.keys} tensors`);
  assert.equal(d.max, 0, `max abs difference ${d.max}`);
  // the losses after the resume point equal the uninterrupted run's, and the CSV has no duplicate steps
  const a = readMetricsCsv(join(logs, 'exp/full/metrics.csv')).rows.filter((x) => x['train/loss'] !== undefined);
  const b = readMetricsCsv(join(logs, 'killed/metrics.csv')).rows.filter((x) => x['train/loss'] !== undefined);
  assert.deepEqual(b.map((x) => x.step), a.map((x) => x.step));
  assert.deepEqual(b.map((x) => x['train/loss']), a.map((x) => x['train/loss']));
});

test('SIGINT saves checkpoints/interrupted and exits 130; SIGUSR1 saves and continues', async () => {
  const logs = join(f.dir, 'logs');
  const ckdir = join(logs, 'sig/checkpoints');
  const p = spawnCli(['train', '--config', cfg, '--name', 'sig', '--logdir', logs, 'train.val.every=0'], f.dir);
  const done = collect(p);
  let sent = '';
  for (let i = 0; i < 6000; i++) {
    await new Promise((r) => setTimeout(r, 10));
    const names = existsSync(ckdir) ? readdirSync(ckdir) : [];
    if (!sent && names.some((n) => /^step-\d+\.safetensors$/.test(n))) { p.kill('SIGUSR1'); sent = 'usr1'; }
    else if (sent === 'usr1' && names.includes('interrupted.safetensors')) { p.kill('SIGINT'); sent = 'int'; break; }
  }
  const r = await done;
  assert.equal(sent, 'int', r.stderr);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /SIGUSR1 received: saving .* and continuing/);
  assert.match(r.stderr, /SIGINT received/);
  const ck = loadCheckpoint(join(ckdir, 'interrupted.safetensors'));
  for (const m of [ck.model, ck.ema, ck.rng, ck.optimizer!.tensors]) for (const t of m.values()) t.dispose();
  assert.ok(ck.step > 0 && ck.step < MAX, `interrupted at ${ck.step}`);
  assert.ok(statSync(join(ckdir, 'interrupted.safetensors')).size > 0);
});

test('train --profile: the steps after two warm-up steps, by op class per step, on stderr and in profile.json', async () => {
  const c = flowConfig(f, { max_steps: 6, checkpoint_every: 3, val: '{every: 3, num_steps: 2, limit_batches: 1, crop_size: 64, num_images: 1, solver: euler}' });
  const r = await runCli(['train', '--config', c, '--name', 'exp/prof', '--logdir', join(f.dir, 'logs'), '--profile'], f.dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /fmboost train --profile: flow step, train\.precision fp32, 1 threads: [\d.]+ ms\/step wall/);
  assert.match(r.stderr, /\(4 steps profiled\)/);
  const p = JSON.parse(readFileSync(join(f.dir, 'logs/exp/prof/profile.json'), 'utf8'));
  assert.equal(p.steps, 4);
  const cls = p.byClass.map((c: { cls: string }) => c.cls);
  for (const k of ['conv', 'optimizer', 'outside ops (JS, N-API)']) assert.ok(cls.includes(k), `${k} in ${cls.join(', ')}`);
  assert.ok(p.rows.some((row: { name: string }) => row.name === 'aten::convolution_backward'), 'the backward pass is in it');
});
