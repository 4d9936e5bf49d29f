// `fmboost serve`: the HTTP service and web page (src/serve). Inference runs in worker threads, one per
// concurrent job, each with its own copy of the model; the server itself stays responsive.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ServeApp, SERVE_DEFAULTS } from '../../serve/server.js';
import { WorkerPool } from '../../serve/worker_pool.js';
import { existsSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { deviceOption, intOption, memoryOption, PRECISION_HELP, precisionOption, threadsOption } from '../options.js';
import { defaultMemoryBudget } from '../../pipeline/memory.js';
import { fail, UsageError } from '../errors.js';
import type { PrecisionOption } from '../../tensor/precision_names.js';

function positive(name: string) {
  return (v: string): number => {
    const x = Number(v);
    if (!(x > 0) || !Number.isFinite(x)) throw new Error(`--${name} must be a positive number, got '${v}'`);
    return x;
  };
}

interface ServeCliOptions {
  host: string;
  port: number;
  model?: string;
  concurrency: number;
  queueLimit: number;
  maxUploadMb: number;
  maxPixels: number;
  maxMemory?: number;
  maxOutputPixels: number;
  workdir?: string;
  threads?: number;
  precision?: PrecisionOption;
  device?: string;
  token?: string;
}

/** Loopback addresses: only this machine can connect. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the upscaling HTTP service and its web page (POST /api/upscale, GET /api/jobs/:id[/events|/result], /healthz, /metrics)')
    .option('--host <addr>', 'address to listen on (loopback by default; use 0.0.0.0 to expose it)', '127.0.0.1')
    .option('--port <n>', 'TCP port (0 = any free port)', intOption('port', 0, 65535), 8080)
    .option('--model <path>', 'model bundle (.safetensors) or training checkpoint (default: the bundled model)')
    .option('--concurrency <n>', 'jobs running at once (one worker thread each)', intOption('concurrency', 1), SERVE_DEFAULTS.concurrency)
    .option('--queue-limit <n>', 'jobs allowed to wait; more are refused with 429', intOption('queue-limit', 0), SERVE_DEFAULTS.queueLimit)
    .option('--max-upload-mb <mb>', 'largest request body in MiB (413 above)', positive('max-upload-mb'), SERVE_DEFAULTS.maxUploadBytes / 2 ** 20)
    .option('--max-memory <size>', 'memory budget of all running jobs together, e.g. 8G (default: a quarter of the free memory, 1–4 GB); each of the --concurrency jobs gets its share, tiles are chosen to fit it and a job that cannot fit fails with the estimate', memoryOption)
    .option('--max-pixels <n>', 'largest input image, width × height, checked before decoding (422 above)', intOption('max-pixels', 1), SERVE_DEFAULTS.maxPixels)
    .option('--max-output-pixels <n>', 'largest output, width × height × scale², a job may ask for (422 above)', intOption('max-output-pixels', 1), SERVE_DEFAULTS.maxOutputPixels)
    .option('--workdir <dir>', 'keep results as files in this folder (default: in memory); removed on exit')
    .option('--threads <n>', 'libtorch threads per worker (default: cores / concurrency)', threadsOption)
    .option('--precision <p>', `${PRECISION_HELP}; default fp32`, precisionOption)
    .option('--device <d>', 'cpu (default), cuda or cuda:N', deviceOption)
    .option('--token <t>', 'require Authorization: Bearer <t> on /api and /metrics (default: FMBOOST_TOKEN; the page takes it as #token=<t>)')
    .action(async (o: ServeCliOptions) => {
      try {
        await serve(o);
      } catch (e) {
        // worker threads would keep the process alive: a server that cannot start must exit, non-zero
        fail(e);
        process.exit(process.exitCode ?? 1);
      }
    });
}

async function serve(o: ServeCliOptions): Promise<void> {
  const token = o.token ?? process.env.FMBOOST_TOKEN ?? undefined;
  if (token !== undefined && token.length < 8) throw new UsageError('--token must be at least 8 characters');
  if (o.workdir && existsSync(o.workdir) && !statSync(o.workdir).isDirectory()) throw new UsageError(`--workdir ${o.workdir} is a file, not a folder`);
  if (!isLoopback(o.host)) {
    process.stderr.write(`fmboost: warning: listening on ${o.host}: other machines can reach this server; ${token ? 'requests need the bearer token' : 'there is no authentication (set --token or FMBOOST_TOKEN)'}\n`);
  }
  const threads = o.threads ?? Math.max(1, Math.floor(availableParallelism() / o.concurrency));
  const pool = new WorkerPool({ size: o.concurrency, model: o.model && resolve(o.model), threads, precision: o.precision, device: o.device, maxPixels: o.maxPixels, jobMemory: Math.floor((o.maxMemory ?? defaultMemoryBudget()) / o.concurrency) });
  try {
    await pool.ready();
  } catch (e) {
    await pool.close();
    throw e;
  }
  const app = new ServeApp({
    upscaler: pool, concurrency: o.concurrency, queueLimit: o.queueLimit, maxUploadBytes: Math.floor(o.maxUploadMb * 2 ** 20),
    maxPixels: o.maxPixels, maxOutputPixels: o.maxOutputPixels, workdir: o.workdir && resolve(o.workdir), token,
  });
  let addr;
  try {
    addr = await app.listen(o.port, o.host);
  } catch (e) {
    await app.close();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new UsageError(`cannot listen on ${o.host}:${o.port}: the port is in use (--port 0 picks a free one)`);
    if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') throw new UsageError(`cannot listen on ${o.host}: no such address on this machine`);
    throw e;
  }
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  // one parseable line: tests and scripts read the port from it
  console.log(`fmboost serve: listening on http://${host}:${addr.port}/ (concurrency ${o.concurrency}, queue limit ${o.queueLimit}, ${threads} thread(s) per worker)`);
  const stop = (sig: string) => {
    console.log(`fmboost serve: ${sig}, shutting down`);
    app.close().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
