// Averaging gradients across ranks with c10d's DDP Reducer (what torch's DistributedDataParallel
// runs): gradients are copied into size-capped buckets as autograd produces them, and each full
// bucket is all-reduced while backward goes on. Call prepare() before a backward that should
// synchronise; a backward without it accumulates locally (DDP's no_sync).
import type { Tensor } from '../tensor/index.js';
import { native } from '../tensor/native.js';
import { asDistributedError } from './errors.js';
import type { ProcessGroup } from './process_group.js';

export interface GradReducerOptions {
  /** Bucket size cap (torch's default 25 MiB). */
  bucketBytes?: number;
  /** The first bucket's cap (torch's default 1 MiB), so communication starts early in backward. */
  firstBucketBytes?: number;
}

export class GradReducer {
  private handle: unknown;
  readonly buckets: number;
  constructor(readonly group: ProcessGroup, params: Tensor[], opts: GradReducerOptions = {}) {
    try {
      const r = native.distReducerNew(group.handleForNative('reducer'), params.map((p) => p.handle), opts.bucketBytes ?? 25 << 20, opts.firstBucketBytes ?? 1 << 20);
      this.handle = r.handle;
      this.buckets = r.buckets;
    } catch (e) {
      throw asDistributedError(e, group.rank, 'reducer');
    }
  }

  /** Arms the reducer for the next backward: its gradients come out averaged over ranks. */
  prepare(): void {
    if (this.handle === undefined) throw asDistributedError(new Error('the reducer was disposed'), this.group.rank, 'reducer');
    try { native.distReducerPrepare(this.handle); } catch (e) { throw asDistributedError(e, this.group.rank, 'reducer'); }
  }

  dispose(): void {
    if (this.handle === undefined) return;
    native.distReducerDispose(this.handle);
    this.handle = undefined;
  }
}
