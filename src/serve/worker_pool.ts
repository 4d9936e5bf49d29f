// A fixed pool of worker threads, each running src/serve/upsample_worker (or another script speaking
// the same protocol). Jobs go to an idle worker; a crashed worker fails its job and is replaced.
import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerConfig } from './worker_protocol.js';
import type { ModelDescription, UpscaleInput, UpscaleOutput, Upscaler } from './upscaler.js';
import type { RunContext } from './queue.js';

export interface WorkerPoolOptions extends WorkerConfig {
  size: number;
  /** The worker script (default: upsample_worker.js beside this file). */
  script?: URL;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  reserved: boolean;
  loaded: boolean;
  busy?: { id: number; resolve: (o: UpscaleOutput) => void; reject: (e: Error) => void; ctx: RunContext };
}

/** A job failed in the worker (`kind` names the worker-side error class, e.g. ImageDecodeError). */
export class UpscaleError extends Error {
  override readonly name = 'UpscaleError';
  constructor(message: string, readonly kind = 'UpscaleError') {
    super(message);
  }
}

export class WorkerPool implements Upscaler {
  private readonly slots: Slot[] = [];
  private readonly waiters: ((s: Slot) => void)[] = [];
  private nextId = 1;
  private closing = false;
  private model?: ModelDescription;

  constructor(private readonly opts: WorkerPoolOptions) {
    if (!(Number.isInteger(opts.size) && opts.size >= 1)) throw new RangeError(`worker pool size must be an integer ≥ 1, got ${opts.size}`);
    for (let i = 0; i < opts.size; i++) this.slots.push(this.spawn());
  }

  /** Resolves once every worker has loaded the model; rejects with the load error otherwise. */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.ready));
  }

  private spawn(): Slot {
    const { script, size: _size, ...config } = this.opts;
    const worker = new Worker(script ?? new URL('./upsample_worker.js', import.meta.url), { workerData: config satisfies WorkerConfig });
    const slot = { worker, reserved: false, loaded: false } as Slot;
    slot.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.type === 'ready') { slot.loaded = true; this.model = m.model; resolve(); }
        else if (m.type === 'load-error') reject(new UpscaleError(`cannot load the model: ${m.message}`));
        else this.onMessage(slot, m);
      };
      worker.on('message', onMessage);
      worker.on('error', (e) => { reject(e); this.onCrash(slot, e); });
      worker.on('exit', (code) => {
        reject(new UpscaleError(`upsampling worker exited (code ${code}) before it was ready`));
        this.onCrash(slot, new UpscaleError(`upsampling worker exited with code ${code}`));
      });
    });
    slot.ready.catch(() => {}); // observed through ready() / upscale()
    return slot;
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    const job = slot.busy;
    if (!job || !('id' in m) || m.id !== job.id) return;
    if (m.type === 'progress') { job.ctx.onProgress({ stage: m.stage, step: m.step, total: m.total, fraction: m.fraction }); return; }
    this.release(slot);
    if (m.type === 'done') job.resolve({ encoded: Buffer.from(m.encoded), format: m.format, width: m.width, height: m.height, info: m.info });
    else if (m.type === 'error') {
      job.reject(new UpscaleError(m.message, m.name));
    }
  }

  private onCrash(slot: Slot, e: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    const job = slot.busy;
    slot.busy = undefined;
    job?.reject(new UpscaleError(`the upsampling worker failed: ${e.message}`));
    // a worker that never got ready (model load failed) is not replaced: that would loop forever
    if (this.closing || !slot.loaded) return;
    const fresh = this.spawn();
    this.slots[i] = fresh;
    fresh.ready.then(() => this.serveWaiter(fresh), () => {});
  }

  private serveWaiter(slot: Slot): void {
    if (slot.reserved || !this.slots.includes(slot)) return;
    const w = this.waiters.shift();
    if (w) { slot.reserved = true; w(slot); }
  }

  private release(slot: Slot): void {
    slot.busy = undefined;
    slot.reserved = false;
    this.serveWaiter(slot);
  }

  /** A free live worker, reserved synchronously so two jobs never share one. */
  private acquire(): Promise<Slot> {
    const free = this.slots.find((s) => !s.reserved);
    if (free) { free.reserved = true; return Promise.resolve(free); }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  describe(): ModelDescription | undefined {
    return this.model;
  }

  async upscale(input: UpscaleInput, ctx: RunContext): Promise<UpscaleOutput> {
    if (this.closing) throw new UpscaleError('the worker pool is closed');
    const slot = await this.acquire();
    try {
      await slot.ready;
    } catch (e) {
      this.release(slot);
      throw e;
    }
    const id = this.nextId++;
    return new Promise<UpscaleOutput>((resolve, reject) => {
      slot.busy = { id, resolve, reject, ctx };
      const onAbort = () => slot.worker.postMessage({ type: 'cancel', id } satisfies ToWorker);
      if (ctx.signal.aborted) onAbort();
      else ctx.signal.addEventListener('abort', onAbort, { once: true });
      const image = new Uint8Array(input.image).buffer; // a private copy we can transfer
      slot.worker.postMessage({ type: 'run', id, image, options: input.options, name: input.name } satisfies ToWorker, [image]);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
