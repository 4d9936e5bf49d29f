// Data-parallel `fmboost train --nproc 2` (2 processes × 1 thread, Gloo over loopback) against one
// process on the same global batch; a worker killed or hung stops the run within the timeout, naming
// what happened; the run resumes on 1 process; signals reach every worker; batches that cannot be split
// fail before any worker starts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadCheckpoint, readMetricsCsv, type LoadedCheckpoint } from '../../src/train/index.js';
import { collect, flowConfig, makeFixture, runCli, spawnCli, type Fixture } from './e2e_fixtures.js';

let f: Fixture;
before(async () => { f = await makeFixture(12, { corrupt: false }); });
after(() => rmSync(f.dir, { recursive: true, force: true }));

const logs = () => join(f.dir, 'logs');
const train = (name: string, cfg: string, extra: string[]) => runCli(['train', '--config', cfg, '--name', name, '--logdir', logs(), ...extra], f.dir);
const losses = (name: string) => readMetricsCsv(join(logs(), name, 'metrics.csv')).rows.filter((r) => r['train/loss'] !== undefined).map((r) => r['train/loss']!);

function maxWeightDiff(a: LoadedCheckpoint, b: LoadedCheckpoint): number {
  let worst = 0;
  for (const [k, t] of a.model) worst = Math.max(worst, t.sub(b.model.get(k)!).abs().max().item());
  return worst;
}

/** The pid of the worker with RANK=rank among the children of the launcher `parent`. */
function workerPid(parent: number, rank: number): number | undefined {
  const kids = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return kids.find((p) => { try { return readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(`RANK=${rank}`); } catch { return false; } });
}

async function waitFor<T>(fn: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(50);
  }
}

test('2 processes × batch 2 equal 1 process × batch 4: same loss curve, and the same weights after 20 steps', async () => {
  // eps 0.1: Adam's update is then smooth in the gradient, so only float summation order separates the runs.
  // With the default eps 1e-8, an element whose gradient is ~0 moves by ±lr on the sign of its rounding
  // error (Adam's first steps are sign-like), so there the weights are compared through the loss curve.
  const cfg = flowConfig(f, { max_steps: 20, checkpoint_every: 0, val: '{every: 0}', lr_schedule: 'constant', eps: 0.1 });
  const one = await train('one', cfg, ['data.batch_size=4']);
  assert.equal(one.code, 0, one.stderr);
  const two = await train('two', cfg, ['--nproc', '2', 'data.batch_size=2']);
  assert.equal(two.code, 0, two.stderr);
  assert.match(two.stderr, /starting 2 worker\(s\) on node 0 of 1 \(world size 2, rendezvous 127\.0\.0\.1:\d+, 1 thread\(s\) each\)/);
  assert.match(two.stderr, /batch 2 per process × 2 processes = 4 × accumulate 1, data-parallel: 2 processes .*gloo, gradients all-reduced in \d+ bucket/);
  assert.doesNotMatch(two.stderr, /\[rank 1\]/, 'rank 1 prints nothing when all goes well');
  const a = loadCheckpoint(join(logs(), 'one/checkpoints/last.safetensors'));
  const b = loadCheckpoint(join(logs(), 'two/checkpoints/last.safetensors'));
  assert.equal(b.step, 20);
  const dw = maxWeightDiff(a, b);
  assert.ok(dw <= 1e-6, `weights differ by ${dw}`);
  const [la, lb] = [losses('one'), losses('two')];
  assert.equal(lb.length, 20);
  for (let i = 0; i < 20; i++) assert.ok(Math.abs(la[i] - lb[i]) <= 1e-6 * la[i], `step ${i + 1}: loss ${la[i]} vs ${lb[i]}`);
  assert.ok(la[19] < la[0], 'it trains');

  // the default eps, through global_batch_size (the same 4 either way)
  const cfg2 = flowConfig(f, { max_steps: 20, checkpoint_every: 0, val: '{every: 0}', lr_schedule: 'constant' });
  assert.equal((await train('one8', cfg2, ['data.global_batch_size=4'])).code, 0);
  const r = await train('two8', cfg2, ['--nproc', '2', 'data.global_batch_size=4']);
  assert.equal(r.code, 0, r.stderr);
  const [l1, l2] = [losses('one8'), losses('two8')];
  for (let i = 0; i < 20; i++) assert.ok(Math.abs(l1[i] - l2[i]) <= 1e-4, `default eps, step ${i + 1}: loss ${l1[i]} vs ${l2[i]}`);
});

test('kill -9 of a worker stops the run with a clear error; the run resumes on 1 process from the last checkpoint', async () => {
  const cfg = flowConfig(f, { max_steps: 2000, checkpoint_every: 5, val: '{every: 0}' }, '');
  const p = spawnCli(['train', '--config', cfg, '--name', 'killed', '--logdir', logs(), '--nproc', '2', 'data.batch_size=2', 'train.distributed.timeout_s=20'], f.dir);
  const done = collect(p);
  await waitFor(() => (existsSync(join(logs(), 'killed/checkpoints/step-000000010.safetensors')) ? true : undefined), 60_000);
  const victim = workerPid(p.pid!, 1);
  assert.ok(victim, 'rank 1 found');
  const t0 = Date.now();
  process.kill(victim!, 'SIGKILL');
  const r = await done;
  assert.ok(Date.now() - t0 < 20_000, `stopped after ${Date.now() - t0} ms`);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`rank 1 \\(pid ${victim}\\) was killed by SIGKILL; stopping the other 1 worker`));
  assert.match(r.stderr, /the run failed: rank 1 was killed by SIGKILL/);

  // on 1 process (no --nproc), with the config stored in the checkpoint
  const cont = await runCli(['train', '--resume-checkpoint', join(logs(), 'killed'), '--logdir', logs(), 'train.max_steps=30'], f.dir);
  assert.equal(cont.code, 0, cont.stderr);
  const from = Number(/resumed from .* at step (\d+)/.exec(cont.stderr)?.[1]);
  assert.ok(from >= 10 && from % 5 === 0, `resumed at ${from}`);
  assert.match(cont.stderr, /note: the checkpoint's run took 4 samples per micro-batch \(2 process\(es\)\); this one takes 2 \(1 × 2\); set data\.global_batch_size=4/);
  assert.equal(loadCheckpoint(join(logs(), 'killed/checkpoints/last.safetensors')).step, 30);
});

test('a hung worker (SIGSTOP) fails the others at the distributed timeout, naming rank and op', async () => {
  const cfg = flowConfig(f, { max_steps: 2000, checkpoint_every: 0, val: '{every: 0}' }, '');
  const p = spawnCli(['train', '--config', cfg, '--name', 'hung', '--logdir', logs(), '--nproc', '2', 'data.batch_size=2', 'train.distributed.timeout_s=3'], f.dir);
  const done = collect(p);
  await waitFor(() => (existsSync(join(logs(), 'hung/metrics.csv')) && losses('hung').length > 3 ? true : undefined), 60_000);
  const t0 = Date.now();
  process.kill(workerPid(p.pid!, 1)!, 'SIGSTOP');
  const r = await done;
  assert.ok(Date.now() - t0 < 30_000, `stopped after ${Date.now() - t0} ms`);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /fmboost: rank 0: .*failed: .*(Timed out|timeout)/i);
  assert.match(r.stderr, /rank 0 \(pid \d+\) exited with code 3; stopping the other 1 worker/);
});

test('SIGINT to the launcher reaches every worker: one interrupted checkpoint, exit 130', async () => {
  const cfg = flowConfig(f, { max_steps: 2000, checkpoint_every: 0, val: '{every: 0}' }, '');
  const p = spawnCli(['train', '--config', cfg, '--name', 'int', '--logdir', logs(), '--nproc', '2', 'data.batch_size=2'], f.dir);
  const done = collect(p);
  await waitFor(() => (existsSync(join(logs(), 'int/metrics.csv')) && losses('int').length > 2 ? true : undefined), 60_000);
  p.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  const ck = loadCheckpoint(join(logs(), 'int/checkpoints/interrupted.safetensors'));
  assert.ok(ck.step > 2);
  assert.doesNotMatch(r.stderr, /the run failed/);
});

test('a global batch the processes cannot share fails before any worker starts', async () => {
  const cfg = flowConfig(f, { max_steps: 2, val: '{every: 0}' });
  const r = await train('odd', cfg, ['--nproc', '2', 'data.global_batch_size=5']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /data\.global_batch_size 5 is not divisible by the 2 processes/);
  assert.doesNotMatch(r.stderr, /starting 2 worker/);
  const bad = await train('odd', cfg, ['--nproc', '0']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--nproc must be an integer from 1 to 1024, got '0'/);
});
