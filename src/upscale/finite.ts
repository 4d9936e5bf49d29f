// NaN / Inf checks between stages: one reduction per stage, so a broken latent, weight or input is an error that
// names the stage instead of a silently black image.
import { tidy, type Tensor } from '../tensor/index.js';
import { NonFiniteError } from './errors.js';

/** Throws NonFiniteError naming `stage` when `t` holds a NaN or Inf. */
export function assertFinite(t: Tensor, stage: string): void {
  const bad = tidy(() => t.isfinite().logicalNot().sum().item());
  if (bad > 0) throw new NonFiniteError(stage, bad, t.numel);
}
