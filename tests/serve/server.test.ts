// The HTTP service with a fake upscaler: input checks (4xx with messages), job flow (202 → SSE → PNG),
// queue limits (429), cancellation, metrics, results under --workdir only.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ServeApp } from '../../src/serve/server.js';
import { parsePrometheus } from '../../src/serve/metrics.js';
import { SOLVERS } from '../../src/flow/index.js';
import { FakeUpscaler, gradientPng, openEvents, readEvents } from './fake_upscaler.js';

async function start(opts: Partial<ConstructorParameters<typeof ServeApp>[0]> = {}) {
  const fake = new FakeUpscaler();
  const app = new ServeApp({ upscaler: fake, maxUploadBytes: 64 * 1024, maxPixels: 250_000, ...opts });
  const { port } = await app.listen(0, '127.0.0.1');
  return { app, fake: (opts.upscaler as FakeUpscaler | undefined) ?? fake, base: `http://127.0.0.1:${port}` };
}

async function post(base: string, query: string, body: Buffer | FormData, type = 'image/png') {
  const res = await fetch(`${base}/api/upscale${query}`, { method: 'POST', body, headers: body instanceof FormData ? {} : { 'Content-Type': type } });
  const json = (await res.json()) as any;
  return { status: res.status, json, headers: res.headers };
}

async function metrics(base: string) {
  return parsePrometheus(await (await fetch(`${base}/metrics`)).text());
}

describe('serve: input checks', () => {
  let s: Awaited<ReturnType<typeof start>>;
  let png: Buffer;
  before(async () => { s = await start(); png = await gradientPng(16, 12); });
  after(async () => { await s.app.close(); });

  test('/api/info lists every implemented flow solver', async () => {
    const info = await (await fetch(`${s.base}/api/info`)).json() as { solvers: string[] };
    assert.deepEqual([...info.solvers].sort(), Object.keys(SOLVERS).sort());
  });

  test('non-image body → 415 naming the accepted formats', async () => {
    const r = await post(s.base, '', Buffer.from('hello, this is not a picture'), 'application/octet-stream');
    assert.equal(r.status, 415);
    assert.match(r.json.error, /not a supported image.*PNG, JPEG or WebP/);
  });

  test('truncated PNG → 422 with the decoder message', async () => {
    const r = await post(s.base, '', png.subarray(0, 40));
    assert.ok(r.status === 422 || r.status === 415, `status ${r.status}`);
    assert.ok(r.json.error.length > 10);
    assert.equal(r.status, 422, r.json.error);
  });

  test('empty body → 400', async () => {
    const r = await post(s.base, '', Buffer.alloc(0));
    assert.equal(r.status, 400);
    assert.match(r.json.error, /no image/);
  });

  test('unknown options → 400 naming each, with a suggestion', async () => {
    const r = await post(s.base, '?stesp=4&colour=red', png);
    assert.equal(r.status, 400);
    assert.match(r.json.error, /'stesp' \(did you mean 'steps'\?\)/);
    assert.match(r.json.error, /'colour'/);
    const form = new FormData();
    form.append('image', new Blob([png], { type: 'image/png' }), 'a.png');
    form.append('noise-step', '3');
    const f = await post(s.base, '', form);
    assert.equal(f.status, 400);
    assert.match(f.json.error, /'noise-step' \(did you mean 'noise_step'\?\)/);
  });

  test('bad option values → 400 naming the option and range', async () => {
    for (const [q, re] of [['?steps=0', /steps must be an integer in \[1, 200\]/], ['?steps=2.5', /steps/], ['?solver=rk5', /solver must be one of euler/],
      ['?scale=0.5', /scale must be a number in \(1, 8\]/], ['?seed=-1', /seed/], ['?noise_step=1000', /noise_step/], ['?steps=3&steps=4', /more than once/]] as const) {
      const r = await post(s.base, q, png);
      assert.equal(r.status, 400, q);
      assert.match(r.json.error, re, q);
    }
  });

  test('body over the limit → 413, declared or streamed (chunked)', async () => {
    const big = Buffer.alloc(100 * 1024, 7);
    const r = await post(s.base, '', big);
    assert.equal(r.status, 413);
    assert.match(r.json.error, /larger than the limit of 64 KiB/);
    // chunked upload without Content-Length: cut off once it passes the limit
    const status = await new Promise<{ code: number; body: string }>((resolve, reject) => {
      const req = request(`${s.base}/api/upscale`, { method: 'POST', headers: { 'Content-Type': 'image/png', 'Transfer-Encoding': 'chunked' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ code: res.statusCode!, body }));
      });
      req.on('error', reject);
      let sent = 0;
      const pump = () => {
        while (sent < 200 * 1024) {
          sent += 8 * 1024;
          if (!req.write(Buffer.alloc(8 * 1024, 1))) { req.once('drain', pump); return; }
        }
        req.end();
      };
      pump();
    });
    assert.equal(status.code, 413);
    assert.match(status.body, /larger than the limit/);
  });

  test('too many pixels (a 16 MP PNG of 47 KB: decompression bomb) → 422 before decoding', async () => {
    const bomb = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#000' } }).png({ compressionLevel: 9 }).toBuffer();
    assert.ok(bomb.length < 64 * 1024, `bomb is ${bomb.length} bytes`);
    const r = await post(s.base, '', bomb);
    assert.equal(r.status, 422);
    assert.match(r.json.error, /4000×4000 = 16000000 pixels is more than the 250000 this server accepts/);
    assert.equal(s.fake.calls, 0, 'the upscaler never saw a rejected upload');
  });

  test('output over maxOutputPixels → 422 naming the size and scale', async () => {
    const t = await start({ maxOutputPixels: 10_000 });
    try {
      const img = await gradientPng(60, 40); // 2400 px: 9600 at 2× passes, 21600 at 3× does not
      assert.equal((await post(t.base, '?scale=2', img)).status, 202);
      const r = await post(t.base, '?scale=3', img);
      assert.equal(r.status, 422);
      assert.match(r.json.error, /output too large: 60×40 at 3× is 21600 pixels, more than the 10000/);
    } finally {
      await t.app.close();
    }
  });

  test('form upload with a non-"image" file field or two images → 400', async () => {
    const f1 = new FormData();
    f1.append('picture', new Blob([png]), 'a.png');
    const r1 = await post(s.base, '', f1);
    assert.equal(r1.status, 400);
    assert.match(r1.json.error, /field 'image'/);
    const f2 = new FormData();
    f2.append('image', new Blob([png]), 'a.png');
    f2.append('image', new Blob([png]), 'b.png');
    assert.equal((await post(s.base, '', f2)).status, 400);
  });

  test('unknown routes, jobs and methods', async () => {
    assert.equal((await fetch(`${s.base}/nope`)).status, 404);
    const j = await fetch(`${s.base}/api/jobs/00000000-0000-0000-0000-000000000000`);
    assert.equal(j.status, 404);
    assert.match(((await j.json()) as any).error, /no job/);
    const m = await fetch(`${s.base}/api/upscale`);
    assert.equal(m.status, 405);
    assert.equal(m.headers.get('allow'), 'POST');
  });
});

describe('serve: jobs', () => {
  let s: Awaited<ReturnType<typeof start>>;
  let png: Buffer;
  before(async () => { s = await start(); png = await gradientPng(20, 14); });
  after(async () => { await s.app.close(); });

  test('raw upload → 202, SSE progress then done, PNG result at scale × size', async () => {
    // hold the job until the event stream is connected, so it sees every progress event
    let open!: () => void;
    s.fake.gate = new Promise((res) => (open = res));
    const r = await post(s.base, '?steps=5&scale=3&seed=7', png);
    assert.equal(r.status, 202);
    assert.match(r.json.jobId, /^[0-9a-f-]{36}$/);
    assert.equal(r.headers.get('location'), `/api/jobs/${r.json.jobId}`);
    const stream = await openEvents(`${s.base}${r.json.events}`);
    open();
    s.fake.gate = undefined;
    const ev = await stream.events();
    const progress = ev.filter((e) => e.event === 'progress');
    assert.equal(ev[0].event, 'status');
    assert.deepEqual(progress.map((e) => e.data.step), [1, 2, 3, 4, 5]);
    assert.ok(progress.every((e) => e.data.total === 5 && e.data.stage === 'flow'));
    assert.equal(ev.at(-1)!.event, 'done');
    assert.deepEqual(ev.at(-1)!.data.output.width, 60);
    const res = await fetch(`${s.base}${r.json.result}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    assert.deepEqual([meta.width, meta.height], [60, 42]);
    const st = (await (await fetch(`${s.base}${r.json.status}`)).json()) as any;
    assert.equal(st.state, 'done');
    assert.deepEqual(st.options, { steps: 5, scale: 3, seed: 7 });
    assert.deepEqual(st.input, { name: 'upload', width: 20, height: 14 });
    // events of a finished job: status then the final event, immediately
    const again = await readEvents(`${s.base}${r.json.events}`);
    assert.deepEqual(again.map((e) => e.event), ['status', 'done']);
  });

  test('multipart upload with form fields (what the page sends)', async () => {
    const form = new FormData();
    form.append('image', new Blob([png], { type: 'image/png' }), 'cat photo.png');
    form.append('steps', '3');
    form.append('solver', 'heun');
    form.append('scale', '2');
    form.append('seed', '');
    const r = await post(s.base, '', form);
    assert.equal(r.status, 202, JSON.stringify(r.json));
    const ev = await readEvents(`${s.base}${r.json.events}`);
    assert.equal(ev.at(-1)!.event, 'done');
    assert.deepEqual(ev.at(-1)!.data.options, { steps: 3, solver: 'heun', scale: 2 });
    const res = await fetch(`${s.base}${r.json.result}`);
    assert.match(res.headers.get('content-disposition')!, /filename="cat_photo_x2\.png"/);
  });

  test('a failing upscale → SSE failed with the message; result 409', async () => {
    const fake = new FakeUpscaler();
    fake.upscale = async () => { throw new Error('model exploded: shape [1, 4, 3, 3]'); };
    const t = await start({ upscaler: fake });
    try {
      const r = await post(t.base, '', png);
      const ev = await readEvents(`${t.base}${r.json.events}`);
      assert.equal(ev.at(-1)!.event, 'failed');
      assert.match(ev.at(-1)!.data.error, /model exploded/);
      const res = await fetch(`${t.base}${r.json.result}`);
      assert.equal(res.status, 409);
      assert.match(((await res.json()) as any).error, /job failed: model exploded/);
      assert.equal((await metrics(t.base)).get('fmboost_jobs_total{outcome="failed"}'), 1);
    } finally {
      await t.app.close();
    }
  });
});

describe('serve: queue', () => {
  test('queue limit → 429 with Retry-After; cancel a waiting job; counters in /metrics', async () => {
    const fake = new FakeUpscaler();
    let open!: () => void;
    fake.gate = new Promise((r) => (open = r));
    const s = await start({ upscaler: fake, concurrency: 1, queueLimit: 2 });
    try {
      const png = await gradientPng(8, 8);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await post(s.base, '', png);
        assert.equal(r.status, 202);
        ids.push(r.json.jobId);
      }
      const full = await post(s.base, '', png);
      assert.equal(full.status, 429);
      assert.equal(full.headers.get('retry-after'), '5');
      assert.match(full.json.error, /queue is full \(2 jobs waiting\)/);
      let m = await metrics(s.base);
      assert.equal(m.get('fmboost_jobs_running'), 1);
      assert.equal(m.get('fmboost_queue_length'), 2);
      assert.equal(m.get('fmboost_jobs_total{outcome="rejected"}'), 1);
      // cancel the last waiting one
      const del = await fetch(`${s.base}/api/jobs/${ids[2]}`, { method: 'DELETE' });
      assert.equal(((await del.json()) as any).state, 'cancelled');
      const st = (await (await fetch(`${s.base}/api/jobs/${ids[1]}`)).json()) as any;
      assert.equal(st.state, 'queued');
      assert.equal(st.position, 0);
      open();
      for (const id of ids.slice(0, 2)) assert.equal((await readEvents(`${s.base}/api/jobs/${id}/events`)).at(-1)!.event, 'done');
      m = await metrics(s.base);
      assert.equal(m.get('fmboost_jobs_total{outcome="done"}'), 2);
      assert.equal(m.get('fmboost_jobs_total{outcome="cancelled"}'), 1);
      assert.equal(m.get('fmboost_jobs_running_max'), 1);
      assert.equal(fake.calls, 2, 'the cancelled job never ran');
    } finally {
      await s.app.close();
    }
  });

  test('20 concurrent uploads with concurrency 3: all finish, never more than 3 run', async () => {
    const fake = new FakeUpscaler(3, 4);
    const s = await start({ upscaler: fake, concurrency: 3, queueLimit: 20 });
    try {
      const png = await gradientPng(10, 10);
      const posted = await Promise.all(Array.from({ length: 20 }, () => post(s.base, '?steps=4', png)));
      assert.deepEqual(posted.map((p) => p.status), Array(20).fill(202));
      const ends = await Promise.all(posted.map((p) => readEvents(`${s.base}${p.json.events}`)));
      assert.ok(ends.every((e) => e.at(-1)!.event === 'done'));
      const m = await metrics(s.base);
      assert.equal(m.get('fmboost_jobs_total{outcome="done"}'), 20);
      assert.equal(m.get('fmboost_jobs_running_max'), 3, 'the limit was reached but not passed');
      assert.equal(fake.maxRunning, 3);
    } finally {
      await s.app.close();
    }
  });
});

describe('serve: storage', () => {
  test('with a workdir, results are files there, removed on eviction and on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fmboost-serve-'));
    try {
      const work = join(dir, 'work');
      const s = await start({ workdir: work, keepResults: 2 });
      try {
      const png = await gradientPng(8, 8);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await post(s.base, '', png);
        ids.push(r.json.jobId);
        await readEvents(`${s.base}${r.json.events}`);
      }
      // keepResults 2: the first job was forgotten, its file deleted
      assert.deepEqual(readdirSync(work).sort(), ids.slice(1).map((id) => `${id}.png`).sort());
      assert.equal((await fetch(`${s.base}/api/jobs/${ids[0]}`)).status, 404);
      const res = await fetch(`${s.base}/api/jobs/${ids[2]}/result`);
      assert.equal((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width, 16);
      } finally {
        await s.app.close();
      }
      assert.deepEqual(readdirSync(work), []);
      assert.deepEqual(readdirSync(dir), ['work']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('serve: page', () => {
  test('GET / serves the page with its script and stylesheet; /healthz answers', async () => {
    const s = await start();
    try {
      const res = await fetch(`${s.base}/`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type')!, /text\/html/);
      assert.match(res.headers.get('content-security-policy')!, /default-src 'self'/);
      const html = await res.text();
      assert.match(html, /<input id="file" name="image" type="file"/);
      for (const f of ['/app.js', '/style.css']) assert.equal((await fetch(`${s.base}${f}`)).status, 200, f);
      const h = (await (await fetch(`${s.base}/healthz`)).json()) as any;
      assert.equal(h.status, 'ok');
    } finally {
      await s.app.close();
    }
  });
});
