// The addon in worker_threads: each JS thread loads its own instance and defines its op table while others
// run ops (the service's inference workers). The op table was once process-wide, and a Worker's definitions
// could reallocate it under a running op on the main thread (a rare SIGABRT). This test starts Workers over and
// over while the main thread keeps calling ops, in a child process so that a native crash fails the test
// instead of killing the runner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

const SCRIPT = `
const { Worker } = require('node:worker_threads');
const { pathToFileURL } = require('node:url');
const mod = pathToFileURL(process.argv[1]).href;
(async () => {
  const t = await import(mod);
  const x = t.randn([16, 16]);
  let done = 0, stop = false;
  const spin = async () => { while (!stop) { for (let i = 0; i < 200; i++) t.tidy(() => x.matmul(x).abs().sum()); await new Promise((r) => setImmediate(r)); } };
  const spinning = spin();
  for (let round = 0; round < 6; round++) {
    const ws = Array.from({ length: 3 }, () => new Worker(
      "import(" + JSON.stringify(mod) + ").then((t) => { const a = t.randn([8, 8]); const s = t.tidy(() => a.matmul(a).sum().item()); require('node:worker_threads').parentPort.postMessage(Number.isFinite(s)); })",
      { eval: true }));
    const ok = await Promise.all(ws.map((w) => new Promise((res, rej) => { w.once('message', res); w.once('error', rej); })));
    if (!ok.every(Boolean)) throw new Error('a worker computed a non-finite sum');
    await Promise.all(ws.map((w) => w.terminate()));
    done += ws.length;
  }
  stop = true;
  await spinning;
  console.log('workers ' + done);
})().catch((e) => { console.error(e); process.exit(1); });
`;

test('Workers load the addon and run ops while the main thread runs ops (no native crash)', () => {
  const p = spawnSync(process.execPath, ['-e', SCRIPT, join(ROOT, 'dist', 'src', 'tensor', 'index.js')], { encoding: 'utf8', env: { ...process.env, FMBOOST_THREADS: '1' }, timeout: 120_000 });
  assert.equal(p.signal, null, `child died by ${p.signal}: ${p.stderr}`);
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /workers 18/);
});
