// Module: named parameters, buffers and submodules whose dotted paths are PyTorch's state_dict keys.
import { Tensor, keep, noGrad, type MemoryFormat } from '../tensor/index.js';

export type StateDict = Map<string, Tensor>;
export type StateDictLike = StateDict | Record<string, Tensor>;

export interface LoadReport {
  /** Keys the module has that the state dict lacks. */
  missing: string[];
  /** Keys in the state dict the module does not have. */
  unexpected: string[];
  /** Keys present in both with different shapes: "key: expected [..], got [..]". */
  mismatched: string[];
  /** Keys copied. */
  loaded: string[];
}

/** A state dict did not fit a module; the message names every offending key. */
export class StateDictError extends Error {
  override name = 'StateDictError';
  constructor(readonly module: string, readonly report: LoadReport) {
    const parts: string[] = [];
    const list = (xs: string[]) => xs.slice(0, 20).join(', ') + (xs.length > 20 ? `, … (${xs.length} in all)` : '');
    if (report.missing.length) parts.push(`missing keys: ${list(report.missing)}`);
    if (report.unexpected.length) parts.push(`unexpected keys: ${list(report.unexpected)}`);
    if (report.mismatched.length) parts.push(`shape mismatches: ${list(report.mismatched)}`);
    super(`loading a state dict into ${module} failed: ${parts.join('; ')}`);
  }
}

export class Module {
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _nonPersistent = new Set<string>();
  private readonly _modules = new Map<string, Module>();

  /** Registers a parameter (made a leaf that requires grad, and kept out of memory scopes). */
  protected registerParameter(name: string, t: Tensor | null): Tensor {
    if (t) {
      keep(t);
      if (!t.requiresGrad) t.requiresGrad_(true);
    }
    this._parameters.set(name, t);
    return t as Tensor;
  }
  protected registerBuffer(name: string, t: Tensor, persistent = true): Tensor {
    keep(t);
    this._buffers.set(name, t);
    if (!persistent) this._nonPersistent.add(name);
    return t;
  }
  protected registerModule<M extends Module>(name: string, m: M): M {
    this._modules.set(name, m);
    return m;
  }

  /** Direct submodules in registration order. */
  children(): [string, Module][] {
    return [...this._modules.entries()];
  }
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this._modules) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this._parameters) if (p) out.push([prefix ? `${prefix}.${n}` : n, p]);
    for (const [n, m] of this._modules) out.push(...m.namedParameters(prefix ? `${prefix}.${n}` : n));
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }
  namedBuffers(prefix = '', persistentOnly = false): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this._buffers) if (!persistentOnly || !this._nonPersistent.has(n)) out.push([prefix ? `${prefix}.${n}` : n, b]);
    for (const [n, m] of this._modules) out.push(...m.namedBuffers(prefix ? `${prefix}.${n}` : n, persistentOnly));
    return out;
  }
  numParameters(): number {
    return this.parameters().reduce((a, p) => a + p.numel, 0);
  }

  /**
   * Parameters and persistent buffers by PyTorch key. The tensors are the module's own (not copies):
   * do not dispose them.
   */
  stateDict(): StateDict {
    const sd: StateDict = new Map();
    const walk = (m: Module, prefix: string) => {
      for (const [n, p] of m._parameters) if (p) sd.set(prefix + n, p);
      for (const [n, b] of m._buffers) if (!m._nonPersistent.has(n)) sd.set(prefix + n, b);
      for (const [n, c] of m._modules) walk(c, `${prefix}${n}.`);
    };
    walk(this, '');
    return sd;
  }

  /**
   * Copies values in by key (casting dtype). strict: any missing, unexpected or mis-shaped key throws
   * a StateDictError naming them and nothing is copied. Not strict: fitting keys load, the rest are reported.
   */
  loadStateDict(sdIn: StateDictLike, opts: { strict?: boolean } = {}): LoadReport {
    const strict = opts.strict ?? true;
    const sd = sdIn instanceof Map ? sdIn : new Map(Object.entries(sdIn));
    const own = this.stateDict();
    const report: LoadReport = { missing: [], unexpected: [], mismatched: [], loaded: [] };
    for (const k of own.keys()) if (!sd.has(k)) report.missing.push(k);
    for (const [k, v] of sd) {
      const target = own.get(k);
      if (!target) report.unexpected.push(k);
      else if (target.shape.join(',') !== v.shape.join(',')) report.mismatched.push(`${k}: expected [${target.shape.join(', ')}], got [${v.shape.join(', ')}]`);
    }
    if (strict && (report.missing.length || report.unexpected.length || report.mismatched.length)) {
      throw new StateDictError(this.constructor.name, report);
    }
    noGrad(() => {
      for (const [k, v] of sd) {
        const target = own.get(k);
        if (!target || target.shape.join(',') !== v.shape.join(',')) continue;
        target.copy_(v);
        report.loaded.push(k);
      }
    });
    return report;
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  /** Drops every parameter's gradient (set to None, as torch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }

  /** Converts every parameter and buffer to a dtype or device, in place (the module keeps its tensors' names). */
  to(target: string): this {
    return this.replaceTensors((t) => t.to(target));
  }

  /**
   * Puts every 4-D parameter and buffer in a memory format, in place (torch's module.to(memory_format=…)):
   * with channels_last weights, libtorch's CPU convolutions run oneDNN's NHWC kernels and return channels_last
   * outputs, which the elementwise ops, GroupNorm and upsampling keep. Call before creating an optimizer.
   */
  toMemoryFormat(format: MemoryFormat): this {
    return this.replaceTensors((t) => (t.ndim !== 4 || t.isContiguous(format) ? null : t.contiguous(format)));
  }

  /**
   * Replaces each parameter and buffer by make(tensor) (null: keep it), under noGrad, so a new parameter is a leaf
   * that takes its old requires_grad flag; the old tensor is freed and the names stay.
   */
  private replaceTensors(make: (t: Tensor) => Tensor | null): this {
    noGrad(() => {
      for (const [, m] of this.namedModules()) {
        const fields = m as unknown as Record<string, unknown>;
        for (const [n, p] of m._parameters) {
          const made = p && make(p);
          if (!p || !made) continue;
          const q = keep(made);
          q.requiresGrad_(p.requiresGrad);
          p.dispose();
          m._parameters.set(n, q);
          fields[n] = q;
        }
        for (const [n, b] of m._buffers) {
          const made = make(b);
          if (!made) continue;
          const q = keep(made);
          b.dispose();
          m._buffers.set(n, q);
          fields[n] = q;
        }
      }
    });
    return this;
  }

  /** Frees every parameter and buffer now. */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      for (const p of m._parameters.values()) p?.dispose();
      for (const b of m._buffers.values()) b.dispose();
    }
  }
}
