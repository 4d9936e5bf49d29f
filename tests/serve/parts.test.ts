// Pieces of the service on their own: multipart parsing (Node's built-in FormData parser), option parsing, the queue's bookkeeping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMultipart } from '../../src/serve/multipart.js';
import { parseJobOptions } from '../../src/serve/options.js';
import { JobQueue, QueueFullError } from '../../src/serve/queue.js';
import { HttpError } from '../../src/serve/errors.js';

const CRLF = '\r\n';

test('multipart (Node\'s built-in parser): fields, a file with binary bytes and CRLFs inside, quoted names', async () => {
  // what the browser's FormData produces
  const bytes = Buffer.from([0, 13, 10, 45, 45, 255, 13, 10]);
  const form = new FormData();
  form.append('steps', '12');
  form.append('image', new Blob([bytes], { type: 'image/png' }), 'my "best" photo.png');
  const req = new Request('http://x/', { method: 'POST', body: form });
  const body = Buffer.from(await req.arrayBuffer());
  const parts = await parseMultipart(body, req.headers.get('content-type')!);
  assert.deepEqual(parts.map((p) => [p.name, p.filename, p.contentType]), [['steps', undefined, undefined], ['image', 'my "best" photo.png', 'image/png']]);
  assert.equal(parts[0].data.toString(), '12');
  assert.deepEqual([...parts[1].data], [...bytes]);
});

test('multipart: hand-written body with a quoted boundary and a percent-encoded quote in the filename (as browsers send it)', async () => {
  const b = 'x-y';
  const body = Buffer.from(`--${b}${CRLF}Content-Disposition: form-data; name="image"; filename="a%22b.png"${CRLF}Content-Type: image/png${CRLF}${CRLF}DATA${CRLF}--${b}--${CRLF}`);
  const [p] = await parseMultipart(body, `multipart/form-data; boundary="${b}"`);
  assert.equal(p.filename, 'a"b.png');
  assert.equal(p.data.toString(), 'DATA');
});

test('multipart: malformed bodies and a missing boundary are 400 with a reason', async () => {
  const bad = (body: string, re: RegExp, ct = 'multipart/form-data; boundary=b') =>
    assert.rejects(parseMultipart(Buffer.from(body), ct), (e: unknown) => e instanceof HttpError && e.status === 400 && re.test(e.message));
  await bad('no boundary at all', /malformed multipart body/);
  await bad(`--b${CRLF}Content-Disposition: form-data; name="a"${CRLF}${CRLF}value without end`, /malformed multipart body/);
  await bad(`--b${CRLF}Content-Disposition: form-data${CRLF}${CRLF}v${CRLF}--b--`, /malformed multipart body/);
  await bad(`--b${CRLF}Content-Disposition: form-data; name="a"`, /malformed multipart body/);
  await bad('x', /without a valid boundary/, 'multipart/form-data');
});

test('options: empty values are absent, names are wire names, -1 noise step allowed', () => {
  assert.deepEqual(parseJobOptions([['steps', ' 8 '], ['seed', ''], ['noise_step', '-1'], ['solver', 'rk4'], ['scale', '4']]), { steps: 8, noiseStep: -1, solver: 'rk4', scale: 4 });
  assert.throws(() => parseJobOptions([['noiseStep', '3']]), /unknown option 'noiseStep' \(did you mean 'noise_step'\?\)/);
  assert.throws(() => parseJobOptions([['steps', '300']]), /steps must be an integer in \[1, 200\]/);
  assert.throws(() => parseJobOptions([['steps', '9']], { maxSteps: 8 }), /\[1, 8\]/);
});

test('queue: FIFO order, positions, limit, cancel, eviction by count and TTL', async () => {
  const order: number[] = [];
  const gates: (() => void)[] = [];
  const evicted: string[] = [];
  const q = new JobQueue<number, number>({
    concurrency: 1, queueLimit: 2, keepFinished: 10, ttlMs: 50, onEvict: (j) => evicted.push(j.id),
    run: (n) => new Promise<number>((res) => { order.push(n); gates.push(() => res(n * 10)); }),
  });
  try {
    const a = q.submit(1), b = q.submit(2), c = q.submit(3);
    assert.equal(a.state, 'running');
    assert.deepEqual([q.position(b), q.position(c), q.position(a)], [0, 1, -1]);
    assert.throws(() => q.submit(4), QueueFullError);
    assert.equal(q.cancel(b.id), true);
    assert.equal(b.state, 'cancelled');
    assert.equal(q.position(c), 0);
    gates.shift()!();
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(a.state, 'done');
    assert.equal(a.result, 10);
    gates.shift()!();
    await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(order, [1, 3], 'the cancelled job never ran');
    assert.deepEqual({ ...q.stats(), kept: undefined }, { queued: 0, running: 0, maxRunning: 1, accepted: 3, rejected: 1, done: 2, failed: 0, cancelled: 1, kept: undefined, concurrency: 1, queueLimit: 2 });
    // after the TTL the finished jobs are forgotten (the sweep runs on the next finish or its timer)
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(q.get(a.id), undefined);
    assert.deepEqual(evicted.sort(), [a.id, b.id, c.id].sort());
  } finally {
    await q.close();
  }
});
