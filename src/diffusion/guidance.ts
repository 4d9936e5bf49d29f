// Classifier-free guidance: eps = eps_u + g·(eps_c − eps_u), with the unconditional and conditional
// passes batched into one model call as CompVis' p_sample_ddim does (rows [uncond; cond]).
import { Tensor, cat, tidy } from '../tensor/index.js';
import { DiffusionError } from './errors.js';
import type { EpsModel } from './types.js';

/** A text-conditioned eps network: context is the conditioning batch (e.g. CLIP states [N, 77, 768]). */
export type ConditionalEpsModel = (x: Tensor, t: Tensor, context: Tensor) => Tensor;

export interface GuidanceOptions {
  /** Conditioning of each batch row. */
  cond: Tensor;
  /** Unconditional conditioning (e.g. the empty prompt's states), shaped like cond. */
  uncond: Tensor;
  /** Guidance scale g (1: conditional only, one pass). */
  scale: number;
}

/** eps_u + g·(eps_c − eps_u). */
export function combineGuidance(epsUncond: Tensor, epsCond: Tensor, scale: number): Tensor {
  return tidy(() => epsUncond.add(epsCond.sub(epsUncond).mul(scale)));
}

/** An EpsModel that applies classifier-free guidance to a conditional model (one batched call per step). */
export function classifierFreeGuidance(model: ConditionalEpsModel, opts: GuidanceOptions): EpsModel {
  const fn = 'classifierFreeGuidance';
  if (typeof model !== 'function') throw new DiffusionError(fn, undefined, 'model must be a function (x, t, context) => eps');
  const { cond, uncond, scale } = opts ?? ({} as GuidanceOptions);
  if (!(cond instanceof Tensor)) throw new DiffusionError(fn, 'cond', 'must be a Tensor');
  if (!(uncond instanceof Tensor)) throw new DiffusionError(fn, 'uncond', 'must be a Tensor');
  if (cond.shape.length !== uncond.shape.length || cond.shape.some((v, i) => v !== uncond.shape[i])) {
    throw new DiffusionError(fn, 'uncond', `shape [${uncond.shape.join(', ')}] differs from cond's [${cond.shape.join(', ')}]`);
  }
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new DiffusionError(fn, 'scale', `must be a finite number, got ${String(scale)}`);
  return (x, t) => {
    if (x.shape[0] !== cond.shape[0]) throw new DiffusionError(fn, 'cond', `has ${cond.shape[0]} rows for a batch of ${x.shape[0]} latents`);
    if (scale === 1) return model(x, t, cond);
    return tidy(() => {
      const out = model(cat([x, x]), cat([t, t]), cat([uncond, cond]));
      const [u, c] = out.chunk(2);
      return u.add(c.sub(u).mul(scale));
    });
  };
}
