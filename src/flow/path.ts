// Probability paths x_t = alpha(t)·x1 + sigma(t)·x0 and their time derivatives (the reference's
// "schedules"). t is a tensor already shaped to broadcast against the samples.
import { fullLike, tidy, type Tensor } from '../tensor/index.js';

export interface ProbabilityPath {
  readonly name: string;
  /** Coefficient of the target x1. */
  alpha(t: Tensor): Tensor;
  /** Coefficient of the source x0. */
  sigma(t: Tensor): Tensor;
  dAlpha(t: Tensor): Tensor;
  dSigma(t: Tensor): Tensor;
}

/** Straight line from x0 (t = 0) to x1 (t = 1): target field x1 − x0. */
export class LinearPath implements ProbabilityPath {
  readonly name = 'linear';
  alpha(t: Tensor): Tensor { return t.clone(); }
  sigma(t: Tensor): Tensor { return t.rsub(1); }
  dAlpha(t: Tensor): Tensor { return fullLike(t, 1); }
  dSigma(t: Tensor): Tensor { return fullLike(t, -1); }
}

/** Generalised variance-preserving path (SiT): alpha = sin(πt/2), sigma = cos(πt/2). */
export class GVPPath implements ProbabilityPath {
  readonly name = 'gvp';
  alpha(t: Tensor): Tensor { return tidy(() => t.mul(Math.PI / 2).sin()); }
  sigma(t: Tensor): Tensor { return tidy(() => t.mul(Math.PI / 2).cos()); }
  dAlpha(t: Tensor): Tensor { return tidy(() => t.mul(Math.PI / 2).cos().mul(Math.PI / 2)); }
  dSigma(t: Tensor): Tensor { return tidy(() => t.mul(Math.PI / 2).sin().mul(-Math.PI / 2)); }
}

export type PathName = 'linear' | 'gvp';
