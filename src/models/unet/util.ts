// Small shared pieces of the UNet.
import { noGrad } from '../../tensor/index.js';
import type { Module } from '../../nn/index.js';

/** Zeroes every parameter of a module (the reference's zero_module: output convs start at 0). */
export function zeroModule<M extends Module>(m: M): M {
  noGrad(() => { for (const p of m.parameters()) p.zero_(); });
  return m;
}
