// The VAE posterior: a diagonal Gaussian from the encoder's moments [N, 2z, h, w].
import { Tensor, randn, tidy, zerosLike, type Generator } from '../../tensor/index.js';

export class DiagonalGaussianDistribution {
  readonly mean: Tensor;
  /** Clamped to [−30, 20] as in LDM. */
  readonly logvar: Tensor;
  readonly std: Tensor;
  readonly var: Tensor;

  /** Takes ownership of nothing: `parameters` stays the caller's. deterministic: zero variance. */
  constructor(parameters: Tensor, readonly deterministic = false) {
    if (parameters.ndim < 2 || parameters.shape[1] % 2) throw new RangeError(`DiagonalGaussianDistribution: parameters need an even channel count, got [${parameters.shape.join(', ')}]`);
    const [mean, logvar] = parameters.chunk(2, 1);
    this.mean = mean;
    this.logvar = logvar.clamp(-30, 20);
    logvar.dispose();
    if (deterministic) {
      this.std = zerosLike(this.mean);
      this.var = zerosLike(this.mean);
    } else {
      this.std = tidy(() => this.logvar.mul(0.5).exp());
      this.var = this.logvar.exp();
    }
  }

  /** mean + std·ε, ε ~ N(0, I) from the generator if given (same stream as torch.randn(generator=g)). */
  sample(generator?: Generator): Tensor {
    return tidy(() => {
      const eps = randn(this.mean.shape, { generator, dtype: this.mean.dtype, device: this.mean.device });
      return this.mean.add(this.std.mul(eps));
    });
  }

  /** The mean (a new handle on it). */
  mode(): Tensor {
    return this.mean.alias();
  }

  /** KL(self ‖ other), or to N(0, I) without other, summed over C, H, W → [N]. */
  kl(other?: DiagonalGaussianDistribution): Tensor {
    return tidy(() => {
      if (this.deterministic) return zerosLike(this.mean).sum([1, 2, 3]);
      if (!other) return this.mean.pow(2).add(this.var).sub(1).sub(this.logvar).sum([1, 2, 3]).mul(0.5);
      return this.mean.sub(other.mean).pow(2).div(other.var).add(this.var.div(other.var)).sub(1).sub(this.logvar).add(other.logvar)
        .sum([1, 2, 3]).mul(0.5);
    });
  }

  /** Negative log-likelihood of a sample, summed over dims. */
  nll(sample: Tensor, dims: number[] = [1, 2, 3]): Tensor {
    return tidy(() => {
      if (this.deterministic) return zerosLike(this.mean).sum(dims);
      return this.logvar.add(Math.log(2 * Math.PI)).add(sample.sub(this.mean).pow(2).div(this.var)).sum(dims).mul(0.5);
    });
  }

  dispose(): void {
    for (const t of [this.mean, this.logvar, this.std, this.var]) t.dispose();
  }
  [Symbol.dispose](): void { this.dispose(); }
}
