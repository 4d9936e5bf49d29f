// The job queue: FIFO, at most `concurrency` jobs running, at most `queueLimit` waiting (the rest are
// refused so a burst cannot grow memory without bound), finished jobs kept for a while so clients can
// fetch results, then evicted (oldest first, or after a time to live).
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface Progress {
  stage: string;
  step: number;
  total: number;
  /** The whole job's progress in [0, 1] (pipeline/progress.ts), for a bar and an ETA. */
  fraction?: number;
}

/** What a job's runner gets: report progress, stop when the signal aborts. */
export interface RunContext {
  onProgress: (p: Progress) => void;
  signal: AbortSignal;
}

export interface Job<I, R> {
  readonly id: string;
  state: JobState;
  input: I | undefined;
  result?: R;
  error?: string;
  progress?: Progress;
  readonly createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** Emits 'progress' (Progress) and 'end' (the job) once it is done/failed/cancelled. */
  readonly events: EventEmitter;
  controller?: AbortController;
}

export interface QueueOptions<I, R> {
  run: (input: I, ctx: RunContext) => Promise<R>;
  concurrency: number;
  queueLimit: number;
  /** Finished jobs kept for result download (oldest evicted first). */
  keepFinished?: number;
  /** Finished jobs are evicted after this long (ms). */
  ttlMs?: number;
  /** Called when a finished job is evicted (e.g. to delete its result file). */
  onEvict?: (job: Job<I, R>) => void;
  /** Called after a job succeeded, before 'end' fires (e.g. to move its result to disk). */
  onDone?: (job: Job<I, R>) => Promise<void> | void;
}

export interface QueueStats {
  queued: number;
  running: number;
  /** Highest number of jobs that ran at the same time since start. */
  maxRunning: number;
  accepted: number;
  rejected: number;
  done: number;
  failed: number;
  cancelled: number;
  kept: number;
  concurrency: number;
  queueLimit: number;
}

export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
  constructor(readonly limit: number) {
    super(`the queue is full (${limit} jobs waiting); try again later`);
  }
}

export class JobQueue<I, R> {
  private readonly jobs = new Map<string, Job<I, R>>();
  private readonly waiting: Job<I, R>[] = [];
  private readonly finished: Job<I, R>[] = [];
  private running = 0;
  private readonly counts = { maxRunning: 0, accepted: 0, rejected: 0, done: 0, failed: 0, cancelled: 0 };
  private readonly opts: Required<Omit<QueueOptions<I, R>, 'onEvict' | 'onDone'>> & Pick<QueueOptions<I, R>, 'onEvict' | 'onDone'>;
  private closed = false;
  private sweeper: NodeJS.Timeout;

  constructor(opts: QueueOptions<I, R>) {
    if (!(Number.isInteger(opts.concurrency) && opts.concurrency >= 1)) throw new RangeError(`concurrency must be an integer ≥ 1, got ${opts.concurrency}`);
    if (!(Number.isInteger(opts.queueLimit) && opts.queueLimit >= 0)) throw new RangeError(`queueLimit must be an integer ≥ 0, got ${opts.queueLimit}`);
    this.opts = { keepFinished: 256, ttlMs: 3_600_000, ...opts };
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, this.opts.ttlMs)).unref();
  }

  /** Adds a job; throws QueueFullError when `queueLimit` jobs are already waiting. */
  submit(input: I): Job<I, R> {
    if (this.closed) throw new Error('the queue is closed');
    if (this.waiting.length >= this.opts.queueLimit && this.running >= this.opts.concurrency) {
      this.counts.rejected++;
      throw new QueueFullError(this.opts.queueLimit);
    }
    const job: Job<I, R> = { id: randomUUID(), state: 'queued', input, createdAt: Date.now(), events: new EventEmitter() };
    job.events.setMaxListeners(0);
    this.jobs.set(job.id, job);
    this.waiting.push(job);
    this.counts.accepted++;
    this.pump();
    return job;
  }

  get(id: string): Job<I, R> | undefined {
    return this.jobs.get(id);
  }

  /** Position in the waiting line (0 = next), or -1 when not waiting. */
  position(job: Job<I, R>): number {
    return this.waiting.indexOf(job);
  }

  /** Cancels a waiting or running job; false if it had already finished. */
  cancel(id: string): boolean {
    const job = this.jobs.get(id);
    if (!job) return false;
    if (job.state === 'queued') {
      this.waiting.splice(this.waiting.indexOf(job), 1);
      this.finish(job, 'cancelled', 'cancelled by the client');
      return true;
    }
    if (job.state === 'running') {
      job.controller?.abort();
      return true;
    }
    return false;
  }

  stats(): QueueStats {
    return {
      queued: this.waiting.length, running: this.running, ...this.counts, kept: this.finished.length,
      concurrency: this.opts.concurrency, queueLimit: this.opts.queueLimit,
    };
  }

  /** Stops accepting, cancels waiting and running jobs, and waits until none runs. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const j of [...this.waiting]) this.cancel(j.id);
    for (const j of this.jobs.values()) if (j.state === 'running') j.controller?.abort();
    while (this.running > 0) await new Promise((r) => setTimeout(r, 10));
  }

  private pump(): void {
    while (!this.closed && this.running < this.opts.concurrency && this.waiting.length) {
      const job = this.waiting.shift()!;
      void this.start(job);
    }
  }

  private async start(job: Job<I, R>): Promise<void> {
    this.running++;
    this.counts.maxRunning = Math.max(this.counts.maxRunning, this.running);
    job.state = 'running';
    job.startedAt = Date.now();
    job.controller = new AbortController();
    const input = job.input as I;
    job.input = undefined; // the runner owns it now; don't keep uploads alive in the job table
    try {
      const result = await this.opts.run(input, {
        signal: job.controller.signal,
        onProgress: (p) => { job.progress = p; job.events.emit('progress', p); },
      });
      job.result = result;
      if (this.opts.onDone) await this.opts.onDone(job);
      this.running--;
      this.finish(job, 'done');
    } catch (e) {
      this.running--;
      if (job.controller.signal.aborted) this.finish(job, 'cancelled', 'cancelled');
      else this.finish(job, 'failed', (e as Error)?.message ?? String(e));
    }
    this.pump();
  }

  private finish(job: Job<I, R>, state: 'done' | 'failed' | 'cancelled', error?: string): void {
    job.state = state;
    job.error = error;
    job.finishedAt = Date.now();
    job.controller = undefined;
    job.input = undefined;
    this.counts[state]++;
    this.finished.push(job);
    job.events.emit('end', job);
    job.events.removeAllListeners();
    this.sweep();
  }

  /** Evicts finished jobs beyond keepFinished or older than ttlMs. */
  private sweep(): void {
    const now = Date.now();
    while (this.finished.length && (this.finished.length > this.opts.keepFinished || now - this.finished[0].finishedAt! > this.opts.ttlMs)) {
      const old = this.finished.shift()!;
      this.jobs.delete(old.id);
      this.opts.onEvict?.(old);
    }
  }
}
