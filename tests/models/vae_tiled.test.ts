// Band-wise ("tiled") VAE encode/decode with whole-map GroupNorm statistics equals the untiled forward.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { liveTensors, manualSeed, noGrad, randn, tidy, type Tensor } from '../../src/tensor_library.js';
import { readSafetensors } from '../../src/io/index.js';
import { AutoencoderKL, type AutoencoderKLConfig } from '../../src/models/index.js';
import { tiledDecode, tiledEncode, type TiledVAEOptions } from '../../src/models/vae/index.js';
import { maxAbsDiff, PARITY_DIR } from '../helpers.js';

const TINY: AutoencoderKLConfig = { ch: 8, chMult: [1, 2, 2], numResBlocks: 1, zChannels: 4, embedDim: 4, normGroups: 4, scaleFactor: 0.5 };
// Attention at two levels (resolution 16 → the 2nd level for a 32 px config), avg-pool / plain nearest resampling.
const ATTN: AutoencoderKLConfig = { ...TINY, resolution: 32, attnResolutions: [16, 8] };
const NOCONV: AutoencoderKLConfig = { ...TINY, resampWithConv: false, embedDim: 3 };

// Band sizes: one row per band, a size that divides nothing, and one band covering everything.
const BANDS: TiledVAEOptions[] = [{ bandElements: 1, attnElements: 1 }, { bandElements: 8 * 8 * 7, attnElements: 37 * 20 }, { bandElements: 1e9 }];

const worst = { encode: 0, decode: 0 };

function check(config: AutoencoderKLConfig, h: number, w: number, n = 1, bands = BANDS) {
  const before = liveTensors();
  manualSeed(3);
  const vae = new AutoencoderKL(config);
  vae.eval();
  noGrad(() => tidy(() => {
    const x = randn([n, 3, h, w]);
    const z = randn([n, vae.config.embedDim, h / vae.downFactor, w / vae.downFactor]);
    const post = vae.encode(x), dec = vae.decode(z, { denorm: true });
    // The untiled output must vary across the image, or a constant error could go unnoticed.
    assert.ok(dec.std().item() > 0.01);
    for (const o of bands) {
      const p = tiledEncode(vae, x, o);
      const dm = maxAbsDiff(p.mean, post.mean), dl = maxAbsDiff(p.logvar, post.logvar);
      const dd = maxAbsDiff(tiledDecode(vae, z, { ...o, denorm: true }), dec);
      assert.ok(dm <= 1e-4 && dl <= 1e-4, `encode ${JSON.stringify(o)}: mean ${dm}, logvar ${dl}`);
      assert.ok(dd <= 1e-4, `decode ${JSON.stringify(o)}: ${dd}`);
      worst.encode = Math.max(worst.encode, dm, dl);
      worst.decode = Math.max(worst.decode, dd);
      p.dispose();
    }
    post.dispose();
  }));
  vae.dispose();
  assert.equal(liveTensors(), before);
}

test('tiled = untiled: tiny VAE, non-square image, bands from 1 row to whole map', () => check(TINY, 24, 20));
// 2 × 192 tokens at the 16 px level: chunks of 13 queries (the last one shorter).
test('tiled = untiled: attention levels (queries in chunks), batch of 2', () => check(ATTN, 32, 24, 2, [{ bandElements: 8 * 8 * 7, attnElements: 2 * 192 * 13 }, { bandElements: 1e9 }]));
test('tiled = untiled: avg-pool / nearest resampling, odd latent size', () => check(NOCONV, 36, 20, 1, BANDS.slice(1)));

// The linear shortcut (pixel_unshuffle → 1×1 conv, and back) is added whole-map, after the bands.
test('tiled = untiled: linear shortcut VAE', () => check({ ...TINY, shortcut: 'linear', embedDim: 6 }, 24, 20));

test('largest difference seen (reported)', (t) => { t.diagnostic(`max |tiled − untiled|: encode ${worst.encode}, decode ${worst.decode}`); });

test('tiled differs when a weight differs (the comparison can fail)', () => {
  manualSeed(3);
  const vae = new AutoencoderKL(TINY);
  vae.eval();
  noGrad(() => tidy(() => {
    const z = randn([1, 4, 6, 5]);
    const dec = vae.decode(z);
    vae.decoder.up.at(0).block.at(0).norm2.weight!.mul_(1.01);
    assert.ok(maxAbsDiff(tiledDecode(vae, z, { bandElements: 50 }), dec) > 1e-4);
  }));
  vae.dispose();
});

test('tiledDecode / tiledEncode reject wrong shapes with a RangeError', () => {
  manualSeed(0);
  const vae = new AutoencoderKL(TINY);
  tidy(() => {
    assert.throws(() => tiledDecode(vae, randn([1, 3, 4, 4])), /tiledDecode: expected \[N, 4, h, w\]/);
    assert.throws(() => tiledEncode(vae, randn([1, 3, 10, 8])), /multiples of 4/);
    assert.throws(() => tiledDecode(vae, randn([1, 4, 4, 4]), { bandElements: 0 }), /bandElements/);
  });
  vae.dispose();
});

test('vae_tiny reference fixture (PyTorch outputs): tiled encode / decode with 4-row bands ≤ 1e-4', (t) => {
  const before = liveTensors();
  const { tensors } = readSafetensors(join(PARITY_DIR, 'vae_tiny.safetensors'));
  const vae = new AutoencoderKL({ ch: 32, chMult: [1, 2], numResBlocks: 1, zChannels: 4, embedDim: 4, resolution: 32, attnResolutions: [], dropout: 0 });
  const sd = new Map<string, Tensor>();
  for (const [k, t] of tensors) if (k.startsWith('param.')) sd.set(k.slice(6), t);
  vae.loadStateDict(sd, { strict: true });
  vae.eval();
  const o = { bandElements: 4 * 32 * 32 }; // 4 rows of the 32-px, 32-channel top level
  noGrad(() => tidy(() => {
    const post = tiledEncode(vae, tensors.get('input.image')!, o);
    const dm = maxAbsDiff(post.mean, tensors.get('output.mean')!), dl = maxAbsDiff(post.logvar, tensors.get('output.logvar')!);
    const dd = maxAbsDiff(tiledDecode(vae, tensors.get('output.mean')!, o), tensors.get('output.decoded')!);
    assert.ok(dm <= 1e-4 && dl <= 1e-4 && dd <= 1e-4, `mean ${dm}, logvar ${dl}, decoded ${dd}`);
    t.diagnostic(`vs PyTorch: mean ${dm}, logvar ${dl}, decoded ${dd}`);
    post.dispose();
  }));
  vae.dispose();
  for (const t of tensors.values()) t.dispose();
  assert.equal(liveTensors(), before);
});
