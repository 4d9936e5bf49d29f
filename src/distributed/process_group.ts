// A c10d process group (Gloo on CPU, NCCL on CUDA) with a TCPStore rendezvous at MASTER_ADDR:PORT.
// Collectives run on the backend's threads and are awaited off the event loop; every failure is a
// DistributedError naming the rank and the op, and none waits longer than the group's timeout.
import { cat, noGrad, tensor, tidy, type Tensor } from '../tensor/index.js';
import { native } from '../tensor/native.js';
import { asDistributedError, DistributedError } from './errors.js';
import type { World } from './world.js';

export type Backend = 'gloo' | 'nccl';
export type ReduceOpName = 'sum' | 'max' | 'min' | 'product';

export interface ProcessGroupOptions {
  /** Default: nccl when the tensors live on CUDA, else gloo. */
  backend?: Backend;
  /** Longest wait of the rendezvous and of any collective (default 600 s). */
  timeoutMs?: number;
}

/** The backends this build of the addon can create. */
export function availableBackends(): Backend[] {
  return native.distBackends() as Backend[];
}

export class ProcessGroup {
  private handle: unknown;
  private constructor(readonly world: World, readonly backend: Backend, readonly timeoutMs: number, handle: unknown) {
    this.handle = handle;
  }

  get rank(): number { return this.world.rank; }
  get size(): number { return this.world.worldSize; }

  /** Joins the group: returns when every rank has connected (or fails after the timeout). */
  static async init(world: World, opts: ProcessGroupOptions = {}): Promise<ProcessGroup> {
    const backend = opts.backend ?? 'gloo';
    const timeoutMs = opts.timeoutMs ?? 600_000;
    if (!(Number.isFinite(timeoutMs) && timeoutMs >= 1)) throw new RangeError(`distributed timeout must be a positive number of milliseconds, got ${timeoutMs}`);
    if (!availableBackends().includes(backend)) {
      throw new DistributedError(world.rank, 'init', `backend ${backend} is not in this build of the addon (it has: ${availableBackends().join(', ') || 'none'})`);
    }
    try {
      const h = await native.distInit({ backend, rank: world.rank, worldSize: world.worldSize, host: world.masterAddr, port: world.masterPort, timeoutMs: Math.round(timeoutMs) });
      return new ProcessGroup(world, backend, timeoutMs, h);
    } catch (e) {
      throw asDistributedError(e, world.rank, `init (rendezvous at ${world.masterAddr}:${world.masterPort}, world size ${world.worldSize})`);
    }
  }

  private live(op: string): unknown {
    if (this.handle === undefined) throw new DistributedError(this.rank, op, 'the process group is closed');
    return this.handle;
  }

  /** In place: every rank's `t` becomes the reduction over ranks. */
  async allReduce(t: Tensor, op: ReduceOpName = 'sum'): Promise<void> {
    const h = this.live('allReduce');
    try { await native.distAllReduce(h, t.handle, op); } catch (e) { throw asDistributedError(e, this.rank, 'allReduce'); }
  }

  /** The mean over ranks of a few numbers (one small all-reduce). */
  async meanOf(values: number[]): Promise<number[]> {
    const t = tensor(Float64Array.from(values));
    try {
      await this.allReduce(t, 'sum');
      return Array.from(t.data() as Float64Array, (v) => v / this.size);
    } finally { t.dispose(); }
  }

  /** The maximum over ranks of one number (for agreeing on a stop). */
  async maxOf(value: number): Promise<number> {
    const t = tensor(Float64Array.of(value));
    try { await this.allReduce(t, 'max'); return (t.data() as Float64Array)[0]; } finally { t.dispose(); }
  }

  /** In place: every rank's tensors take root's values (coalesced into large messages). */
  async broadcast(tensors: Tensor[], root = 0): Promise<void> {
    const h = this.live('broadcast');
    if (!tensors.length) return;
    try { await native.distBroadcast(h, tensors.map((t) => t.handle), root); } catch (e) { throw asDistributedError(e, this.rank, 'broadcast'); }
  }

  async barrier(): Promise<void> {
    const h = this.live('barrier');
    try { await native.distBarrier(h); } catch (e) { throw asDistributedError(e, this.rank, 'barrier'); }
  }

  /** True when every rank holds the same values (a checksum all-reduced with max and min). */
  async sameEverywhere(tensors: Tensor[]): Promise<boolean> {
    const sum = noGrad(() => tidy(() => cat(tensors.map((t) => t.detach().to('float64').flatten().sum().reshape([1])))));
    const mx = sum.clone(), mn = sum.clone();
    try {
      await this.allReduce(mx, 'max');
      await this.allReduce(mn, 'min');
      const a = mx.data() as Float64Array, b = mn.data() as Float64Array;
      return a.every((v, i) => v === b[i]);
    } finally { for (const t of [sum, mx, mn]) t.dispose(); }
  }

  /** Leaves the group; peers still waiting on this rank fail with a connection error. */
  close(): void {
    if (this.handle === undefined) return;
    native.distClose(this.handle);
    this.handle = undefined;
  }

  /** @internal */
  handleForNative(op: string): unknown { return this.live(op); }
}
