// PCA initialisation of a VAE's linear shortcut (config.shortcut 'linear'): the best linear autoencoder of
// f×f×C pixel patches with embedDim latent channels, so a fresh VAE starts at PCA's round trip instead of noise.
// Measured on the test tiles (scripts/ablation/pca_bound.py): f8c4 28.6 dB, f8c16 32.9, f4c8 34.9, f4c16 41.5 —
// f8c4 PCA alone beats the 4,000-step vae_small (26.4). The conv coder's outputs are zeroed, so it starts as
// the residual of that linear map and training only has to improve on it.
import { Tensor, F, keep, noGrad, tensor, tidy, zeros } from '../../tensor/index.js';
import type { AutoencoderKL } from './autoencoder.js';

/** Accumulates patch moments in float64, batch by batch (images [N, C, H, W] in [−1, 1]). */
export class PatchMoments {
  private sum: Tensor | null = null;
  private outer: Tensor | null = null;
  count = 0;
  constructor(readonly factor: number) {}

  add(x: Tensor): void {
    tidy(() => {
      const p = F.pixelUnshuffle(x, this.factor).to('float64');
      const [N, D, h, w] = p.shape;
      const rows = p.permute([0, 2, 3, 1]).reshape(N * h * w, D);
      const s = rows.sum([0]), o = rows.transpose(0, 1).matmul(rows);
      if (!this.sum) { this.sum = keep(s); this.outer = keep(o); } else { this.sum.add_(s); this.outer!.add_(o); }
      this.count += N * h * w;
    });
  }

  /** Mean [D] and the top-k principal directions [k, D] (largest variance first), with the explained fraction. */
  principal(k: number): { mean: Tensor; basis: Tensor; explained: number } {
    if (!this.sum || !this.outer || this.count < 2) throw new RangeError('PatchMoments: no patches added');
    const D = this.sum.shape[0];
    if (k > D) throw new RangeError(`PCA init: ${k} latent channels exceed the ${D} values of a patch`);
    return tidy(() => {
      const mean = this.sum!.div(this.count);
      const cov = this.outer!.div(this.count).sub(mean.unsqueeze(1).matmul(mean.unsqueeze(0)));
      const [vals, vecs] = F.eigh(cov);
      const idx = tensor(Array.from({ length: k }, (_, i) => D - 1 - i), { dtype: 'int64' });
      const basis = vecs.transpose(0, 1).indexSelect(0, idx).contiguous();
      const total = vals.clamp(0).sum().item(), top = vals.narrow(0, D - k, k).clamp(0).sum().item();
      return { mean, basis, explained: total > 0 ? top / total : 1 };
    });
  }

  dispose(): void { this.sum?.dispose(); this.outer?.dispose(); }
}

export interface PcaInitResult { explained: number; patches: number }

/**
 * Sets the shortcut to PCA of the given moments and zeroes the conv coder's contribution (decoder conv_out, the
 * mean rows of quant_conv; the log-variance rows output `logvar`, default −12: posterior std 0.0025, ~0.3/255).
 */
export function pcaInitShortcut(vae: AutoencoderKL, moments: PatchMoments, opts: { logvar?: number } = {}): PcaInitResult {
  const enc = vae.encoderShortcut, dec = vae.decoderShortcut;
  if (!enc || !dec) throw new RangeError("pcaInitShortcut: the VAE has no linear shortcut (config.shortcut is 'none')");
  if (moments.factor !== vae.downFactor) throw new RangeError(`pcaInitShortcut: moments of f${moments.factor} patches for an f${vae.downFactor} VAE`);
  const E = vae.config.embedDim;
  const { mean, basis, explained } = moments.principal(E);
  try {
    noGrad(() => tidy(() => {
      const dt = enc.weight.dtype;
      const B = basis.to(dt), mu = mean.to(dt);
      enc.weight.copy_(B.reshape(enc.weight.shape));
      enc.bias!.copy_(B.matmul(mu).neg());
      dec.weight.copy_(B.transpose(0, 1).reshape(dec.weight.shape));
      dec.bias!.copy_(mu);
      const out = vae.decoder.convOut;
      out.weight.zero_();
      out.bias?.zero_();
      const q = vae.quantConv;
      q.weight.zero_();
      const bias = zeros([2 * E], { dtype: dt });
      bias.narrow(0, E, E).fill_(opts.logvar ?? -12);
      q.bias!.copy_(bias);
    }));
  } finally {
    mean.dispose();
    basis.dispose();
  }
  return { explained, patches: moments.count };
}
