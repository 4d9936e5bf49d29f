// `fmboost serve` as a subprocess: starts on a free port, serves a job with the real model in a worker,
// writes nothing outside --workdir (cwd and TMPDIR are empty folders we then list), and exits cleanly on
// SIGTERM, removing its result files. Bad flags and a missing model fail with a message.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { ROOT } from '../helpers.js';
import { gradientPng, readEvents } from './fake_upscaler.js';
import { tmpDir, writeTinyBundle } from '../pipeline/tiny.js';

const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const tmp = tmpDir('fmboost-serve-cli-');
after(() => tmp.cleanup());

test('fmboost serve: one job end to end, files only under --workdir, clean SIGTERM', async () => {
  const model = writeTinyBundle(join(tmp.dir, 'tiny.safetensors'), { steps: 3 }, 5, 'tiny-cli');
  const cwd = join(tmp.dir, 'run'), tmpd = join(tmp.dir, 'tmp');
  mkdirSync(cwd);
  mkdirSync(tmpd);
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--model', model, '--workdir', 'work', '--queue-limit', '3', '--threads', '1'], {
    cwd, env: { ...process.env, TMPDIR: tmpd }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '', err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    const base = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no listening line in 30 s; stdout: ${out}; stderr: ${err}`)), 30_000);
      child.stdout.on('data', () => {
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
        if (m) { clearTimeout(t); resolve(m[1]); }
      });
      child.on('exit', (code) => { clearTimeout(t); reject(new Error(`exited ${code}: ${err}`)); });
    });
    assert.match(out, /concurrency 1, queue limit 3, 1 thread\(s\) per worker/);
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
  assert.equal(await exited, 0, err);
  assert.match(out, /SIGTERM, shutting down/);
  assert.deepEqual(readdirSync(join(cwd, 'work')), [], 'result files removed on exit');
});

test('fmboost serve: bad flags and a missing model fail with a message', () => {
  const bad = spawnSync(process.execPath, [MAIN, 'serve', '--port', 'http'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--port must be an integer ≥ 0, got 'http'/);
  const missing = spawnSync(process.execPath, [MAIN, 'serve', '--port', '0', '--model', join(tmp.dir, 'nope.safetensors')], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(missing.status, 2, 'a model that cannot load is bad input');
  assert.match(missing.stderr, /^fmboost: cannot load the model: .*nope\.safetensors.*no such file/);
});
