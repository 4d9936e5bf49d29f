// Optimizer base: parameter groups with their hyper-parameters, per-parameter state tensors, and a
// checkpointable state dict (named tensors + a JSON object), laid out as torch.optim's state_dict.
import { Tensor, keep, noGrad, tidy } from '../../tensor/index.js';

/** JSON-able values (what a hyper-parameter may be, so a checkpoint can store it as text). */
export type Json = number | string | boolean | null | Json[] | { [k: string]: Json };

/** Hyper-parameters every optimizer has. */
export interface BaseHyper { lr: number }

/** A parameter group: its tensors plus its own hyper-parameters. */
export type ParamGroup<H extends BaseHyper> = H & { params: Tensor[] };

/** What constructors accept: a flat list of parameters, or groups overriding some hyper-parameters. */
export type ParamsInput<H extends BaseHyper> = Iterable<Tensor> | Array<Partial<H> & { params: Iterable<Tensor> }>;

/** Per-parameter state: the number of updates made, and named state tensors (exp_avg, …). */
export interface ParamState {
  step: number;
  tensors: Map<string, Tensor>;
}

/** The JSON half of an optimizer state dict. */
export interface OptimizerMeta {
  /** Optimizer class name, e.g. "Adam"; loading into another class is refused. */
  type: string;
  /** Per parameter index (counted across groups in order, as torch does): its step count. */
  state: Record<string, { step: number }>;
  /** Each group's hyper-parameters and the indices of its parameters. */
  param_groups: Array<{ [k: string]: Json } & { params: number[] }>;
}

/**
 * An optimizer's checkpoint: tensors named `state.<paramIndex>.<name>` (e.g. `state.0.exp_avg`) and
 * the JSON rest. stateDict() returns the optimizer's own tensors (do not dispose them).
 */
export interface OptimizerStateDict {
  tensors: Map<string, Tensor>;
  meta: OptimizerMeta;
}

/** A state dict that does not fit this optimizer; the message names the offending key or group. */
export class OptimizerStateError extends Error {
  override name = 'OptimizerStateError';
}

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export abstract class Optimizer<H extends BaseHyper> {
  readonly paramGroups: ParamGroup<H>[] = [];
  /** Keyed by parameter object: create the optimizer after moving the module (Module.to replaces tensors). */
  protected readonly state = new Map<Tensor, ParamState>();

  protected constructor(params: ParamsInput<H>, readonly defaults: H) {
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new RangeError(`${this.constructor.name}: got an empty parameter list`);
    const groups: Array<Partial<H> & { params: Iterable<Tensor> }> = list[0] instanceof Tensor
      ? [{ params: list as Tensor[] } as Partial<H> & { params: Tensor[] }]
      : (list as Array<Partial<H> & { params: Iterable<Tensor> }>);
    for (const g of groups) this.addParamGroup(g);
  }

  /** Adds a group (torch's add_param_group): unspecified hyper-parameters take the defaults. */
  addParamGroup(g: Partial<H> & { params: Iterable<Tensor> }): void {
    const gi = this.paramGroups.length;
    if (!g || typeof g !== 'object' || !('params' in g)) throw new TypeError(`${this.constructor.name}: param group ${gi} must be {params, ...}`);
    const ps = [...g.params];
    if (ps.length === 0) throw new RangeError(`${this.constructor.name}: param group ${gi} has no parameters`);
    const seen = new Set(this.paramGroups.flatMap((x) => x.params));
    for (const p of ps) {
      if (!(p instanceof Tensor)) throw new TypeError(`${this.constructor.name}: param group ${gi} holds a non-Tensor`);
      if (seen.has(p)) throw new RangeError(`${this.constructor.name}: a parameter appears more than once (param group ${gi})`);
      seen.add(p);
    }
    const group = { ...this.defaults, ...g, params: ps } as ParamGroup<H>;
    this.validate(group, gi);
    this.paramGroups.push(group);
  }

  /** Checks a group's hyper-parameters (throws a RangeError naming the bad one). */
  protected validate(group: ParamGroup<H>, index: number): void {
    if (!(group.lr >= 0)) throw new RangeError(`${this.constructor.name}: invalid lr ${group.lr} in param group ${index}`);
  }

  /** Names of the state tensors a parameter in this group must have once it has state. */
  protected abstract stateNames(group: ParamGroup<H>): string[];

  /** Updates one parameter that has a gradient (called under noGrad inside a memory scope). */
  protected abstract update(param: Tensor, grad: Tensor, group: ParamGroup<H>): void;

  /** One optimisation step over every parameter that has a gradient. In place, no autograd, no leaks. */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          tidy(() => {
            const g = p.grad;
            if (g) this.update(p, g, group);
          });
        }
      }
    });
  }

  /** The state of a parameter, created on first use with zero tensors like the parameter. */
  protected stateFor(p: Tensor, init: () => Map<string, Tensor>): ParamState {
    let s = this.state.get(p);
    if (!s) {
      const tensors = init();
      for (const t of tensors.values()) keep(t);
      s = { step: 0, tensors };
      this.state.set(p, s);
    }
    return s;
  }

  /** Drops gradients: set to None (default, frees memory) or zeroed in place. */
  zeroGrad(setToNone = true): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          if (setToNone) {
            p.grad = null;
          } else {
            const g = p.grad;
            if (g) {
              g.zero_();
              g.dispose();
            }
          }
        }
      }
    });
  }

  /** The first group's learning rate. */
  get lr(): number {
    return this.paramGroups[0].lr;
  }

  /** Sets the learning rate of every group (one number), or per group (an array, or a function of the group). */
  setLr(lr: number | number[] | ((group: ParamGroup<H>, index: number) => number)): void {
    this.paramGroups.forEach((g, i) => {
      const v = typeof lr === 'number' ? lr : Array.isArray(lr) ? lr[i] : lr(g, i);
      if (typeof v !== 'number' || !(v >= 0)) throw new RangeError(`${this.constructor.name}.setLr: invalid lr ${v} for param group ${i}`);
      g.lr = v;
    });
  }

  /** Number of updates made to the first parameter that has state (0 before any step). */
  get stepCount(): number {
    for (const s of this.state.values()) return s.step;
    return 0;
  }

  /** Named state tensors (the optimizer's own: do not dispose) and the JSON rest. */
  stateDict(): OptimizerStateDict {
    const tensors = new Map<string, Tensor>();
    const meta: OptimizerMeta = { type: this.constructor.name, state: {}, param_groups: [] };
    let index = 0;
    for (const group of this.paramGroups) {
      const { params, ...hyper } = group;
      const ids: number[] = [];
      for (const p of params) {
        const s = this.state.get(p);
        if (s) {
          meta.state[String(index)] = { step: s.step };
          for (const [name, t] of s.tensors) tensors.set(`state.${index}.${name}`, t);
        }
        ids.push(index++);
      }
      meta.param_groups.push({ ...(JSON.parse(JSON.stringify(hyper)) as { [k: string]: Json }), params: ids });
    }
    return { tensors, meta };
  }

  /**
   * Restores hyper-parameters and state from stateDict() output (tensors are copied, cast to each
   * parameter's dtype and device). Checks everything first and throws an OptimizerStateError naming the
   * first problem, leaving the optimizer unchanged.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const name = this.constructor.name;
    const { tensors, meta } = sd;
    if (!meta || typeof meta !== 'object' || !Array.isArray(meta.param_groups) || typeof meta.state !== 'object') {
      throw new OptimizerStateError(`${name}.loadStateDict: meta must have "state" and "param_groups"`);
    }
    if (meta.type !== name) throw new OptimizerStateError(`${name}.loadStateDict: state dict is for ${meta.type}, not ${name}`);
    if (meta.param_groups.length !== this.paramGroups.length) {
      throw new OptimizerStateError(`${name}.loadStateDict: state dict has ${meta.param_groups.length} param groups, optimizer has ${this.paramGroups.length}`);
    }
    // index → parameter and its (new) group, checked for matching sizes
    const byIndex = new Map<number, { p: Tensor; group: ParamGroup<H>; hyper: ParamGroup<H> }>();
    meta.param_groups.forEach((saved, gi) => {
      const group = this.paramGroups[gi];
      if (!Array.isArray(saved.params) || saved.params.length !== group.params.length) {
        throw new OptimizerStateError(`${name}.loadStateDict: param group ${gi} has ${saved.params?.length} params in the state dict, ${group.params.length} in the optimizer`);
      }
      const { params: _ids, ...hyper } = saved;
      const merged = { ...group, ...hyper, params: group.params } as ParamGroup<H>;
      try {
        this.validate(merged, gi);
      } catch (e) {
        throw new OptimizerStateError(`${name}.loadStateDict: ${(e as Error).message}`);
      }
      saved.params.forEach((id, k) => byIndex.set(id, { p: group.params[k], group, hyper: merged }));
    });
    const loaded = new Map<Tensor, { step: number; src: Map<string, Tensor> }>();
    for (const [key, st] of Object.entries(meta.state)) {
      const entry = byIndex.get(Number(key));
      if (!entry) throw new OptimizerStateError(`${name}.loadStateDict: state for parameter index ${key}, which no param group lists`);
      if (!(typeof st?.step === 'number' && st.step >= 0)) throw new OptimizerStateError(`${name}.loadStateDict: state.${key}.step must be a non-negative number`);
      loaded.set(entry.p, { step: st.step, src: new Map() });
    }
    for (const [key, t] of tensors) {
      const m = /^state\.(\d+)\.(\w+)$/.exec(key);
      const entry = m ? byIndex.get(Number(m[1])) : undefined;
      const slot = entry ? loaded.get(entry.p) : undefined;
      if (!m || !entry || !slot) throw new OptimizerStateError(`${name}.loadStateDict: unexpected tensor key ${key}`);
      if (!this.stateNames(entry.hyper).includes(m[2])) throw new OptimizerStateError(`${name}.loadStateDict: unexpected tensor key ${key}`);
      if (!sameShape(t.shape, entry.p.shape)) {
        throw new OptimizerStateError(`${name}.loadStateDict: ${key} has shape [${t.shape.join(', ')}], parameter has [${entry.p.shape.join(', ')}]`);
      }
      slot.src.set(m[2], t);
    }
    for (const [id, { p, hyper }] of byIndex) {
      const slot = loaded.get(p);
      if (!slot) continue;
      for (const n of this.stateNames(hyper)) if (!slot.src.has(n)) throw new OptimizerStateError(`${name}.loadStateDict: missing tensor state.${id}.${n}`);
    }
    // all checked: commit
    meta.param_groups.forEach((saved, gi) => {
      const { params: _ids, ...hyper } = saved;
      Object.assign(this.paramGroups[gi], JSON.parse(JSON.stringify(hyper)));
    });
    this.disposeState();
    noGrad(() => {
      for (const [p, { step, src }] of loaded) {
        const own = new Map<string, Tensor>();
        // a fresh copy: the caller may dispose its tensors after loading
        for (const [n, t] of src) own.set(n, keep(tidy(() => t.to(p.dtype).to(p.device).clone())));
        this.state.set(p, { step, tensors: own });
      }
    });
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const t of s.tensors.values()) t.dispose();
    this.state.clear();
  }

  /** Frees every state tensor (the parameters belong to their module and are left alone). */
  dispose(): void {
    this.disposeState();
  }
}
