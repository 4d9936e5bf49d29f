// Parameter-free layers.
import { Tensor, F, type Generator } from '../../tensor/index.js';
import { Module } from '../module.js';

export class SiLU extends Module {
  forward(x: Tensor): Tensor { return F.silu(x); }
}

export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') { super(); }
  forward(x: Tensor): Tensor { return F.gelu(x, this.approximate); }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return F.relu(x); }
}

/** Returns a new handle on its input (so callers may dispose input and output independently). */
export class Identity extends Module {
  forward(x: Tensor): Tensor { return x.alias(); }
}

/** Inverted dropout in training mode, identity in eval mode; seeded when given a Generator. */
export class Dropout extends Module {
  constructor(readonly p = 0.5, readonly generator?: Generator) {
    super();
    if (p < 0 || p > 1) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor { return F.dropout(x, this.p, this.training, this.generator); }
}
