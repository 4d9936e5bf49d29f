// The linear shortcut of a VAE (config.shortcut 'linear') and its PCA initialisation (models/vae/pca.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { F, liveTensors, manualSeed, noGrad, rand, randn, tidy, type Tensor } from '../../src/tensor_library.js';
import { writeSafetensors } from '../../src/io/index.js';
import { AutoencoderKL, PatchMoments, pcaInitShortcut, vaeMacs, type AutoencoderKLConfig } from '../../src/models/index.js';
import { loadVae } from '../../src/models/load.js';
import { maxAbsDiff } from '../helpers.js';

const CFG: AutoencoderKLConfig = { ch: 8, chMult: [1, 2], numResBlocks: 1, normGroups: 4, zChannels: 4, embedDim: 4, shortcut: 'linear' };

/** Smooth-ish random images: low-res noise upsampled, plus a little fine noise (so patches are correlated). */
function images(n: number, h: number, w: number): Tensor {
  return tidy(() => F.interpolate(rand([n, 3, h / 4, w / 4]).mul(2).sub(1), { size: [h, w], mode: 'bilinear', alignCorners: false }).add(randn([n, 3, h, w]).mul(0.05)));
}

test('shortcut VAE: state-dict names, parameter count and MACs include the two 1×1 convs', () => {
  const vae = new AutoencoderKL(CFG), plain = new AutoencoderKL({ ...CFG, shortcut: 'none' });
  const keys = [...vae.stateDict().keys()];
  assert.ok(keys.includes('encoder_shortcut.weight') && keys.includes('decoder_shortcut.bias'));
  assert.deepEqual(vae.encoderShortcut!.weight.shape, [4, 12, 1, 1]);
  assert.equal(vae.numParameters() - plain.numParameters(), (12 * 4 + 4) + (4 * 12 + 12));
  const m = vaeMacs(vae.config, 16), p = vaeMacs(plain.config, 16);
  assert.deepEqual([m.encode - p.encode, m.decode - p.decode], [12 * 4 * 64, 4 * 12 * 64]);
  vae.dispose();
  plain.dispose();
});

test('PCA init: full rank reconstructs exactly; rank k leaves exactly the discarded variance; colour kept', () => {
  const before = liveTensors();
  manualSeed(1);
  const x = images(4, 32, 32);
  for (const k of [12, 4]) {
    const vae = new AutoencoderKL({ ...CFG, zChannels: k, embedDim: k });
    vae.eval();
    const m = new PatchMoments(2);
    m.add(x);
    const r = pcaInitShortcut(vae, m);
    // The eigenvalues' sum: what PCA theory says the per-value MSE of the rank-k projection must be.
    const { explained } = r;
    m.dispose();
    noGrad(() => tidy(() => {
      const post = vae.encode(x);
      const y = vae.decode(post.mean);
      post.dispose();
      const err = y.sub(x).pow(2).mean().item();
      if (k === 12) {
        assert.ok(Math.abs(explained - 1) < 1e-9);
        assert.ok(maxAbsDiff(y, x) < 1e-4, 'full-rank PCA is the identity');
      } else {
        const p = F.pixelUnshuffle(x, 2).permute(0, 2, 3, 1).reshape(-1, 12).to('float64');
        const totalVar = p.sub(p.mean([0], true)).pow(2).mean([0]).sum().item(); // per patch, all 12 values
        const expected = (1 - explained) * totalVar / 12;
        assert.ok(explained > 0.3 && explained < 1, `explained ${explained}`);
        assert.ok(Math.abs(err - expected) / expected < 1e-3, `MSE ${err} vs discarded variance ${expected}`);
        const mean = y.mean([0, 2, 3]).sub(x.mean([0, 2, 3])).abs().max().item();
        assert.ok(mean < 1e-5, `per-channel mean kept (PCA keeps the patch mean): ${mean}`);
      }
    }));
    vae.dispose();
  }
  x.dispose();
  assert.equal(liveTensors(), before);
});

test('PCA init beats random shortcut weights, and the conv coder starts silent (posterior std ≈ 0.0025)', () => {
  manualSeed(2);
  const x = images(2, 32, 32);
  const vae = new AutoencoderKL(CFG);
  vae.eval();
  const err = () => noGrad(() => tidy(() => { const p = vae.encode(x); try { return vae.decode(p.mean).sub(x).pow(2).mean().item(); } finally { p.dispose(); } }));
  const random = err();
  const m = new PatchMoments(2);
  m.add(x);
  pcaInitShortcut(vae, m);
  m.dispose();
  const pca = err();
  assert.ok(pca < random / 5, `PCA ${pca} vs random ${random}`);
  noGrad(() => tidy(() => {
    const p = vae.encode(x);
    assert.ok(Math.abs(p.std.mean().item() - Math.exp(-6)) < 1e-6);
    p.dispose();
  }));
  assert.throws(() => pcaInitShortcut(new AutoencoderKL({ ...CFG, shortcut: 'none' }), new PatchMoments(2)), /no linear shortcut/);
  const m4 = new PatchMoments(4);
  m4.add(x);
  assert.throws(() => pcaInitShortcut(vae, m4), /moments of f4 patches for an f2 VAE/);
  m4.dispose();
  x.dispose();
  vae.dispose();
});

test('a saved shortcut VAE loads with its config inferred from the weights', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmb-pca-'));
  try {
    manualSeed(3);
    const vae = new AutoencoderKL(CFG);
    const path = join(dir, 'vae.safetensors');
    writeSafetensors(path, vae.stateDict());
    const back = loadVae(path, { config: { normGroups: 4 } }); // GroupNorm groups do not show in the shapes
    assert.equal(back.config.shortcut, 'linear');
    noGrad(() => tidy(() => {
      const z = randn([1, 4, 4, 4]);
      assert.equal(maxAbsDiff(back.decode(z), vae.decode(z)), 0);
    }));
    back.dispose();
    vae.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
