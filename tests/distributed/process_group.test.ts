// c10d process groups through the addon (Gloo over loopback): collectives between real processes,
// the DDP Reducer's bucketed gradient averaging, and failures as DistributedErrors naming rank and op
// within the timeout (a rendezvous nobody serves, a peer that dies mid-collective).
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distributed } from '../../src/index.js';
import { freePort } from '../../src/cli/launcher.js';
import { ROOT } from '../helpers.js';

const { ProcessGroup, availableBackends, DistributedError, worldFromEnv, WorldEnvError } = distributed;
const INDEX = join(ROOT, 'dist/src/index.js'), TENSOR = join(ROOT, 'dist/src/tensor_library.js');

/** Runs `body` (the text of an async function of (fmb, pg, rank)) in `world` processes; each prints one JSON line. */
async function runRanks(world: number, body: string, opts: { timeoutMs?: number; port?: number } = {}): Promise<{ code: number | null; out: any; err: string }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-dist-'));
  const script = join(dir, 'rank.mjs');
  // the package's two entries as one namespace: fmboost (distributed) and fmboost/tensor (tensors, nn)
  writeFileSync(script, `const fmb = { ...(await import(${JSON.stringify(INDEX)})), ...(await import(${JSON.stringify(TENSOR)})) };
const world = fmb.distributed.worldFromEnv();
fmb.setNumThreads(1);
const run = async (fmb, pg, rank) => { ${body} };
try {
  const pg = await fmb.distributed.ProcessGroup.init(world, { timeoutMs: ${opts.timeoutMs ?? 20000} });
  const out = await run(fmb, pg, world.rank);
  process.stdout.write(JSON.stringify(out ?? null) + '\\n');
  pg.close();
} catch (e) {
  process.stdout.write(JSON.stringify({ error: e.name, message: e.message, rank: e.rank, op: e.op }) + '\\n');
  process.exitCode = 3;
}
`);
  const port = opts.port ?? await freePort();
  try {
    return await Promise.all(Array.from({ length: world }, (_, rank) => new Promise<{ code: number | null; out: any; err: string }>((resolve) => {
      const p = spawn(process.execPath, [script], { env: { ...process.env, RANK: String(rank), WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), FMBOOST_THREADS: '1' } });
      let out = '', err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('close', (code) => resolve({ code, out: out.trim() ? JSON.parse(out.trim().split('\n').pop()!) : undefined, err }));
    })));
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

test('this build of the addon has the Gloo backend (CI installs libgloo-dev)', () => {
  assert.ok(availableBackends().includes('gloo'), `backends: ${availableBackends()}`);
});

test('the world comes from torchrun-style variables; bad values are named', () => {
  assert.deepEqual(worldFromEnv({}), { rank: 0, worldSize: 1, localRank: 0, masterAddr: '127.0.0.1', masterPort: 29500 });
  assert.deepEqual(worldFromEnv({ WORLD_SIZE: '4', RANK: '3', MASTER_ADDR: '10.0.0.2', MASTER_PORT: '1234' }), { rank: 3, worldSize: 4, localRank: 3, masterAddr: '10.0.0.2', masterPort: 1234 });
  assert.throws(() => worldFromEnv({ WORLD_SIZE: '2' }), (e: Error) => e instanceof WorldEnvError && /RANK is not set/.test(e.message));
  assert.throws(() => worldFromEnv({ WORLD_SIZE: '2', RANK: '2' }), /RANK=2: expected an integer in \[0, 1\]/);
  assert.throws(() => worldFromEnv({ WORLD_SIZE: '2', RANK: '0', MASTER_PORT: '70000' }), /MASTER_PORT=70000/);
});

test('allReduce, broadcast, barrier and the checks built on them, between 2 processes', async () => {
  const r = await runRanks(2, `
    const t = fmb.tensor(Float32Array.of(rank + 1, 10 * (rank + 1)));
    await pg.allReduce(t, 'sum');
    const m = fmb.tensor(Float32Array.of(rank));
    await pg.allReduce(m, 'max');
    const b = [fmb.tensor(Float32Array.of(rank, rank)), fmb.tensor(Float64Array.of(rank * 7))];
    await pg.broadcast(b, 1);
    await pg.barrier();
    const mean = await pg.meanOf([rank, 2 * rank]);
    const same = await pg.sameEverywhere(b);
    const differ = await pg.sameEverywhere([fmb.tensor(Float32Array.of(rank))]);
    return { sum: Array.from(t.toFloat32Array()), max: m.item(), b0: Array.from(b[0].toFloat32Array()), b1: b[1].item(), mean, same, differ };`);
  for (const [rank, x] of r.entries()) {
    assert.equal(x.code, 0, `rank ${rank}: ${x.err} ${JSON.stringify(x.out)}`);
    assert.deepEqual(x.out, { sum: [3, 30], max: 1, b0: [1, 1], b1: 7, mean: [0.5, 1], same: true, differ: false });
  }
});

test("c10d's Reducer: gradients come out averaged over the ranks, in buckets during backward; without prepare() they stay local", async () => {
  const r = await runRanks(2, `
    fmb.manualSeed(0); // the same initial weights on both ranks
    const lin = new fmb.nn.Linear({ inFeatures: 3, outFeatures: 2 });
    const params = [...lin.parameters()];
    const red = new fmb.distributed.GradReducer(pg, params, { bucketBytes: 16, firstBucketBytes: 8 });
    const x = fmb.tensor(Float32Array.of(1 + rank, 2, -rank, 0.5, rank, 3)).reshape([2, 3]);
    red.prepare();
    lin.forward(x).pow(2).mean().backward();
    const synced = params.map((p) => Array.from(p.grad.toFloat32Array()));
    for (const p of params) p.grad.zero_();
    lin.forward(x).pow(2).mean().backward(); // not prepared: this rank's gradient alone
    const local = params.map((p) => Array.from(p.grad.toFloat32Array()));
    red.dispose();
    return { buckets: red.buckets, synced, local };`);
  for (const x of r) assert.equal(x.code, 0, `${x.err} ${JSON.stringify(x.out)}`);
  const [a, b] = r.map((x) => x.out);
  assert.ok(a.buckets >= 2, `${a.buckets} buckets`);
  assert.deepEqual(a.synced, b.synced, 'ranks hold the same averaged gradient');
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < a.local[i].length; j++) {
      assert.ok(Math.abs(a.synced[i][j] - (a.local[i][j] + b.local[i][j]) / 2) < 1e-6, `param ${i}[${j}]: mean of the local gradients`);
    }
  }
  assert.notDeepEqual(a.local, b.local);
});

test('failures are DistributedErrors naming rank and op, within the timeout', async () => {
  // nobody serves the rendezvous: rank 1 of 2 alone gives up after its 1.5 s timeout
  const t0 = Date.now();
  const port = await freePort();
  const solo = await new Promise<any>((resolve) => {
    const script = `const fmb = await import(${JSON.stringify(INDEX)});
try { await fmb.distributed.ProcessGroup.init({ rank: 1, worldSize: 2, localRank: 1, masterAddr: '127.0.0.1', masterPort: ${port} }, { timeoutMs: 1500 }); console.log('{}'); }
catch (e) { console.log(JSON.stringify({ name: e.name, rank: e.rank, op: e.op, message: e.message })); }`;
    const p = spawn(process.execPath, ['--input-type=module', '-e', script]);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', () => resolve(JSON.parse(out.trim() || '{}')));
  });
  assert.equal(solo.name, 'DistributedError', JSON.stringify(solo));
  assert.equal(solo.rank, 1);
  assert.match(solo.op, /^init \(rendezvous at 127\.0\.0\.1:\d+, world size 2\)/);
  assert.ok(Date.now() - t0 < 60_000);

  // a peer that exits in the middle: the survivor's all-reduce fails fast, naming itself and the op
  const t1 = Date.now();
  const r = await runRanks(2, `
    if (rank === 1) process.exit(0);
    const t = fmb.tensor(Float32Array.of(1));
    await pg.allReduce(t);
    return { reduced: t.item() };`, { timeoutMs: 8000 });
  const survivor = r[0].out;
  assert.equal(survivor.error, 'DistributedError', JSON.stringify(survivor));
  assert.equal(survivor.rank, 0);
  assert.equal(survivor.op, 'allReduce');
  assert.ok(Date.now() - t1 < 30_000, `took ${Date.now() - t1} ms`);
  assert.match(survivor.message, /another rank has stopped/);
  assert.equal(new DistributedError(0, 'x', 'y').message, 'rank 0: x failed: y');
});
