// A pool of worker threads running decode tasks; 0 workers runs them inline (still async: libvips
// decodes on its own threads). Workers are ref'd only while they have work, so an idle pool never
// keeps the process alive.
import { Worker } from 'node:worker_threads';
import { runDecodeTask, type DecodeResult, type DecodeTask } from './decode_task.js';

interface Slot { worker: Worker; pending: number }

export class DecodePool {
  private readonly slots: Slot[] = [];
  private readonly waiting = new Map<number, { resolve: (r: DecodeResult) => void; reject: (e: Error) => void; slot?: Slot }>();
  private nextId = 1;
  private closed = false;
  private lastError: Error | undefined;

  constructor(readonly numWorkers: number) {
    if (!Number.isInteger(numWorkers) || numWorkers < 0) throw new RangeError(`DecodePool: numWorkers must be a non-negative integer, got ${numWorkers}`);
    for (let i = 0; i < numWorkers; i++) {
      const worker = new Worker(new URL('./decode_worker.js', import.meta.url));
      const slot: Slot = { worker, pending: 0 };
      worker.unref();
      worker.on('message', (r: DecodeResult) => this.settle(r));
      worker.on('error', (e) => this.failSlot(slot, e));
      worker.on('exit', (code) => { if (!this.closed) this.failSlot(slot, new Error(`decode worker exited with code ${code}`)); });
      this.slots.push(slot);
    }
  }

  private settle(r: DecodeResult): void {
    const w = this.waiting.get(r.id);
    if (!w) return;
    this.waiting.delete(r.id);
    if (w.slot && --w.slot.pending === 0) w.slot.worker.unref();
    w.resolve(r);
  }

  private failSlot(slot: Slot, e: Error): void {
    const k = this.slots.indexOf(slot);
    if (k >= 0) this.slots.splice(k, 1); // a dead worker gets no more tasks
    this.lastError = e;
    for (const [id, w] of this.waiting) {
      if (w.slot !== slot) continue;
      this.waiting.delete(id);
      w.reject(e);
    }
    slot.pending = 0;
  }

  /** Decodes one image; the task's id is assigned here. */
  run(task: Omit<DecodeTask, 'id'>): Promise<DecodeResult> {
    if (this.closed) return Promise.reject(new Error('DecodePool is closed'));
    const id = this.nextId++;
    const t: DecodeTask = { ...task, id };
    if (!this.slots.length) {
      if (this.numWorkers > 0) return Promise.reject(new Error(`all ${this.numWorkers} decode workers have exited (last error: ${this.lastError?.message})`));
      return runDecodeTask(t);
    }
    const slot = this.slots.reduce((a, b) => (b.pending < a.pending ? b : a));
    return new Promise<DecodeResult>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, slot });
      if (slot.pending++ === 0) slot.worker.ref();
      slot.worker.postMessage(t);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiting.values()) w.reject(new Error('DecodePool closed'));
    this.waiting.clear();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
