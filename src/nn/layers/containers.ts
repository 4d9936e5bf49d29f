// Containers whose children are named by index ("0", "1", …), as PyTorch's.
import { Tensor, tidy } from '../../tensor/index.js';
import { Module } from '../module.js';

/** Any module whose forward takes one tensor (what Sequential can chain). */
export interface Forward1 extends Module { forward(x: Tensor): Tensor }

export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];
  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.append(m);
  }
  append(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }
  get length(): number { return this.items.length; }
  at(i: number): M {
    const m = this.items[i < 0 ? i + this.items.length : i];
    if (!m) throw new RangeError(`ModuleList index ${i} out of range (length ${this.items.length})`);
    return m;
  }
  [Symbol.iterator](): Iterator<M> { return this.items[Symbol.iterator](); }
}

export class Sequential extends ModuleList<Forward1> {
  constructor(...modules: Forward1[]) {
    super(modules);
  }
  /** Runs each child in order; intermediates are freed as soon as the next is computed. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = x;
      for (const m of this) h = m.forward(h);
      return h === x ? x.alias() : h;
    });
  }
}
