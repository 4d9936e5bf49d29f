// Analytic compute cost per sample: multiply-accumulates of every conv, linear and attention product
// (norms, activations, additions and the softmax are left out: they are a few % and memory-bound).
// FLOPs ≈ 2 × MACs. Checked against hook counts of the PyTorch re-implementation (tests/goldens/models_macs.json).
import { resolveUNetConfig, type EfficientUNetConfig } from './unet/config.js';
import { resolveVAEConfig, type AutoencoderKLConfig } from './vae/config.js';

const conv = (cin: number, cout: number, k: number, h: number, w: number) => cin * cout * k * k * h * w;

function attnMacs(c: number, heads: number, dimHead: number, L: number, linear: boolean): number {
  const inner = heads * dimHead;
  const proj = c * 3 * inner * L + inner * c * L;
  return proj + (linear ? 2 * heads * L * dimHead * dimHead : 2 * heads * L * L * dimHead);
}

/** MACs of one EfficientUNet forward for one sample of size height × width (input resolution). */
export function unetMacs(config: EfficientUNetConfig | Record<string, unknown>, height: number, width = height): number {
  const c = resolveUNetConfig(config);
  const mc = c.modelChannels, T = 4 * mc;
  const pool = c.poolFactor > 1 ? c.poolFactor : 1;
  let h = height / pool, w = width / pool;
  let macs = mc * T + T * T; // time embedding MLP
  const res = (cin: number, cout: number) =>
    conv(cin, cout, 3, h, w) + T * (c.useScaleShiftNorm ? 2 * cout : cout) + conv(cout, cout, 3, h, w) + (cin !== cout ? conv(cin, cout, 1, h, w) : 0);
  const attn = (ch: number, linear: boolean) => attnMacs(ch, c.numHeads, c.dimHead, h * w, linear);
  if (pool > 1) macs += conv(c.inChannels, mc, pool, h, w);
  macs += conv(pool > 1 ? mc : c.inChannels, mc, 3, h, w);
  const skips = [mc];
  let ch = mc, ds = 1;
  c.channelMult.forEach((mult, level) => {
    for (let i = 0; i < c.numResBlocks; i++) {
      macs += res(ch, mult * mc);
      ch = mult * mc;
      if (c.attentionResolutions.includes(ds)) macs += attn(ch, c.useLinearAttn);
      skips.push(ch);
    }
    if (level !== c.channelMult.length - 1) {
      h /= 2; w /= 2;
      if (c.convResample) macs += conv(ch, ch, 3, h, w);
      skips.push(ch);
      ds *= 2;
    }
  });
  macs += res(ch, ch) + attn(ch, false) + res(ch, ch);
  for (let level = c.channelMult.length - 1; level >= 0; level--) {
    for (let i = 0; i <= c.numResBlocks; i++) {
      const cout = mc * c.channelMult[level];
      macs += res(ch + skips.pop()!, cout);
      ch = cout;
      if (c.attentionResolutions.includes(ds)) macs += attn(ch, c.useLinearAttn);
      if (level && i === c.numResBlocks) {
        h *= 2; w *= 2;
        if (c.convResample) macs += conv(ch, ch, 3, h, w);
        ds /= 2;
      }
    }
  }
  macs += conv(mc, pool > 1 ? mc : c.outChannels, 3, h, w);
  if (pool > 1) macs += conv(mc, c.outChannels, pool, h, w);
  return macs;
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
