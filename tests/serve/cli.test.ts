// `fmboost serve` as a subprocess: starts on a free port, serves a job with the real model in a worker,
// writes nothing outside --workdir (cwd and TMPDIR are empty folders we then list), and exits cleanly on
// SIGTERM, removing its result files. Bad flags and a missing model fail with a message.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { ROOT } from '../helpers.js';
import { gradientPng, readEvents } from './fake_upscaler.js';
import { tmpDir, writeTinyBundle } from '../pipeline/tiny.js';

const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const tmp = tmpDir('fmboost-serve-cli-');
after(() => tmp.cleanup());

/** `fmboost serve ARGS` as a child: resolves with its port once it prints the listening line (rejects if it exits
 *  first or prints none in 30 s); io.out / io.err hold what it printed so far. */
function startServe(args: string[], o: { cwd?: string; env?: Record<string, string> } = {}) {
  const child = spawn(process.execPath, [MAIN, 'serve', ...args], { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const io = { out: '', err: '' };
  child.stdout.on('data', (c) => (io.out += c));
  child.stderr.on('data', (c) => (io.err += c));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const port = new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no listening line in 30 s; stdout: ${io.out}; stderr: ${io.err}`)), 30_000);
    child.stdout.on('data', () => {
      const m = /listening on http:\/\/[^/]+:(\d+)\//.exec(io.out);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(t); reject(new Error(`exited ${code}: ${io.err}`)); });
  });
  return { child, io, exited, port };
}

test('fmboost serve: one job end to end, files only under --workdir, clean SIGTERM', async () => {
  const model = writeTinyBundle(join(tmp.dir, 'tiny.safetensors'), { steps: 3 }, 5, 'tiny-cli');
  const cwd = join(tmp.dir, 'run'), tmpd = join(tmp.dir, 'tmp');
  mkdirSync(cwd);
  mkdirSync(tmpd);
  const { child, io, exited, port } = startServe(['--port', '0', '--model', model, '--workdir', 'work', '--queue-limit', '3', '--threads', '1'], { cwd, env: { TMPDIR: tmpd } });
  try {
    const base = `http://127.0.0.1:${await port}`;
    assert.match(io.out, /listening on http:\/\/127\.0\.0\.1:\d+\//, 'loopback by default');
    assert.match(io.out, /concurrency 1, queue limit 3, 1 thread\(s\) per worker/);
    const r = await fetch(`${base}/api/upscale?steps=3`, { method: 'POST', body: await gradientPng(16, 16), headers: { 'Content-Type': 'image/png' } });
    assert.equal(r.status, 202);
    const job = (await r.json()) as any;
    assert.equal((await readEvents(`${base}${job.events}`)).at(-1)!.event, 'done');
    const png = Buffer.from(await (await fetch(`${base}${job.result}`)).arrayBuffer());
    assert.equal((await sharp(png).metadata()).width, 32);
    assert.deepEqual(readdirSync(cwd), ['work']);
    assert.deepEqual(readdirSync(join(cwd, 'work')), [`${job.jobId}.png`]);
    assert.deepEqual(readdirSync(tmpd), [], 'nothing written to TMPDIR');
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, io.err);
  assert.match(io.out, /SIGTERM, shutting down/);
  assert.deepEqual(readdirSync(join(cwd, 'work')), [], 'result files removed on exit');
});

test('fmboost serve: a worker that dies fails its job with a message, is replaced, and the server stays up', async () => {
  const model = writeTinyBundle(join(tmp.dir, 'tiny-die.safetensors'), { steps: 3 }, 5, 'tiny-die');
  const { child, io, exited, port } = startServe(['--port', '0', '--model', model, '--threads', '1'], { env: { FMBOOST_TEST_WORKER_EXIT_SEED: '13' } });
  try {
    const base = `http://127.0.0.1:${await port}`;
    const submit = async (seed: number) => {
      const r = await fetch(`${base}/api/upscale?seed=${seed}`, { method: 'POST', body: await gradientPng(16, 16), headers: { 'Content-Type': 'image/png' } });
      assert.equal(r.status, 202);
      const job = (await r.json()) as any;
      return (await readEvents(`${base}${job.events}`)).at(-1)!;
    };
    const dead = await submit(13);
    assert.equal(dead.event, 'failed', JSON.stringify(dead));
    assert.match(JSON.stringify(dead.data), /the upsampling worker failed: upsampling worker exited with code 70/);
    assert.equal((await fetch(`${base}/healthz`)).status, 200, 'the server is up');
    const next = await submit(1);
    assert.equal(next.event, 'done', `the replacement worker runs the next job: ${JSON.stringify(next)}`);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, io.err);
});

test('fmboost serve: bad flags and a missing model fail with a message', () => {
  const bad = spawnSync(process.execPath, [MAIN, 'serve', '--port', 'http'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--port must be an integer from 0 to 65535, got 'http'/);
  const missing = spawnSync(process.execPath, [MAIN, 'serve', '--port', '0', '--model', join(tmp.dir, 'nope.safetensors')], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(missing.status, 2, 'a model that cannot load is bad input');
  assert.match(missing.stderr, /^fmboost: cannot load the model: .*nope\.safetensors.*no such file/);
});

test('fmboost serve: a port in use, a bad address or a workdir that is a file exit non-zero (the workers do not keep it alive)', async () => {
  const model = writeTinyBundle(join(tmp.dir, 'tiny-life.safetensors'), { steps: 3 }, 5, 'tiny-life');
  const { createServer } = await import('node:net');
  const blocker = createServer();
  const port = await new Promise<number>((r) => blocker.listen(0, '127.0.0.1', () => r((blocker.address() as { port: number }).port)));
  writeFileSync(join(tmp.dir, 'a-file'), 'x');
  try {
    for (const [args, re] of [
      [['--port', String(port)], /^fmboost: cannot listen on 127\.0\.0\.1:\d+: the port is in use/m],
      [['--port', '0', '--host', '192.0.2.1'], /^fmboost: cannot listen on 192\.0\.2\.1: no such address on this machine/m],
      [['--port', '0', '--workdir', join(tmp.dir, 'a-file')], /^fmboost: --workdir .*a-file is a file, not a folder/m],
      [['--port', '99999'], /--port must be an integer from 0 to 65535/],
      [['--port', '0', '--token', 'short'], /--token must be at least 8 characters/],
    ] as const) {
      const t0 = Date.now();
      const p = spawnSync(process.execPath, [MAIN, 'serve', '--model', model, '--threads', '1', ...args], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(p.status, 1, `${args.join(' ')}: ${p.stderr}`);
      assert.match(p.stderr, re);
      assert.ok(Date.now() - t0 < 45_000);
    }
  } finally {
    blocker.close();
  }
});

test('fmboost serve --token: /api and /metrics need the bearer token (header or ?token=), the page and /healthz do not; a public address warns', async () => {
  const model = writeTinyBundle(join(tmp.dir, 'tiny-token.safetensors'), { steps: 3 }, 5, 'tiny-token');
  const { child, io, exited, port } = startServe(['--port', '0', '--host', '0.0.0.0', '--model', model, '--threads', '1'], { env: { FMBOOST_TOKEN: 'sesame-1234' } });
  try {
    const base = `http://127.0.0.1:${await port}`;
    assert.match(io.err, /warning: listening on 0\.0\.0\.0: other machines can reach this server; requests need the bearer token/);
    assert.equal((await fetch(`${base}/`)).status, 200);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const no = await fetch(`${base}/api/info`);
    assert.equal(no.status, 401);
    assert.equal(no.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await fetch(`${base}/metrics`, { headers: { Authorization: 'Bearer wrong-token' } })).status, 401);
    assert.equal((await fetch(`${base}/api/info`, { headers: { Authorization: 'Bearer sesame-1234' } })).status, 200);
    const r = await fetch(`${base}/api/upscale?token=sesame-1234&steps=1`, { method: 'POST', body: await gradientPng(16, 16) });
    assert.equal(r.status, 202, 'the token in the query is not taken for a job option');
    const job = (await r.json()) as any;
    assert.equal((await readEvents(`${base}${job.events}?token=sesame-1234`)).at(-1)!.event, 'done');
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, io.err);
});
