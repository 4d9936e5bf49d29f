// The flow matcher (torchcfm-style): a small class whose hooks define the path, its noise and the
// regression target; loss() is the reference's training loss, field() turns a network into an ODE field.
import { Tensor, cat, full, rand, randnLike, tidy, F, type Generator } from '../tensor/index.js';
import { FlowError } from './errors.js';
import { GVPPath, LinearPath, type PathName, type ProbabilityPath } from './path.js';
import type { VectorField } from './solvers/types.js';

/** Any velocity network: input cat([x_t, context], 1), time t of shape [B]; output shaped like x_t. */
export type VelocityNet = (x: Tensor, t: Tensor) => Tensor;

export interface FlowMatcherOptions {
  /** 'linear' (default, the paper's) or 'gvp', or a custom path. */
  path?: PathName | ProbabilityPath;
  /** Std of the Gaussian around the mean path (0 = deterministic path, the reference default). */
  sigmaMin?: number;
}

export interface LossOptions {
  /** Clean context concatenated to x_t on channels (the PSU latent); omit for unconditional models. */
  context?: Tensor | null;
  /** Seeded stream for x0 (when not given), t and the sigma_min noise, drawn in that order. */
  generator?: Generator;
  /** Fixed times of shape [B] instead of t ~ U[0, 1). */
  t?: Tensor;
}

/** Everything the loss was made of (for tests and logging). */
export interface LossTerms {
  loss: Tensor;
  t: Tensor;
  x0: Tensor;
  xt: Tensor;
  ut: Tensor;
  vt: Tensor;
}

/** Same dims as x except the channel dim (1). */
export function checkContext(fn: string, x: Tensor, context: Tensor | null | undefined): void {
  if (!context) return;
  const a = x.shape, b = context.shape;
  if (a.length !== b.length || a.some((v, i) => i !== 1 && v !== b[i])) {
    throw new FlowError(fn, `context shape [${b.join(', ')}] does not match latent shape [${a.join(', ')}] (all dims but channels must agree)`);
  }
}

export class FlowMatcher {
  readonly path: ProbabilityPath;
  readonly sigmaMin: number;

  constructor(opts: FlowMatcherOptions = {}) {
    const p = opts.path ?? 'linear';
    if (typeof p === 'string') {
      if (p === 'linear') this.path = new LinearPath();
      else if (p === 'gvp') this.path = new GVPPath();
      else throw new FlowError('FlowMatcher', `unknown path '${p as string}' (linear, gvp)`);
    } else {
      this.path = p;
    }
    this.sigmaMin = opts.sigmaMin ?? 0;
    if (!(this.sigmaMin >= 0)) throw new FlowError('FlowMatcher', `sigmaMin must be ≥ 0, got ${this.sigmaMin}`);
    // As the reference: the GVP path already carries its own noise.
    if (this.path.name === 'gvp' && this.sigmaMin > 0) throw new FlowError('FlowMatcher', 'the gvp path does not support sigmaMin > 0');
  }

  /** t of shape [B] → [B, 1, 1, …] to broadcast against x. */
  protected padT(t: Tensor, x: Tensor): Tensor {
    if (t.ndim !== 1 || t.shape[0] !== x.shape[0]) {
      throw new FlowError('FlowMatcher', `t must have shape [${x.shape[0]}] (one time per sample), got [${t.shape.join(', ')}]`);
    }
    return t.reshape([t.shape[0], ...Array(x.ndim - 1).fill(1)]);
  }

  /** Hook: the mean of p_t(x | x0, x1) = alpha(t)·x1 + sigma(t)·x0. */
  meanPath(x0: Tensor, x1: Tensor, t: Tensor): Tensor {
    return tidy(() => {
      const tt = this.padT(t, x0);
      return this.path.alpha(tt).mul(x1).add(this.path.sigma(tt).mul(x0));
    });
  }

  /** Hook: std of the Gaussian around the mean path (a constant sigma_min here). */
  sigma(_t: Tensor): number | Tensor {
    return this.sigmaMin;
  }

  /** Hook: the conditional vector field u_t = alpha'(t)·x1 + sigma'(t)·x0 (x1 − x0 on the linear path). */
  targetField(x0: Tensor, x1: Tensor, t: Tensor, _xt?: Tensor): Tensor {
    return tidy(() => {
      const tt = this.padT(t, x0);
      return this.path.dAlpha(tt).mul(x1).add(this.path.dSigma(tt).mul(x0));
    });
  }

  /** x_t ~ N(meanPath, sigma²): the mean plus sigma·ε when sigma is not 0. */
  sampleXt(x0: Tensor, x1: Tensor, t: Tensor, generator?: Generator): Tensor {
    return tidy(() => {
      const mu = this.meanPath(x0, x1, t);
      const s = this.sigma(t);
      if (typeof s === 'number' && s === 0) return mu;
      const eps = randnLike(mu, generator);
      return mu.add(typeof s === 'number' ? eps.mul(s) : eps.mul(this.padT(s, x0)));
    });
  }

  /** t ~ U[0, 1), one per sample. */
  sampleTime(batch: number, like: Tensor, generator?: Generator): Tensor {
    return rand([batch], { dtype: like.dtype, device: like.device, generator });
  }

  /** The network input: x_t with the clean context concatenated on channels. */
  modelInput(xt: Tensor, context?: Tensor | null): Tensor {
    checkContext('FlowMatcher.modelInput', xt, context);
    return context ? cat([xt, context], 1) : xt.alias();
  }

  /** v(x_t, t): runs the network on the concatenated input and checks its output shape. */
  predict(net: VelocityNet, xt: Tensor, t: Tensor, context?: Tensor | null): Tensor {
    return tidy(() => {
      const out = net(this.modelInput(xt, context), t);
      if (!(out instanceof Tensor)) throw new FlowError('FlowMatcher.predict', 'the network did not return a Tensor');
      const a = out.shape, b = xt.shape;
      if (a.length !== b.length || a.some((v, i) => v !== b[i])) {
        throw new FlowError('FlowMatcher.predict', `network output shape [${a.join(', ')}] differs from x_t shape [${b.join(', ')}]`);
      }
      return out;
    });
  }

  /**
   * The reference's training loss with its parts: x0 defaults to N(0, I) (start from noise),
   * t ~ U[0, 1) per sample, x_t on the path, target u_t, loss = mean((v − u)²).
   */
  lossTerms(net: VelocityNet, x1: Tensor, x0?: Tensor | null, opts: LossOptions = {}): LossTerms {
    if (x0) {
      const a = x0.shape, b = x1.shape;
      if (a.length !== b.length || a.some((v, i) => v !== b[i])) {
        throw new FlowError('FlowMatcher.loss', `x0 shape [${a.join(', ')}] differs from x1 shape [${b.join(', ')}]`);
      }
    }
    checkContext('FlowMatcher.loss', x1, opts.context);
    return tidy(() => {
      const src = x0 ? x0.alias() : randnLike(x1, opts.generator);
      const t = opts.t ? opts.t.alias() : this.sampleTime(x1.shape[0], x1, opts.generator);
      const xt = this.sampleXt(src, x1, t, opts.generator);
      const ut = this.targetField(src, x1, t, xt);
      const vt = this.predict(net, xt, t, opts.context);
      const loss = F.mseLoss(vt, ut);
      return { loss, t, x0: src, xt, ut, vt };
    });
  }

  /** The training loss as a scalar tensor (see lossTerms). */
  loss(net: VelocityNet, x1: Tensor, x0?: Tensor | null, opts: LossOptions = {}): Tensor {
    return tidy(() => this.lossTerms(net, x1, x0, opts).loss);
  }

  /**
   * The ODE field dx/dt = v(x, t) of a trained network for the solvers: t is broadcast to a [B]
   * tensor of x's dtype, the context is concatenated on every call.
   */
  field(net: VelocityNet, context?: Tensor | null): VectorField {
    return (t: number, x: Tensor) =>
      tidy(() => this.predict(net, x, full([x.shape[0]], t, { dtype: x.dtype, device: x.device }), context));
  }
}
