// Memory-lean VAE encode / decode that equals the untiled result up to float rounding.
//
// Why not independent tiles: a tile's GroupNorms would normalise with the tile's own statistics and its convs
// would zero-pad at tile edges, so tiles disagree with the whole image (and with each other: seams). Here the
// network runs layer by layer on whole feature maps, but every op that would allocate whole-map temporaries
// works in row bands (full width, bounded rows):
//   - GroupNorm statistics are accumulated over bands (per group sum, then centred sum of squares, in float64),
//     so every band is normalised with the statistics of the WHOLE map;
//   - norm → SiLU → 3×3 conv runs per band on the band plus a one-row halo (zero rows only at the image border),
//     written into a preallocated output map (in place over the block input when the residual allows it);
//   - attention runs over all positions with the queries in chunks (exact; bounded score matrix).
// Live memory is therefore about two whole feature maps of the widest level plus one band's temporaries, instead
// of the untiled forward's ~8 maps per ResnetBlock and its quadratic attention matrix. Inference only: dropout
// is skipped (eval mode).
import { Tensor, F, tidy, empty, zeros } from '../../tensor/index.js';
import { Conv2d, GroupNorm } from '../../nn/index.js';
import { ResnetBlock, AttnBlock, Downsample, Upsample } from './blocks.js';
import type { AutoencoderKL } from './autoencoder.js';
import { DiagonalGaussianDistribution } from './distribution.js';

export interface TiledVAEOptions {
  /** Max elements of one band's input (rows × width × channels × batch); default 2²² (16 MB of float32). */
  bandElements?: number;
  /** Max elements of one attention score chunk (query rows × all keys × batch); default 2²⁴. */
  attnElements?: number;
}

interface Ctx { band: number; attn: number }

const ctxOf = (o: TiledVAEOptions): Ctx => {
  const band = o.bandElements ?? 2 ** 22, attn = o.attnElements ?? 2 ** 24;
  if (!(band >= 1) || !(attn >= 1)) throw new RangeError(`tiled VAE: bandElements and attnElements must be ≥ 1, got ${band}, ${attn}`);
  return { band, attn };
};

/** Rows per band for a map [N, C, H, W]. */
const bandRows = (x: Tensor, c: Ctx): number => Math.max(1, Math.floor(c.band / (x.shape[0] * x.shape[1] * x.shape[3])));

/** Per-channel scale a and shift b [N, C, 1, 1] so that a·x + b = GroupNorm(x) with whole-map statistics. */
function groupAffine(x: Tensor, norm: GroupNorm, c: Ctx): [Tensor, Tensor] {
  const [N, C, H, W] = x.shape;
  const G = norm.config.numGroups, cpg = C / G, count = cpg * H * W;
  const rows = bandRows(x, c);
  return tidy(() => {
    const groups = (r0: number, n: number) => x.narrow(2, r0, n).transpose(1, 2).reshape(N, n, G, cpg * W);
    // Two passes (mean, then centred squares), accumulated in float64: as accurate as the one-shot GroupNorm.
    const s = zeros([N, G], { dtype: 'float64' });
    for (let r0 = 0; r0 < H; r0 += rows) tidy(() => { s.add_(groups(r0, Math.min(rows, H - r0)).sum([1, 3], false, 'float64')); });
    const mean = s.div(count);
    const q = zeros([N, G], { dtype: 'float64' });
    const m4 = mean.reshape(N, 1, G, 1).to(x.dtype);
    for (let r0 = 0; r0 < H; r0 += rows) {
      tidy(() => {
        const d = groups(r0, Math.min(rows, H - r0)).sub(m4);
        q.add_(d.mul(d).sum([1, 3], false, 'float64'));
      });
    }
    const inv = q.div(count).add(norm.config.eps ?? 1e-5).rsqrt();
    const perChannel = (t: Tensor) => t.unsqueeze(2).expand(N, G, cpg).reshape(N, C, 1, 1);
    let a = perChannel(inv), b = perChannel(mean.neg().mul(inv));
    if (norm.weight) {
      const w = norm.weight.to('float64').reshape(1, C, 1, 1);
      a = a.mul(w);
      b = b.mul(w);
    }
    if (norm.bias) b = b.add(norm.bias.to('float64').reshape(1, C, 1, 1));
    return [a.to(x.dtype), b.to(x.dtype)];
  });
}

const normSilu = (a: Tensor, b: Tensor) => (t: Tensor) => F.silu(t.mul(a).add(b));

/**
 * conv(pre(x)) for a k×k, stride-1, padding-(k−1)/2 conv, in row bands with a halo of (k−1)/2 rows; pre is
 * pointwise. add(r0, n) (optional) is added to each output band (the residual). Writes into `into` if given.
 */
function bandConv(x: Tensor, conv: Conv2d, c: Ctx, pre: ((t: Tensor) => Tensor) | null, add?: (r0: number, n: number) => Tensor, into?: Tensor): Tensor {
  const [N, , H, W] = x.shape;
  const k = conv.weight.shape[2], p = (k - 1) / 2;
  const cfg = conv.config;
  if (conv.weight.shape[3] !== k || k % 2 !== 1 || (cfg.stride ?? 1) !== 1 || (cfg.padding ?? 0) !== p || (cfg.groups ?? 1) !== 1 || (cfg.dilation ?? 1) !== 1) {
    throw new RangeError(`tiled VAE: bandConv needs an odd square stride-1 'same' conv, got kernel ${conv.weight.shape.slice(2).join('×')}, padding ${cfg.padding}`);
  }
  const out = into ?? empty([N, conv.weight.shape[0], H, W], { dtype: x.dtype, device: x.device });
  const rows = bandRows(x, c);
  for (let r0 = 0; r0 < H; r0 += rows) {
    const n = Math.min(rows, H - r0);
    tidy(() => {
      const lo = Math.max(0, r0 - p), hi = Math.min(H, r0 + n + p);
      let t = x.narrow(2, lo, hi - lo);
      if (pre) t = pre(t);
      if (p > 0) t = F.pad(t, [0, 0, p - (r0 - lo), p - (hi - r0 - n)]);
      let y = F.conv2d(t, conv.weight, conv.bias, { padding: [0, p] });
      if (add) y = y.add(add(r0, n));
      out.narrow(2, r0, n).copy_(y);
    });
  }
  return out;
}

/** ResnetBlock; may return x itself (overwritten in place) when the shortcut is the identity. */
function resnet(x: Tensor, blk: ResnetBlock, c: Ctx): Tensor {
  const [a1, b1] = groupAffine(x, blk.norm1, c);
  const h = bandConv(x, blk.conv1, c, normSilu(a1, b1));
  a1.dispose(); b1.dispose();
  const [a2, b2] = groupAffine(h, blk.norm2, c);
  try {
    // Band r0 of the output needs only band r0 of x (the shortcut is pointwise), so writing over x is safe.
    const sc = blk.ninShortcut;
    return bandConv(h, blk.conv2, c, normSilu(a2, b2), (r0, n) => (sc ? sc.forward(x.narrow(2, r0, n)) : x.narrow(2, r0, n)), sc ? undefined : x);
  } finally {
    h.dispose(); a2.dispose(); b2.dispose();
  }
}

/** Single-head attention over all positions with the queries in chunks (exact). */
function attention(x: Tensor, blk: AttnBlock, c: Ctx): Tensor {
  return tidy(() => {
    const [N, C, H, W] = x.shape, L = H * W;
    const [a, b] = groupAffine(x, blk.norm, c);
    const hn = x.mul(a).add(b);
    const seq = (t: Tensor) => t.reshape(N, C, L).transpose(1, 2).contiguous();
    const q = seq(blk.q.forward(hn)), k = seq(blk.k.forward(hn)), v = seq(blk.v.forward(hn));
    hn.dispose();
    const out = empty([N, L, C], { dtype: x.dtype, device: x.device });
    const chunk = Math.max(1, Math.floor(c.attn / (N * L)));
    for (let i = 0; i < L; i += chunk) {
      const n = Math.min(chunk, L - i);
      tidy(() => { out.narrow(1, i, n).copy_(F.scaledDotProductAttention(q.narrow(1, i, n), k, v)); });
    }
    return x.add(blk.projOut.forward(out.transpose(1, 2).reshape(N, C, H, W)));
  });
}

/** Nearest ×2 then the 3×3 conv, per output band (the upsampled band is never whole-map). */
function upsample(x: Tensor, up: Upsample, c: Ctx): Tensor {
  if (!up.conv) return F.interpolate(x, { scaleFactor: 2, mode: 'nearest' });
  const conv = up.conv;
  const [N, , H, W] = x.shape, H2 = 2 * H;
  const out = empty([N, conv.weight.shape[0], H2, 2 * W], { dtype: x.dtype, device: x.device });
  const rows = Math.max(2, bandRows(x, c) & ~1);
  for (let r0 = 0; r0 < H2; r0 += rows) {
    const n = Math.min(rows, H2 - r0);
    tidy(() => {
      const ulo = Math.max(0, r0 - 1), uhi = Math.min(H2, r0 + n + 1); // upsampled rows the conv reads
      const lo = ulo >> 1, hi = ((uhi - 1) >> 1) + 1; // their source rows
      let t = F.interpolate(x.narrow(2, lo, hi - lo), { scaleFactor: 2, mode: 'nearest' }).narrow(2, ulo - 2 * lo, uhi - ulo);
      t = F.pad(t, [0, 0, r0 === 0 ? 1 : 0, r0 + n === H2 ? 1 : 0]);
      out.narrow(2, r0, n).copy_(F.conv2d(t, conv.weight, conv.bias, { padding: [0, 1] }));
    });
  }
  return out;
}

/** LDM downsampling (pad right/bottom by one, 3×3 stride 2) per output band; or 2×2 average pooling. */
function downsample(x: Tensor, down: Downsample, c: Ctx): Tensor {
  if (!down.conv) return F.avgPool2d(x, 2);
  const conv = down.conv;
  const [N, , H, W] = x.shape;
  const Ho = Math.floor((H - 2) / 2) + 1, Wo = Math.floor((W - 2) / 2) + 1;
  const out = empty([N, conv.weight.shape[0], Ho, Wo], { dtype: x.dtype, device: x.device });
  const rows = Math.max(1, bandRows(x, c) >> 1);
  for (let o0 = 0; o0 < Ho; o0 += rows) {
    const n = Math.min(rows, Ho - o0);
    tidy(() => {
      const lo = 2 * o0, need = 2 * n + 1, have = Math.min(need, H - lo);
      const t = F.pad(x.narrow(2, lo, have), [0, 1, 0, need - have]);
      out.narrow(2, o0, n).copy_(F.conv2d(t, conv.weight, conv.bias, { stride: 2 }));
    });
  }
  return out;
}

/** Runs step on h and frees the old h unless the step returned it (in-place). */
function step(h: Tensor, fn: (h: Tensor) => Tensor): Tensor {
  const next = fn(h);
  if (next !== h) h.dispose();
  return next;
}

function blocksOf(h: Tensor, blocks: ResnetBlock[], attns: unknown[], c: Ctx): Tensor {
  for (let j = 0; j < blocks.length; j++) {
    h = step(h, (t) => resnet(t, blocks[j], c));
    const a = attns[j];
    if (a instanceof AttnBlock) h = step(h, (t) => attention(t, a, c));
  }
  return h;
}

function mid(h: Tensor, m: { block1: ResnetBlock; attn1: unknown; block2: ResnetBlock }, c: Ctx): Tensor {
  return blocksOf(blocksOf(h, [m.block1], [m.attn1], c), [m.block2], [null], c);
}

/** Same result as vae.decode(z, { denorm }) (up to float rounding) with bounded temporaries. */
export function tiledDecode(vae: AutoencoderKL, z: Tensor, opts: TiledVAEOptions & { denorm?: boolean } = {}): Tensor {
  const cfg = vae.config;
  if (z.ndim !== 4 || z.shape[1] !== cfg.embedDim) throw new RangeError(`tiledDecode: expected [N, ${cfg.embedDim}, h, w], got [${z.shape.join(', ')}]`);
  const c = ctxOf(opts);
  const d = vae.decoder;
  const zu = opts.denorm ? tidy(() => z.div(cfg.scaleFactor)) : z;
  let h = tidy(() => d.convIn.forward(vae.postQuantConv.forward(zu)));
  try {
    h = mid(h, d.mid, c);
    for (let i = d.up.length - 1; i >= 0; i--) {
      const level = d.up.at(i);
      h = blocksOf(h, [...level.block], [...level.attn], c);
      const up = level.upsample;
      if (up) h = step(h, (t) => upsample(t, up, c));
    }
    const [a, b] = groupAffine(h, d.normOut, c);
    let y = bandConv(h, d.convOut, c, normSilu(a, b));
    a.dispose(); b.dispose();
    if (cfg.tanhOut) y = step(y, (t) => t.tanh());
    // The linear shortcut is pointwise per latent pixel: whole-map, its temporaries are the output's size.
    return step(y, (t) => vae.addDecoderShortcut(t, zu));
  } finally {
    h.dispose();
    if (zu !== z) zu.dispose();
  }
}

/** Same posterior as vae.encode(x) (up to float rounding) with bounded temporaries. Dispose it after use. */
export function tiledEncode(vae: AutoencoderKL, x: Tensor, opts: TiledVAEOptions = {}): DiagonalGaussianDistribution {
  const cfg = vae.config, f = vae.downFactor;
  if (x.ndim !== 4 || x.shape[1] !== cfg.inChannels) throw new RangeError(`tiledEncode: expected [N, ${cfg.inChannels}, H, W], got [${x.shape.join(', ')}]`);
  if (x.shape[2] % f || x.shape[3] % f) throw new RangeError(`tiledEncode: H and W must be multiples of ${f}, got ${x.shape[2]}×${x.shape[3]}`);
  const c = ctxOf(opts);
  const e = vae.encoder;
  let h = bandConv(x, e.convIn, c, null);
  try {
    for (const level of e.down) {
      h = blocksOf(h, [...level.block], [...level.attn], c);
      const down = level.downsample;
      if (down) h = step(h, (t) => downsample(t, down, c));
    }
    h = mid(h, e.mid, c);
    const [a, b] = groupAffine(h, e.normOut, c);
    const moments = tidy(() => {
      const o = bandConv(h, e.convOut, c, normSilu(a, b));
      return vae.addEncoderShortcut(vae.quantConv.forward(o), x);
    });
    a.dispose(); b.dispose();
    try {
      return new DiagonalGaussianDistribution(moments);
    } finally {
      moments.dispose();
    }
  } finally {
    h.dispose();
  }
}
