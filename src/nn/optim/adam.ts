// Adam and AdamW with torch.optim's single-tensor update rule (torch 1.13, foreach=False), so a
// trajectory equals PyTorch's step for step: same operation order, same float64 scalars.
import { Tensor, keep, zerosLike } from '../../tensor/index.js';
import { A } from '../../tensor/ops/aten.js';
import { Optimizer, type BaseHyper, type ParamGroup, type ParamsInput } from './optimizer.js';

export interface AdamConfig extends BaseHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  /** Adam: L2 penalty added to the gradient. AdamW: decoupled decay (param *= 1 − lr·weightDecay). */
  weightDecay: number;
  /** Normalise by the running maximum of the second moment (Reddi et al.). */
  amsgrad: boolean;
  /** Ascend the objective instead. */
  maximize: boolean;
}

export const ADAM_DEFAULTS: AdamConfig = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false };

/** torch.optim.Adam. */
export class Adam extends Optimizer<AdamConfig> {
  /** True for AdamW: weight decay shrinks the parameter directly instead of entering the gradient. */
  protected readonly decoupled: boolean = false;

  constructor(params: ParamsInput<AdamConfig>, config: Partial<AdamConfig> = {}) {
    super(params, { ...ADAM_DEFAULTS, ...config });
  }

  protected override validate(g: ParamGroup<AdamConfig>, i: number): void {
    super.validate(g, i);
    const bad = (what: string, v: unknown) => new RangeError(`${this.constructor.name}: invalid ${what} ${JSON.stringify(v)} in param group ${i}`);
    if (!Array.isArray(g.betas) || g.betas.length !== 2) throw bad('betas', g.betas);
    if (!(g.betas[0] >= 0 && g.betas[0] < 1)) throw bad('beta1 (betas[0])', g.betas[0]);
    if (!(g.betas[1] >= 0 && g.betas[1] < 1)) throw bad('beta2 (betas[1])', g.betas[1]);
    if (!(g.eps >= 0)) throw bad('eps', g.eps);
    if (!(g.weightDecay >= 0)) throw bad('weightDecay', g.weightDecay);
  }

  protected stateNames(g: ParamGroup<AdamConfig>): string[] {
    return g.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
  }

  protected update(param: Tensor, gradIn: Tensor, g: ParamGroup<AdamConfig>): void {
    const [beta1, beta2] = g.betas;
    const st = this.stateFor(param, () => new Map(this.stateNames(g).map((n) => [n, zerosLike(param)])));
    if (g.amsgrad && !st.tensors.has('max_exp_avg_sq')) {
      // amsgrad switched on after earlier steps: the running max starts from zero
      st.tensors.set('max_exp_avg_sq', keep(zerosLike(param)));
    }
    const expAvg = st.tensors.get('exp_avg')!;
    const expAvgSq = st.tensors.get('exp_avg_sq')!;
    let grad = g.maximize ? gradIn.neg() : gradIn;
    st.step += 1;
    if (this.decoupled) {
      if (g.weightDecay !== 0) param.mul_(1 - g.lr * g.weightDecay);
    } else if (g.weightDecay !== 0) {
      grad = grad.add(param, g.weightDecay);
    }
    expAvg.mul_(beta1).add_(grad, 1 - beta1);
    expAvgSq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    const biasCorrection1 = 1 - beta1 ** st.step;
    const biasCorrection2 = 1 - beta2 ** st.step;
    const stepSize = g.lr / biasCorrection1;
    const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
    let second = expAvgSq;
    if (g.amsgrad) {
      second = st.tensors.get('max_exp_avg_sq')!;
      A.maximum_out(second, expAvgSq, second); // returns a second handle on `second`, freed by the scope
    }
    // eps after the bias-corrected sqrt, exactly as torch
    const denom = second.sqrt().div(biasCorrection2Sqrt).add_(g.eps);
    param.addcdiv_(expAvg, denom, -stepSize);
  }
}

/** torch.optim.AdamW: decoupled weight decay (default 0.01) applied before the Adam update. */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;
  constructor(params: ParamsInput<AdamConfig>, config: Partial<AdamConfig> = {}) {
    super(params, { weightDecay: 1e-2, ...config });
  }
}
