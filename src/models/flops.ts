// Analytic compute cost per sample: multiply-accumulates of every conv, linear and attention product
// (norms, activations, additions and the softmax are left out: they are a few % and memory-bound).
// FLOPs ≈ 2 × MACs. Checked against hook counts of the PyTorch re-implementation (tests/goldens/models_macs.json).
import { resolveUNetConfig, type EfficientUNetConfig } from './unet/config.js';
import { resolveVAEConfig, type AutoencoderKLConfig } from './vae/config.js';
import { headsFor, resolveSDUNetConfig, type SDUNetConfig } from './sd/config.js';
import type { AdmLayoutSpec } from './unet/adm.js';

const conv = (cin: number, cout: number, k: number, h: number, w: number) => cin * cout * k * k * h * w;

function attnMacs(c: number, heads: number, dimHead: number, L: number, linear: boolean): number {
  const inner = heads * dimHead;
  const proj = c * 3 * inner * L + inner * c * L;
  return proj + (linear ? 2 * heads * L * dimHead * dimHead : 2 * heads * L * L * dimHead);
}

type Where = 'input' | 'middle' | 'output';

/**
 * MACs of the ADM block layout (unet/adm.ts admBlocks) on an h × w map after the first conv: `res(cin, cout, h, w)`
 * and `attn(ch, where, h, w)` price the model's own ResBlock and attention; downsampling and upsampling convs are
 * counted here.
 */
function admMacs(
  c: AdmLayoutSpec, height: number, width: number,
  res: (cin: number, cout: number, h: number, w: number) => number, attn: (ch: number, where: Where, h: number, w: number) => number,
): number {
  const mc = c.modelChannels;
  let h = height, w = width, macs = 0;
  const skips = [mc];
  let ch = mc, ds = 1;
  c.channelMult.forEach((mult, level) => {
    for (let i = 0; i < c.numResBlocks; i++) {
      macs += res(ch, mult * mc, h, w);
      ch = mult * mc;
      if (c.attentionResolutions.includes(ds)) macs += attn(ch, 'input', h, w);
      skips.push(ch);
    }
    if (level !== c.channelMult.length - 1) {
      h /= 2; w /= 2;
      if (c.convResample) macs += conv(ch, ch, 3, h, w);
      skips.push(ch);
      ds *= 2;
    }
  });
  macs += res(ch, ch, h, w) + attn(ch, 'middle', h, w) + res(ch, ch, h, w);
  for (let level = c.channelMult.length - 1; level >= 0; level--) {
    for (let i = 0; i <= c.numResBlocks; i++) {
      const cout = mc * c.channelMult[level];
      macs += res(ch + skips.pop()!, cout, h, w);
      ch = cout;
      if (c.attentionResolutions.includes(ds)) macs += attn(ch, 'output', h, w);
      if (level && i === c.numResBlocks) {
        h *= 2; w *= 2;
        if (c.convResample) macs += conv(ch, ch, 3, h, w);
        ds /= 2;
      }
    }
  }
  return macs;
}

/** An ADM ResBlock: two 3×3 convs, the time-embedding projection (×2 with scale-shift norm), a 1×1 skip when needed. */
const resBlockMacs = (T: number, scaleShift: boolean) => (cin: number, cout: number, h: number, w: number) =>
  conv(cin, cout, 3, h, w) + T * (scaleShift ? 2 * cout : cout) + conv(cout, cout, 3, h, w) + (cin !== cout ? conv(cin, cout, 1, h, w) : 0);

/** MACs of one EfficientUNet forward for one sample of size height × width (input resolution). */
export function unetMacs(config: EfficientUNetConfig | Record<string, unknown>, height: number, width = height): number {
  const c = resolveUNetConfig(config);
  const mc = c.modelChannels, T = 4 * mc;
  const pool = c.poolFactor > 1 ? c.poolFactor : 1;
  const h = height / pool, w = width / pool;
  let macs = mc * T + T * T; // time embedding MLP
  if (pool > 1) macs += conv(c.inChannels, mc, pool, h, w);
  macs += conv(pool > 1 ? mc : c.inChannels, mc, 3, h, w);
  macs += admMacs(c, h, w, resBlockMacs(T, c.useScaleShiftNorm),
    (ch, where, hh, ww) => attnMacs(ch, c.numHeads, c.dimHead, hh * ww, where === 'middle' ? false : c.useLinearAttn));
  macs += conv(mc, pool > 1 ? mc : c.outChannels, 3, h, w);
  if (pool > 1) macs += conv(mc, c.outChannels, pool, h, w);
  return macs;
}

/**
 * MACs of one SDUNet forward for one sample of height × width latents and a context of ctxLen tokens (the
 * SpatialTransformers' self- and cross-attention and GEGLU feed-forward included). Checked against forward-hook
 * counts of scripts/goldens/sd_reference.py (tests/bench/sd_unet.test.ts).
 */
export function sdUnetMacs(config: SDUNetConfig | Record<string, unknown>, height: number, width = height, ctxLen = 77): number {
  const c = resolveSDUNetConfig(config);
  const mc = c.modelChannels, T = 4 * mc;
  const transformer = (ch: number, h: number, w: number) => {
    const { heads, dimHead } = headsFor(c, ch);
    const inner = heads * dimHead, L = h * w, M = ctxLen;
    const attn1 = 4 * inner * inner * L + 2 * heads * L * L * dimHead;
    const attn2 = 2 * inner * inner * L + 2 * c.contextDim * inner * M + 2 * heads * L * M * dimHead;
    const ff = inner * 8 * inner * L + 4 * inner * inner * L;
    return 2 * ch * inner * L + c.transformerDepth * (attn1 + attn2 + ff);
  };
  return mc * T + T * T + conv(c.inChannels, mc, 3, height, width)
    + admMacs(c, height, width, resBlockMacs(T, false), (ch, _where, h, w) => transformer(ch, h, w))
    + conv(mc, c.outChannels, 3, height, width);
}

/** MACs of one AutoencoderKL encode and decode for one image of height × width pixels. */
export function vaeMacs(config: AutoencoderKLConfig | Record<string, unknown>, height: number, width = height): { encode: number; decode: number } {
  const c = resolveVAEConfig(config);
  const n = c.chMult.length;
  const resnet = (cin: number, cout: number, h: number, w: number) => conv(cin, cout, 3, h, w) + conv(cout, cout, 3, h, w) + (cin !== cout ? conv(cin, cout, 1, h, w) : 0);
  const attn = (ch: number, h: number, w: number) => (c.attnType === 'none' ? 0 : 4 * ch * ch * h * w + 2 * (h * w) ** 2 * ch);
  // encoder
  let h = height, w = width, res = c.resolution, cin = c.ch;
  let enc = conv(c.inChannels, c.ch, 3, h, w);
  c.chMult.forEach((mult, i) => {
    for (let j = 0; j < c.numResBlocks; j++) {
      enc += resnet(cin, c.ch * mult, h, w);
      cin = c.ch * mult;
      if (c.attnResolutions.includes(res)) enc += attn(cin, h, w);
    }
    if (i !== n - 1) {
      h /= 2; w /= 2; res = Math.floor(res / 2);
      if (c.resampWithConv) enc += conv(cin, cin, 3, h, w);
    }
  });
  enc += 2 * resnet(cin, cin, h, w) + attn(cin, h, w) + conv(cin, 2 * c.zChannels, 3, h, w) + conv(2 * c.zChannels, 2 * c.embedDim, 1, h, w);
  // decoder (h, w are the latent size now)
  let dec = conv(c.embedDim, c.zChannels, 1, h, w);
  cin = c.ch * c.chMult[n - 1];
  res = Math.floor(c.resolution / 2 ** (n - 1));
  dec += conv(c.zChannels, cin, 3, h, w) + 2 * resnet(cin, cin, h, w) + attn(cin, h, w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = 0; j <= c.numResBlocks; j++) {
      dec += resnet(cin, c.ch * c.chMult[i], h, w);
      cin = c.ch * c.chMult[i];
      if (c.attnResolutions.includes(res)) dec += attn(cin, h, w);
    }
    if (i !== 0) {
      h *= 2; w *= 2; res *= 2;
      if (c.resampWithConv) dec += conv(cin, cin, 3, h, w);
    }
  }
  dec += conv(cin, c.outCh, 3, h, w);
  if (c.shortcut === 'linear') {
    const f2 = 2 ** (2 * (n - 1)), lh = height / 2 ** (n - 1), lw = width / 2 ** (n - 1);
    enc += conv(c.inChannels * f2, c.embedDim, 1, lh, lw);
    dec += conv(c.embedDim, c.outCh * f2, 1, lh, lw);
  }
  return { encode: enc, decode: dec };
}
