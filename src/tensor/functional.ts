// torch.nn.functional for fmboost: the layers' math as functions over Tensors.
import { A } from './ops/aten.js';
import { Tensor } from './tensor.js';
import { native } from './native.js';
import { hasOp, nativeCall } from './dispatch.js';
import { isGradEnabled } from './grad_mode.js';
import { bernoulli, fullLike } from './creation.js';
import type { Generator } from './generator.js';

type Pair = number | [number, number];

export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return A.linear(x, weight, bias ?? null);
}

export interface ConvOptions { stride?: Pair; padding?: Pair; dilation?: Pair; groups?: number }
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, o: { stride?: number; padding?: number; dilation?: number; groups?: number } = {}): Tensor {
  return A.conv1d(x, weight, bias ?? null, [o.stride ?? 1], [o.padding ?? 0], [o.dilation ?? 1], o.groups ?? 1);
}
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, o: ConvOptions = {}): Tensor {
  return A.conv2d(x, weight, bias ?? null, pair(o.stride ?? 1), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.groups ?? 1);
}
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor | null, o: ConvOptions & { outputPadding?: Pair } = {}): Tensor {
  return A.convTranspose2d(x, weight, bias ?? null, pair(o.stride ?? 1), pair(o.padding ?? 0), pair(o.outputPadding ?? 0), o.groups ?? 1, pair(o.dilation ?? 1));
}
export function avgPool2d(x: Tensor, kernel: Pair, o: { stride?: Pair; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean } = {}): Tensor {
  return A.avgPool2d(x, pair(kernel), pair(o.stride ?? kernel), pair(o.padding ?? 0), o.ceilMode ?? false, o.countIncludePad ?? true, null);
}
export function maxPool2d(x: Tensor, kernel: Pair, o: { stride?: Pair; padding?: Pair } = {}): Tensor {
  return A.maxPool2d(x, pair(kernel), pair(o.stride ?? kernel), pair(o.padding ?? 0), [1, 1], false);
}
export function adaptiveAvgPool2d(x: Tensor, size: Pair): Tensor { return A.adaptiveAvgPool2d(x, pair(size)); }

export function groupNorm(x: Tensor, groups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  // libtorch 1.13's CPU group_norm rejects a bf16/f16 input with f32 affine params, which is what CPU autocast
  // produces after a conv. Normalise in float32 then, as CUDA autocast does (group_norm is an fp32 op there).
  if (weight && x.dtype !== weight.dtype && (x.dtype === 'bfloat16' || x.dtype === 'float16') && weight.dtype === 'float32') {
    const xf = x.float();
    try {
      return A.groupNorm(xf, groups, weight, bias ?? null, eps, true);
    } finally {
      xf.dispose();
    }
  }
  return A.groupNorm(x, groups, weight ?? null, bias ?? null, eps, true);
}
/**
 * silu(groupNorm(x)·(1 + scale) + shift) — the GN → SiLU pair of every ResBlock, with the ADM FiLM when scale /
 * shift ([N, C]) are given. A bf16 input with no gradient to track (inference under bf16 autocast) runs the
 * addon's fused kernel: one pass for the statistics (fp32) and one for the output, in the input's layout, instead
 * of casting to fp32 and back around group_norm and silu. Everything else composes the ATen ops as before.
 */
export function groupNormSilu(x: Tensor, groups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5, o: { scale?: Tensor; shift?: Tensor } = {}): Tensor {
  const needsGrad = isGradEnabled() && (x.requiresGrad || Boolean(weight?.requiresGrad) || Boolean(bias?.requiresGrad) || Boolean(o.scale?.requiresGrad) || Boolean(o.shift?.requiresGrad));
  if (x.dtype === 'bfloat16' && !needsGrad && x.ndim >= 3 && x.device === 'cpu' && !fusedDisabled()) {
    return nativeCall('groupNormSilu', [x, groups], () => Tensor.fromHandle(native.groupNormSilu(x.handleForOp(), groups, weight?.handleForOp() ?? null, bias?.handleForOp() ?? null,
      o.scale ? o.scale.handleForOp() : null, o.shift ? o.shift.handleForOp() : null, eps)));
  }
  let h = groupNorm(x, groups, weight, bias, eps);
  if (o.scale || o.shift) {
    const pad = (t: Tensor) => t.reshape([t.shape[0], t.shape[1], ...Array(x.ndim - 2).fill(1)]).to(h.dtype);
    let g = h;
    if (o.scale) { const s = pad(o.scale); g = h.mul(s.add(1)); s.dispose(); h.dispose(); }
    if (o.shift) { const s = pad(o.shift); const y = g.add(s); s.dispose(); g.dispose(); g = y; }
    h = g;
  }
  const y = silu(h);
  h.dispose();
  return y;
}

let fusedOff: boolean | undefined;
/** FMBOOST_NO_FUSED=1 runs the unfused ATen ops everywhere (to measure what the fused kernels buy). */
function fusedDisabled(): boolean {
  return (fusedOff ??= process.env.FMBOOST_NO_FUSED === '1');
}

export function layerNorm(x: Tensor, normalizedShape: number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  // As groupNorm: libtorch 1.13's CPU layer_norm rejects a bf16/f16 input (a Linear's output under CPU autocast) with
  // f32 affine params; normalise in float32 then, as CUDA autocast does (layer_norm is an fp32 op there).
  if (weight && x.dtype !== weight.dtype && (x.dtype === 'bfloat16' || x.dtype === 'float16') && weight.dtype === 'float32') {
    const xf = x.float();
    try {
      return A.layerNorm(xf, normalizedShape, weight, bias ?? null, eps, true);
    } finally {
      xf.dispose();
    }
  }
  return A.layerNorm(x, normalizedShape, weight ?? null, bias ?? null, eps, true);
}

export function silu(x: Tensor): Tensor { return A.silu(x); }
export function relu(x: Tensor): Tensor { return A.relu(x); }
export function leakyRelu(x: Tensor, slope = 0.01): Tensor { return A.leakyRelu(x, slope); }
export function sigmoid(x: Tensor): Tensor { return A.sigmoid(x); }
/** GELU, exact (erf) by default or the tanh approximation. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor { return A.gelu(x, approximate); }
export function softmax(x: Tensor, dim: number): Tensor { return A.softmax(x, dim, null); }
export function logSoftmax(x: Tensor, dim: number): Tensor { return A.logSoftmax(x, dim, null); }

/**
 * Inverted dropout. With a Generator the mask is drawn from it (reproducible); without one it uses
 * libtorch's default generator exactly as torch.nn.functional.dropout does.
 */
export function dropout(x: Tensor, p: number, training: boolean, generator?: Generator): Tensor {
  if (p < 0 || p > 1) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x.alias();
  if (!generator) return A.dropout(x, p, true);
  if (p === 1) return x.mul(0); // the mask/(1 − p) form would give 0/0 = NaN
  const probs = fullLike(x, 1 - p);
  const mask = bernoulli(probs, generator);
  probs.dispose();
  const y = x.mul(mask).div(1 - p);
  mask.dispose();
  return y;
}

export function mseLoss(a: Tensor, b: Tensor, reduction: 'mean' | 'sum' | 'none' = 'mean'): Tensor {
  return A.mseLoss(a, b, reduction === 'none' ? 0 : reduction === 'mean' ? 1 : 2);
}
export function l1Loss(a: Tensor, b: Tensor, reduction: 'mean' | 'sum' | 'none' = 'mean'): Tensor {
  return A.l1Loss(a, b, reduction === 'none' ? 0 : reduction === 'mean' ? 1 : 2);
}

export type InterpMode = 'nearest' | 'nearest-exact' | 'bilinear' | 'bicubic' | 'linear';
export interface InterpolateOptions {
  size?: number | [number, number];
  scaleFactor?: number | [number, number];
  mode?: InterpMode;
  alignCorners?: boolean;
  antialias?: boolean;
}

/**
 * F.interpolate for 4-D (and 3-D nearest/linear) inputs. With scaleFactor the output size is
 * floor(in · s) and the kernel uses s itself, as PyTorch does with recompute_scale_factor unset.
 */
export function interpolate(x: Tensor, o: InterpolateOptions): Tensor {
  const mode = o.mode ?? 'nearest';
  const nd = x.ndim - 2;
  if (nd !== 1 && nd !== 2) throw new RangeError(`interpolate: expected a 3-D or 4-D input, got [${x.shape.join(',')}]`);
  if ((o.size === undefined) === (o.scaleFactor === undefined)) throw new TypeError('interpolate: give exactly one of size and scaleFactor');
  const rep = (v: number | [number, number]) => (Array.isArray(v) ? v : Array(nd).fill(v));
  const size = o.size === undefined ? null : rep(o.size).map((v) => Math.trunc(v));
  const scales = o.scaleFactor === undefined ? null : rep(o.scaleFactor);
  const linearish = mode === 'bilinear' || mode === 'bicubic' || mode === 'linear';
  if (o.alignCorners !== undefined && !linearish) throw new TypeError(`interpolate: alignCorners only applies to linear modes, not '${mode}'`);
  const ac = o.alignCorners ?? false;
  if (o.antialias && !(mode === 'bilinear' || mode === 'bicubic')) throw new TypeError(`interpolate: antialias needs bilinear or bicubic, not '${mode}'`);
  if (nd === 1) {
    if (mode === 'nearest') return A.upNearest1d(x, size, scales);
    if (mode === 'linear') return A.upLinear1d(x, size, ac, scales);
    throw new TypeError(`interpolate: mode '${mode}' needs a 4-D input`);
  }
  switch (mode) {
    case 'nearest': return A.upNearest(x, size, scales);
    case 'nearest-exact': return A.upNearestExact(x, size, scales);
    case 'bilinear': return o.antialias ? A.upBilinearAA(x, size, ac, scales) : A.upBilinear(x, size, ac, scales);
    case 'bicubic': return o.antialias ? A.upBicubicAA(x, size, ac, scales) : A.upBicubic(x, size, ac, scales);
    default: throw new TypeError(`interpolate: unknown mode '${mode}' (nearest, nearest-exact, bilinear, bicubic, linear)`);
  }
}

/** F.pad: pads given last-dim-first as in PyTorch; modes constant, reflect, replicate, circular. */
export function pad(x: Tensor, pads: number[], mode: 'constant' | 'reflect' | 'replicate' | 'circular' = 'constant', value = 0): Tensor {
  if (pads.length % 2 !== 0) throw new RangeError(`pad: pads must have an even length, got ${pads.length}`);
  if (mode === 'constant') return A.constantPad(x, pads, value);
  return A.pad(x, pads, mode, null);
}

export function pixelShuffle(x: Tensor, r: number): Tensor { return A.pixelShuffle(x, r); }
export function pixelUnshuffle(x: Tensor, r: number): Tensor { return A.pixelUnshuffle(x, r); }

let fusedAttention: boolean | undefined;
/** True when this libtorch has the fused scaled_dot_product_attention (2.0+). */
export function hasFusedAttention(): boolean {
  if (fusedAttention === undefined) fusedAttention = hasOp('aten::scaled_dot_product_attention');
  return fusedAttention;
}

export interface AttentionOptions { mask?: Tensor | null; scale?: number; isCausal?: boolean; fused?: boolean }

/**
 * softmax(q kᵀ · scale + mask) v over the last two dims (scale defaults to 1/√d). Uses the fused
 * op when libtorch has it (unless fused: false), else matmul + softmax.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions = {}): Tensor {
  const d = q.shape[q.ndim - 1];
  const scale = o.scale ?? 1 / Math.sqrt(d);
  if ((o.fused ?? true) && hasFusedAttention() && o.scale === undefined) {
    return A.sdpa(q, k, v, o.mask ?? null, 0, o.isCausal ?? false);
  }
  const kt = k.transpose(-2, -1);
  const logits = q.mul(scale).matmul(kt);
  kt.dispose();
  let masked = logits;
  if (o.isCausal) {
    const L = q.shape[q.ndim - 2], S = k.shape[k.ndim - 2];
    const ones = A.ones([L, S], 11, null, null) as Tensor;
    const upper = ones.triu(1); // strictly above the diagonal: future positions
    ones.dispose();
    masked = logits.maskedFill(upper, -Infinity);
    upper.dispose();
    logits.dispose();
  }
  if (o.mask) {
    const prev = masked;
    if (o.mask.dtype === 'bool') {
      const blocked = o.mask.logicalNot(); // bool masks say which positions may be attended
      masked = prev.maskedFill(blocked, -Infinity);
      blocked.dispose();
    } else {
      masked = prev.add(o.mask);
    }
    prev.dispose();
  }
  const attn = A.softmax(masked, -1, null);
  masked.dispose();
  const out = attn.matmul(v);
  attn.dispose();
  return out;
}

function pair(v: Pair): [number, number] {
  return Array.isArray(v) ? v : [v, v];
}

/** Eigen-decomposition of a symmetric matrix (or batch): [eigenvalues ascending, eigenvectors as columns]. */
export function eigh(x: Tensor): [Tensor, Tensor] {
  const [values, vectors] = A.eigh(x, 'L') as unknown as [Tensor, Tensor];
  return [values, vectors];
}
