// Exponential moving average of a module's weights, with the reference's warmup rule (fmboost/ema.py,
// after lucidrains' ema-pytorch, used with power 3/4, inv_gamma 1, min 0).
//
// Each update() reads the counter s and then increments it. Only every `updateEvery`-th call acts
// (s % updateEvery == 0). While s ≤ updateAfterStep the EMA copies the online weights. Past that it
// copies once more if it never lerped before (the reference's `initted` flag), then
// ema ← lerp(ema, online, 1 − d) with d = clamp(1 − (1 + e)^(−power), minDecay, maxDecay), where
// e = (s + 1) − updateAfterStep − 1 (the reference evaluates the decay after incrementing), and d = 0 when e ≤ 0.
// The reference evaluates d in float32 (its counter is a tensor), so we round the same way.
// Ordering note: the reference calls update() inside training_step, which Lightning runs before the
// optimizer's parameter update, so its EMA at step k averages the weights as they were *before* update k.
// Call update() after the forward pass and before optimizer.step() to reproduce that; after it, for
// the usual convention. Create the EMA after any Module.to(): that call replaces the parameter tensors.
import { Tensor, noGrad, keep, isFloating } from '../tensor/index.js';
import type { Module } from '../nn/index.js';

export interface EmaOptions {
  /** Upper clamp of the decay (the reference's `beta`, set from `ema_rate`: 0.999 in the paper config). */
  maxDecay?: number;
  minDecay?: number;
  /** Steps during which the EMA just copies the online weights (reference: 1000). */
  updateAfterStep?: number;
  /** Act on every n-th update() call (reference config: 1). */
  updateEvery?: number;
  /** Warmup exponent (reference: 3/4). */
  power?: number;
  invGamma?: number;
  /**
   * Floating-point buffers: 'lerp' averages them like parameters (what the reference does);
   * 'copy' copies them from the online model at every acting update.
   */
  buffers?: 'lerp' | 'copy';
  /**
   * Where the averaged weights live: a module of the same architecture (its weights are overwritten at
   * the first update); without one, the EMA keeps its own clones, keyed like the online state dict.
   */
  shadow?: Module;
}

export class EmaError extends Error {
  override name = 'EmaError';
}

const f32 = Math.fround;

/**
 * The decay the reference uses at counter value `step` (the value *after* the increment, as in ema.py's
 * get_current_decay), rounded to float32 like the reference's tensor arithmetic.
 */
export function emaDecay(step: number, o: { updateAfterStep: number; power: number; invGamma?: number; minDecay?: number; maxDecay: number }): number {
  const e = Math.max(0, step - o.updateAfterStep - 1);
  if (e <= 0) return 0;
  const value = f32(1 - f32(Math.pow(f32(1 + f32(e / (o.invGamma ?? 1))), -o.power)));
  return Math.min(Math.max(value, f32(o.minDecay ?? 0)), f32(o.maxDecay));
}

export interface EmaState {
  step: number;
  initted: boolean;
}

export class EMA {
  readonly maxDecay: number;
  readonly minDecay: number;
  readonly updateAfterStep: number;
  readonly updateEvery: number;
  readonly power: number;
  readonly invGamma: number;
  readonly bufferMode: 'lerp' | 'copy';
  /** Number of update() calls so far (the reference's `step` buffer). */
  step = 0;
  /** Whether the copy that precedes the first lerp happened (the reference's `initted` buffer). */
  initted = false;
  /** Decay used by the last acting update (0 for a copy); for logging. */
  lastDecay = 0;
  readonly shadowModule: Module | undefined;
  private readonly params: [string, Tensor, Tensor][] = []; // name, online, ema
  private readonly bufs: [string, Tensor, Tensor][] = [];
  private readonly owned: Tensor[] = [];

  constructor(readonly online: Module, opts: EmaOptions = {}) {
    this.maxDecay = opts.maxDecay ?? 0.9999;
    this.minDecay = opts.minDecay ?? 0;
    this.updateAfterStep = opts.updateAfterStep ?? 100;
    this.updateEvery = opts.updateEvery ?? 10;
    this.power = opts.power ?? 2 / 3;
    this.invGamma = opts.invGamma ?? 1;
    this.bufferMode = opts.buffers ?? 'lerp';
    if (!Number.isInteger(this.updateEvery) || this.updateEvery < 1) throw new EmaError(`EMA updateEvery must be an integer ≥ 1, got ${this.updateEvery}`);
    if (!Number.isInteger(this.updateAfterStep) || this.updateAfterStep < 0) throw new EmaError(`EMA updateAfterStep must be an integer ≥ 0, got ${this.updateAfterStep}`);
    if (!(this.maxDecay >= 0 && this.maxDecay <= 1)) throw new EmaError(`EMA maxDecay must be in [0, 1], got ${this.maxDecay}`);
    this.shadowModule = opts.shadow;
    const shadowParams = opts.shadow ? new Map(opts.shadow.namedParameters()) : undefined;
    const shadowBufs = opts.shadow ? new Map(opts.shadow.namedBuffers()) : undefined;
    noGrad(() => {
      for (const [name, p] of online.namedParameters()) {
        if (!isFloating(p.dtype)) continue;
        this.params.push([name, p, this.target(name, p, shadowParams, 'parameter')]);
      }
      for (const [name, b] of online.namedBuffers()) {
        if (!isFloating(b.dtype)) continue;
        this.bufs.push([name, b, this.target(name, b, shadowBufs, 'buffer')]);
      }
    });
  }

  private target(name: string, src: Tensor, shadow: Map<string, Tensor> | undefined, kind: string): Tensor {
    if (!shadow) {
      const d = src.detach();
      const t = keep(d.clone());
      d.dispose();
      this.owned.push(t);
      return t;
    }
    const t = shadow.get(name);
    if (!t) throw new EmaError(`EMA shadow module has no ${kind} "${name}"`);
    if (t.shape.join(',') !== src.shape.join(',')) {
      throw new EmaError(`EMA shadow ${kind} "${name}" has shape [${t.shape.join(', ')}], online has [${src.shape.join(', ')}]`);
    }
    return t;
  }

  /** One EMA step; call after every optimizer step. Returns what it did. */
  update(): 'skip' | 'copy' | 'lerp' {
    const s = this.step;
    this.step += 1;
    if (s % this.updateEvery !== 0) return 'skip';
    if (s <= this.updateAfterStep) {
      this.copyFromOnline();
      this.lastDecay = 0;
      return 'copy';
    }
    if (!this.initted) {
      this.copyFromOnline();
      this.initted = true;
    }
    const d = this.currentDecay();
    this.lastDecay = d;
    if (this.maxDecay === 1) return 'lerp'; // the reference's "frozen" EMA
    const w = 1 - d;
    noGrad(() => {
      for (const [, src, dst] of this.params) dst.lerp_(src, w);
      for (const [, src, dst] of this.bufs) {
        if (this.bufferMode === 'copy') dst.copy_(src);
        else dst.lerp_(src, w);
      }
    });
    return 'lerp';
  }

  /** The decay an acting update would use now (after the counter increment), as the reference's get_current_decay. */
  currentDecay(): number {
    return emaDecay(this.step, this);
  }

  copyFromOnline(): void {
    noGrad(() => {
      for (const [, src, dst] of this.params) dst.copy_(src);
      for (const [, src, dst] of this.bufs) dst.copy_(src);
    });
  }

  /** Copies the averaged weights into a module with the online model's keys (e.g. for sampling). */
  copyTo(module: Module): void {
    module.loadStateDict(this.averaged(), { strict: false });
  }

  /** The averaged tensors keyed like the online model (parameters and floating buffers). Not copies: do not dispose. */
  averaged(): Map<string, Tensor> {
    const m = new Map<string, Tensor>();
    for (const [n, , t] of this.params) m.set(n, t);
    for (const [n, , t] of this.bufs) m.set(n, t);
    return m;
  }

  state(): EmaState {
    return { step: this.step, initted: this.initted };
  }

  /** Restores the counter and (optionally) the averaged tensors; every averaged key must be present and fit. */
  loadState(state: EmaState, tensors?: Map<string, Tensor> | Record<string, Tensor>): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new EmaError(`EMA state: step must be an integer ≥ 0, got ${state.step}`);
    if (tensors) {
      const m = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
      const own = this.averaged();
      for (const [k, t] of own) {
        const v = m.get(k);
        if (!v) throw new EmaError(`EMA state: missing tensor "${k}"`);
        if (v.shape.join(',') !== t.shape.join(',')) throw new EmaError(`EMA state: "${k}" has shape [${v.shape.join(', ')}], expected [${t.shape.join(', ')}]`);
      }
      for (const k of m.keys()) if (!own.has(k)) throw new EmaError(`EMA state: unexpected tensor "${k}"`);
      noGrad(() => {
        for (const [k, t] of own) t.copy_(m.get(k)!);
      });
    }
    this.step = state.step;
    this.initted = state.initted;
  }

  /** Frees the clones the EMA owns (not the shadow module's weights). */
  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.owned.length = 0;
  }
}
