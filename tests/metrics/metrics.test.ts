// MSE / PSNR / SSIM vs a direct float64 numpy implementation (scripts/goldens/eval_metrics.py),
// plus closed forms: identical images, constant offsets.
import test from 'node:test';
import assert from 'node:assert/strict';
import { golden, fromGolden } from '../helpers.js';
import { F, tidy, full, liveTensors, manualSeed, rand, tensor } from '../../src/tensor_library.js';
import { colourShift, mse, psnr, ssim, gaussianWindow } from '../../src/eval/index.js';

const G = golden('eval_metrics.json');

test('MSE, PSNR, SSIM match the float64 numpy goldens (float64 filter within 1e-8, default float32 filter within 1e-5; the spec asks 1e-4)', () => {
  const before = liveTensors();
  for (const c of G.cases) {
    tidy(() => {
      const a = fromGolden(c.a), b = fromGolden(c.b);
      const o = { dataRange: c.data_range };
      const m = mse(a, b, { reduction: 'none' });
      const p = psnr(a, b, { ...o, reduction: 'none' });
      const s = ssim(a, b, { ...o, reduction: 'none', filterDtype: 'float64' });
      const s32 = ssim(a, b, { ...o, reduction: 'none' }); // default: float32 filtering
      assert.equal(s.length, c.ssim.length);
      for (let i = 0; i < c.ssim.length; i++) {
        assert.ok(Math.abs(m[i] - c.mse[i]) < 1e-6, `${c.name} mse[${i}] ${m[i]} vs ${c.mse[i]}`);
        assert.ok(Math.abs(p[i] - c.psnr[i]) < 1e-8, `${c.name} psnr[${i}] ${p[i]} vs ${c.psnr[i]}`);
        assert.ok(Math.abs(s[i] - c.ssim[i]) < 1e-8, `${c.name} ssim[${i}] ${s[i]} vs ${c.ssim[i]}`);
        assert.ok(Math.abs(s32[i] - c.ssim[i]) < 1e-5, `${c.name} float32 ssim[${i}] ${s32[i]} vs ${c.ssim[i]}`);
      }
      const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
      assert.ok(Math.abs(ssim(a, b, o) - mean(c.ssim)) < 1e-4);
      assert.ok(Math.abs(psnr(a, b, o) - mean(c.psnr)) < 1e-4);
      // a single [C, H, W] image works the same
      assert.ok(Math.abs(ssim(a.select(0, 0), b.select(0, 0), o) - c.ssim[0]) < 1e-4);
    });
  }
  assert.equal(liveTensors(), before, 'metrics leaked tensors');
});

test('closed forms: identical images, constant offset', () => {
  tidy(() => {
    const a = fromGolden(G.cases[0].a);
    assert.equal(mse(a, a), 0);
    assert.equal(psnr(a, a), Infinity);
    assert.ok(Math.abs(ssim(a, a) - 1) < 1e-12);
    // offset by d: MSE = d², PSNR = 10 log10(R² / d²); SSIM of constants = (2μxμy + C1)/(μx² + μy² + C1)
    const x = full([1, 3, 16, 16], 0.2), y = full([1, 3, 16, 16], -0.1);
    assert.ok(Math.abs(mse(x, y) - 0.09) < 1e-7);
    assert.ok(Math.abs(psnr(x, y, { dataRange: 2 }) - 10 * Math.log10(4 / 0.09)) < 1e-5);
    const C1 = (0.01 * 2) ** 2;
    const mx = Math.fround(0.2), my = Math.fround(-0.1);
    assert.ok(Math.abs(ssim(x, y) - (2 * mx * my + C1) / (mx * mx + my * my + C1)) < 1e-9);
  });
});

test('gaussian window: 11 taps, sigma 1.5, sums to 1, symmetric', () => {
  const g = gaussianWindow(11, 1.5);
  assert.equal(g.length, 11);
  assert.ok(Math.abs(g.reduce((s, v) => s + v, 0) - 1) < 1e-15);
  assert.ok(Math.abs(g[5] / g[4] - Math.exp(1 / (2 * 2.25))) < 1e-12);
  assert.equal(g[0], g[10]);
});

test('bad inputs give clear errors', () => {
  tidy(() => {
    const a = full([1, 3, 16, 16], 0), b = full([1, 3, 16, 15], 0);
    assert.throws(() => psnr(a, b), /shapes differ/);
    assert.throws(() => ssim(full([1, 1, 8, 8], 0), full([1, 1, 8, 8], 0)), /smaller than the 11x11 window/);
    assert.throws(() => psnr(a, a, { dataRange: 0 }), /dataRange/);
    assert.throws(() => mse(tensor([1, 2]), tensor([1, 2])), /expected \[C, H, W\]/);
  });
});

test('colourShift: the largest per-channel mean difference in 8-bit levels; blur and zero-mean noise do not move it', () => {
  manualSeed(4);
  tidy(() => {
    const x = rand([2, 3, 16, 16]).mul(2).sub(1);
    assert.deepEqual(colourShift(x, x, { reduction: 'none' }), [0, 0]);
    // +10/255 on green only (range 2 = 255 levels): shift 10 on both images
    const g = x.add(tensor([0, 20 / 255, 0]).reshape(1, 3, 1, 1));
    for (const v of colourShift(g, x, { reduction: 'none' })) assert.ok(Math.abs(v - 10) < 1e-4, String(v));
    const blur = F.avgPool2d(F.pad(x, [1, 1, 1, 1], 'circular'), 3, { stride: 1 });
    assert.ok(colourShift(blur, x) < 1e-4, 'a circular blur keeps every channel mean');
  });
});
