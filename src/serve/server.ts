// The fmboost HTTP service (node:http, no framework): upload an image, get a job id, follow its
// progress over server-sent events, download the PNG. Inference runs in the injected Upscaler (worker
// threads in production), so /healthz and /metrics answer while jobs run.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeImage } from '../data/image_codec.js';
import { ImageDecodeError } from '../data/errors.js';
import { HttpError } from './errors.js';
import { readBody } from './body.js';
import { parseMultipart } from './multipart.js';
import { SOLVER_NAMES } from '../flow/sampling_options.js';
import { DEFAULT_OPTION_LIMITS, OPTION_NAMES, parseJobOptions, type JobOptions, type OptionLimits } from './options.js';
import { JobQueue, QueueFullError, type Job } from './queue.js';
import { prometheusText } from './metrics.js';
import { OUTPUT_MIME, type OutputFormat, type UpscaleInput, type UpscaleOutput, type Upscaler } from './upscaler.js';

const EXT: Record<OutputFormat, string> = { png: 'png', jpeg: 'jpg', webp: 'webp' };

export interface ServeOptions {
  upscaler: Upscaler;
  /** Jobs running at once (default 1). */
  concurrency?: number;
  /** Jobs allowed to wait; more get 429 (default 16). */
  queueLimit?: number;
  /** Largest request body in bytes (default 20 MiB). */
  maxUploadBytes?: number;
  /** Largest input image (width · height), checked from the header before decoding (default 4 MP). */
  maxPixels?: number;
  /** Largest output (width · height · scale²) a job may ask for (default 16 MP): memory per job grows with it. */
  maxOutputPixels?: number;
  /** Keep results as files here instead of in memory (created if missing). */
  workdir?: string;
  /** Finished jobs kept for download (default 64) and for how long (default 1 h). */
  keepResults?: number;
  resultTtlMs?: number;
  limits?: OptionLimits;
  /** Folder of the web page (default: src/serve/web of this package). */
  webDir?: string;
  /** When set, /api/* and /metrics need `Authorization: Bearer <token>` (or `?token=`, for EventSource and <img>). */
  token?: string;
}

export const SERVE_DEFAULTS = { concurrency: 1, queueLimit: 16, maxUploadBytes: 20 << 20, maxPixels: 4_000_000, maxOutputPixels: 16_000_000, keepResults: 32, resultTtlMs: 3_600_000 };

export interface JobInput extends UpscaleInput {
  inputWidth: number;
  inputHeight: number;
}

export interface JobResult extends Omit<UpscaleOutput, 'encoded'> {
  /** In memory, or `path` under the workdir. */
  encoded?: Buffer;
  path?: string;
  bytes: number;
}

type ServeJob = Job<JobInput, JobResult> & { meta: { inputWidth: number; inputHeight: number; name: string; options: JobOptions } };

const STATIC: Record<string, string> = {
  '/': 'index.html', '/index.html': 'index.html', '/app.js': 'app.js', '/style.css': 'style.css',
};
const MIME: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/** The web page folder: beside the compiled file if copied there, else the package's src/serve/web. */
export function defaultWebDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const d of [join(here, 'web'), resolve(here, '../../../src/serve/web')]) if (existsSync(join(d, 'index.html'))) return d;
  throw new Error(`fmboost serve: web page not found beside ${here} or in src/serve/web`);
}

export class ServeApp {
  readonly server: Server;
  readonly queue: JobQueue<JobInput, JobResult>;
  private readonly opts: Required<Omit<ServeOptions, 'workdir' | 'webDir' | 'token'>> & { workdir?: string; webDir: string; token?: string };
  private readonly started = Date.now();
  private jobSeconds = { sum: 0, count: 0 };
  private readonly sse = new Set<ServerResponse>();
  private readonly files = new Set<string>();

  constructor(opts: ServeOptions) {
    this.opts = { ...SERVE_DEFAULTS, limits: DEFAULT_OPTION_LIMITS, ...opts, webDir: opts.webDir ?? defaultWebDir() };
    if (!(this.opts.maxUploadBytes >= 1)) throw new RangeError(`maxUploadBytes must be ≥ 1, got ${this.opts.maxUploadBytes}`);
    if (!(this.opts.maxPixels >= 1)) throw new RangeError(`maxPixels must be ≥ 1, got ${this.opts.maxPixels}`);
    const workdir = this.opts.workdir;
    this.queue = new JobQueue<JobInput, JobResult>({
      concurrency: this.opts.concurrency,
      queueLimit: this.opts.queueLimit,
      keepFinished: this.opts.keepResults,
      ttlMs: this.opts.resultTtlMs,
      run: async (input, ctx) => {
        const out = await this.opts.upscaler.upscale(input, ctx);
        return { ...out, bytes: out.encoded.length };
      },
      onDone: async (job) => {
        const r = job.result!;
        this.jobSeconds.sum += (Date.now() - job.startedAt!) / 1000;
        this.jobSeconds.count++;
        if (workdir) {
          r.path = join(workdir, `${job.id}.${EXT[r.format ?? 'png']}`);
          await writeFile(r.path, r.encoded!);
          this.files.add(r.path);
          r.encoded = undefined;
        }
      },
      onEvict: (job) => {
        const p = job.result?.path;
        // synchronously, so a client that saw the next job finish never still sees the file
        if (p) { this.files.delete(p); rmSync(p, { force: true }); }
      },
    });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) => this.fail(res, e));
    });
    // uploads are bounded by maxUploadBytes; a slow client must not hold a socket forever
    this.server.requestTimeout = 120_000;
    this.server.headersTimeout = 30_000;
  }

  async listen(port = 8080, host = '127.0.0.1'): Promise<AddressInfo> {
    if (this.opts.workdir) {
      try {
        await mkdir(this.opts.workdir, { recursive: true });
      } catch (e) {
        throw new Error(`--workdir ${this.opts.workdir}: cannot create the folder: ${(e as Error).message}`);
      }
    }
    await new Promise<void>((res, rej) => {
      this.server.once('error', rej);
      this.server.listen(port, host, () => { this.server.off('error', rej); res(); });
    });
    return this.server.address() as AddressInfo;
  }

  /** Stops listening, ends event streams, cancels jobs, stops the upscaler, deletes result files. */
  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const res of this.sse) res.end();
    this.server.closeIdleConnections();
    await this.queue.close();
    await this.opts.upscaler.close();
    this.server.closeAllConnections();
    await closed;
    // results live only as long as the server: remove the files it wrote
    await Promise.all([...this.files].map((f) => rm(f, { force: true })));
    this.files.clear();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (this.opts.token && (path.startsWith('/api/') || path === '/metrics')) this.authorize(req, url);
    if (path === '/healthz') return this.only(method, ['GET', 'HEAD'], () => this.json(res, 200, { status: 'ok', uptimeSeconds: (Date.now() - this.started) / 1000, queued: this.queue.stats().queued, running: this.queue.stats().running }));
    if (path === '/metrics') return this.only(method, ['GET'], () => this.send(res, 200, prometheusText({
      stats: this.queue.stats(), uptimeSeconds: (Date.now() - this.started) / 1000, jobSecondsSum: this.jobSeconds.sum, jobSecondsCount: this.jobSeconds.count,
    }), 'text/plain; version=0.0.4; charset=utf-8'));
    if (path === '/api/info') return this.only(method, ['GET'], () => this.json(res, 200, this.info()));
    if (path === '/api/upscale') return this.only(method, ['POST'], () => this.upload(req, res, url));
    const m = /^\/api\/jobs\/([0-9a-f-]{36})(\/events|\/result)?$/.exec(path);
    if (m) {
      const job = this.queue.get(m[1]) as ServeJob | undefined;
      if (!job) throw new HttpError(404, `no job '${m[1]}' (unknown, or finished long enough ago to be forgotten)`);
      if (m[2] === '/events') return this.only(method, ['GET'], () => this.events(res, job));
      if (m[2] === '/result') return this.only(method, ['GET'], () => this.result(res, job));
      if (method === 'DELETE') { this.queue.cancel(job.id); return this.json(res, 200, this.status(job)); }
      return this.only(method, ['GET'], () => this.json(res, 200, this.status(job)));
    }
    const file = STATIC[path];
    if (file) return this.only(method, ['GET', 'HEAD'], () => this.staticFile(res, file));
    throw new HttpError(404, `no such endpoint: ${method} ${path}`);
  }

  /** Bearer token (header, or ?token= where a browser cannot set headers), compared in constant time. */
  private authorize(req: IncomingMessage, url: URL): void {
    const h = req.headers.authorization ?? '';
    const given = h.startsWith('Bearer ') ? h.slice(7).trim() : url.searchParams.get('token') ?? '';
    const a = Buffer.from(given), b = Buffer.from(this.opts.token as string);
    if (a.length !== b.length || !timingSafeEqual(a, b)) {
      throw new HttpError(401, given ? 'wrong token' : 'this server needs a token: send Authorization: Bearer <token> (or ?token=)', { 'WWW-Authenticate': 'Bearer' });
    }
  }

  private async only(method: string, allowed: string[], fn: () => unknown): Promise<void> {
    if (!allowed.includes(method)) throw new HttpError(405, `method ${method} not allowed here (use ${allowed.join(' or ')})`, { Allow: allowed.join(', ') });
    await fn();
  }

  private async upload(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    const body = await readBody(req, this.opts.maxUploadBytes);
    const fields: [string, string][] = [...url.searchParams].filter(([k]) => k !== 'token'); // the token is not a job option
    let image: Buffer | undefined;
    let name = 'upload';
    if (type.startsWith('multipart/form-data')) {
      for (const part of await parseMultipart(body, req.headers['content-type']!)) {
        if (part.filename !== undefined || part.name === 'image') {
          if (part.name !== 'image') throw new HttpError(400, `unexpected file field '${part.name}' (send the picture as the field 'image')`);
          if (image) throw new HttpError(400, 'more than one image in the request (send one per job)');
          image = part.data;
          name = part.filename || name;
        } else fields.push([part.name, part.data.toString('utf8')]);
      }
    } else if (type.startsWith('application/x-www-form-urlencoded')) {
      throw new HttpError(415, 'send the image as multipart/form-data (field "image") or as the raw request body');
    } else {
      image = body;
    }
    const model = this.opts.upscaler.describe?.();
    const options = parseJobOptions(fields, model?.scales.length ? { ...this.opts.limits, scales: model.scales } : this.opts.limits);
    if (!image || image.length === 0) throw new HttpError(400, 'no image in the request: send it as the multipart field "image" or as the raw body');
    let size: { width: number; height: number; format: string };
    try {
      // header only (no pixels decoded); the size check is ours so the message can say what was sent
      size = await probeImage(image, { maxPixels: Number.MAX_SAFE_INTEGER, name });
    } catch (e) {
      if (!(e instanceof ImageDecodeError)) throw e;
      if (e.code === 'unsupported') throw new HttpError(415, `not a supported image (send PNG, JPEG or WebP): ${e.reason}`);
      throw new HttpError(422, `cannot read the image: ${e.reason}`);
    }
    if (!['png', 'jpeg', 'webp'].includes(size.format)) throw new HttpError(415, `${size.format} images are not accepted (send PNG, JPEG or WebP)`);
    const pixels = size.width * size.height;
    if (pixels > this.opts.maxPixels) {
      throw new HttpError(422, `image too large: ${size.width}×${size.height} = ${pixels} pixels is more than the ${this.opts.maxPixels} this server accepts (decompression-bomb guard; nothing was decoded)`);
    }
    const scale = options.scale ?? model?.scales[0] ?? 2;
    const outPixels = Math.round(pixels * scale * scale);
    if (outPixels > this.opts.maxOutputPixels) {
      throw new HttpError(422, `output too large: ${size.width}×${size.height} at ${scale}× is ${outPixels} pixels, more than the ${this.opts.maxOutputPixels} this server makes (use a smaller scale or image)`);
    }
    let job: ServeJob;
    try {
      job = this.queue.submit({ image, options, name, inputWidth: size.width, inputHeight: size.height }) as ServeJob;
    } catch (e) {
      if (e instanceof QueueFullError) throw new HttpError(429, e.message, { 'Retry-After': '5' });
      throw e;
    }
    job.meta = { inputWidth: size.width, inputHeight: size.height, name, options };
    const base = `/api/jobs/${job.id}`;
    res.setHeader('Location', base);
    this.json(res, 202, { jobId: job.id, status: base, events: `${base}/events`, result: `${base}/result`, position: this.queue.position(job) });
  }

  /** What a client may ask for: the model, its scales and defaults, and the server's limits. */
  private info(): Record<string, unknown> {
    return {
      model: this.opts.upscaler.describe?.() ?? null,
      solvers: SOLVER_NAMES,
      options: OPTION_NAMES,
      limits: { maxUploadBytes: this.opts.maxUploadBytes, maxPixels: this.opts.maxPixels, maxOutputPixels: this.opts.maxOutputPixels, maxSteps: this.opts.limits.maxSteps, queueLimit: this.opts.queueLimit, concurrency: this.opts.concurrency },
    };
  }

  private status(job: ServeJob): Record<string, unknown> {
    const r = job.result;
    return {
      id: job.id, state: job.state, position: job.state === 'queued' ? this.queue.position(job) : undefined,
      progress: job.progress, error: job.error,
      input: { name: job.meta.name, width: job.meta.inputWidth, height: job.meta.inputHeight },
      options: job.meta.options,
      output: r ? { width: r.width, height: r.height, bytes: r.bytes, url: `/api/jobs/${job.id}/result` } : undefined,
      info: r?.info,
      createdAt: new Date(job.createdAt).toISOString(),
      seconds: job.finishedAt && job.startedAt ? (job.finishedAt - job.startedAt) / 1000 : undefined,
    };
  }

  private events(res: ServerResponse, job: ServeJob): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    res.write('retry: 2000\n\n');
    send('status', this.status(job));
    const end = () => {
      send(job.state, this.status(job)); // 'done' | 'failed' | 'cancelled'
      res.end();
    };
    if (job.state === 'done' || job.state === 'failed' || job.state === 'cancelled') return end();
    this.sse.add(res);
    const onProgress = (p: unknown) => send('progress', p);
    job.events.on('progress', onProgress);
    job.events.once('end', end);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    const cleanup = () => {
      clearInterval(ping);
      this.sse.delete(res);
      job.events.off('progress', onProgress);
      job.events.off('end', end);
    };
    // the response's 'close' covers both ends: the job finished (res.end) or the client went away
    res.on('close', cleanup);
  }

  private async result(res: ServerResponse, job: ServeJob): Promise<void> {
    if (job.state === 'failed') throw new HttpError(409, `job failed: ${job.error}`);
    if (job.state === 'cancelled') throw new HttpError(409, 'job was cancelled');
    if (job.state !== 'done') throw new HttpError(409, `job is ${job.state}; wait for it to finish (GET ${`/api/jobs/${job.id}/events`})`);
    const r = job.result!;
    const bytes = r.encoded ?? (await readFile(r.path!));
    const stem = job.meta.name.replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_') || 'image';
    const f = r.format ?? 'png';
    res.writeHead(200, {
      'Content-Type': OUTPUT_MIME[f], 'Content-Length': bytes.length, 'Cache-Control': 'no-store',
      'Content-Disposition': `inline; filename="${stem}_x${r.width / job.meta.inputWidth}.${EXT[f]}"`,
    });
    res.end(bytes);
  }

  private async staticFile(res: ServerResponse, file: string): Promise<void> {
    const body = await readFile(join(this.opts.webDir, file));
    res.writeHead(200, {
      'Content-Type': MIME[file.slice(file.lastIndexOf('.') + 1)], 'Cache-Control': 'no-cache',
      'Content-Security-Policy': "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'",
    });
    res.end(body);
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    this.send(res, status, JSON.stringify(body) + '\n', 'application/json; charset=utf-8');
  }

  private send(res: ServerResponse, status: number, body: string, type: string): void {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
    res.end(body);
  }

  private fail(res: ServerResponse, e: unknown): void {
    const err = e instanceof HttpError ? e : new HttpError(500, `internal error: ${(e as Error)?.message ?? String(e)}`);
    if (res.headersSent) { res.destroy(); return; }
    for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
    this.json(res, err.status, { error: err.message, status: err.status });
  }
}
