// Worker thread that runs the real Upsampler, so inference never blocks the server's event loop
// (health checks, uploads and progress streams keep flowing). One job at a time per worker; the
// native addon is context-aware, so each worker loads its own copy of the weights.
import { parentPort, workerData } from 'node:worker_threads';
import { Upsampler, offeredScales } from '../pipeline/index.js';
import type { ImageParts } from '../data/image.js';
import { setNumThreads } from '../tensor/index.js';
import type { FromWorker, ToWorker, WorkerConfig } from './worker_protocol.js';

const cfg = workerData as WorkerConfig;
const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const running = new Map<number, AbortController>();

async function main(): Promise<void> {
  if (cfg.threads) setNumThreads(cfg.threads);
  let up: Upsampler;
  try {
    up = await Upsampler.load({ model: cfg.model, threads: cfg.threads, precision: cfg.precision, device: cfg.device });
  } catch (e) {
    post({ type: 'load-error', message: (e as Error).message });
    return;
  }
  const first = up.stages[0].flow;
  // a single model serves 2×, 3×, 4×, 8×, … (powers of its factor, others shrunk from the covering power:
  // pipeline/scale_plan.ts); a cascade gives its product
  const scales = up.stages.length > 1 ? [up.stages.reduce((a, s) => a * s.flow.factor, 1)] : offeredScales(first.factor);
  const quality = up.stages[0].info?.quality;
  post({ type: 'ready', model: { name: up.modelName, scales, precision: up.precision, defaults: { steps: first.steps - 1, solver: first.solver, noiseStep: first.noiseStep }, ...(typeof quality === 'string' ? { quality } : {}) } });
  port.on('message', (m: ToWorker) => {
    if (m.type === 'cancel') running.get(m.id)?.abort();
    else if (m.type === 'close') { up.dispose(); port.close(); }
    else if (m.type === 'run') void run(up, m);
  });
}

/** Test hook (as the trainer's FMBOOST_INJECT_NAN_STEP): a job with this seed ends the worker thread, as a fatal error would. */
const exitSeed = Number(process.env.FMBOOST_TEST_WORKER_EXIT_SEED ?? NaN);

async function run(up: Upsampler, m: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  if (m.options.seed === exitSeed) process.exit(70);
  const ac = new AbortController();
  running.set(m.id, ac);
  let parts: ImageParts | undefined;
  try {
    const { format = 'png', quality, ...options } = m.options;
    // this job's share of the server's memory budget, on top of what the process (weights, other jobs) holds now
    const memory = cfg.jobMemory ? { maxMemory: process.memoryUsage.rss() + cfg.jobMemory } : {};
    // decoded here (not by the Upsampler) for the server's pixel limit, after the size is checked against the budget
    // from the header; the result keeps its alpha, ICC and EXIF
    parts = await up.readImage(Buffer.from(m.image), { ...options, ...memory }, { maxPixels: cfg.maxPixels, name: m.name });
    const r = await up.upsampleImage(parts, {
      ...options,
      ...memory,
      signal: ac.signal,
      onProgress: (stage, step, total, d) => post({ type: 'progress', id: m.id, stage, step, total, fraction: d?.fraction ?? 0 }),
    });
    const info = r.info;
    const [height, width] = r.image.shape.slice(-2);
    let encoded: Buffer;
    try {
      encoded = await r.toBuffer({ format, quality, metadata: { 'fmboost:info': JSON.stringify(info) } });
    } finally {
      r.dispose();
    }
    const ab = encoded.buffer.slice(encoded.byteOffset, encoded.byteOffset + encoded.length) as ArrayBuffer;
    post({ type: 'done', id: m.id, encoded: ab, format, width, height, info: { ...info } }, [ab]);
  } catch (e) {
    const err = e as Error;
    post({ type: 'error', id: m.id, name: err?.name ?? 'Error', message: err?.message ?? String(e), aborted: ac.signal.aborted });
  } finally {
    parts?.rgb.dispose();
    parts?.alpha?.dispose();
    running.delete(m.id);
  }
}

void main();
