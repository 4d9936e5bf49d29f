// Classifier-free guidance (eps_u + g·(eps_c − eps_u), one batched call with rows [uncond; cond]) and the
// LCM guidance-scale embedding against diffusers' get_guidance_scale_embedding (fixture schedule.safetensors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, randn, full, Generator, liveTensors, tidy, dispose } from '../../src/tensor_library.js';
import { classifierFreeGuidance, combineGuidance, guidanceScaleEmbedding, lcmGuidanceEmbedding, DiffusionError } from '../../src/diffusion/index.js';
import { errors, fixture, toyEps, values } from './toy.js';

const g = new Generator(3);
const x = randn([2, 4, 8, 8], { generator: g });
const t = full([2], 437, { dtype: 'float32' });
const cond = randn([2, 4], { generator: g }), uncond = randn([2, 4], { generator: g });

test('combineGuidance is eps_u + g·(eps_c − eps_u) elementwise', () => {
  const u = randn([3, 5], { generator: g }), c = randn([3, 5], { generator: g });
  for (const s of [0, 1, 7.5, -2]) {
    const r = combineGuidance(u, c, s);
    const U = values(u), Cv = values(c);
    assert.ok(errors(values(r), U.map((v, i) => v + s * (Cv[i] - v))).maxAbs <= 1e-5);
    r.dispose();
  }
  dispose([u, c]);
});

test('classifierFreeGuidance: one call on [x; x] with context [uncond; cond], combined as stated', () => {
  const calls: { n: number; ctx: number[]; t: number[] }[] = [];
  const model = (xx: Tensor, tt: Tensor, ctx: Tensor) => {
    calls.push({ n: xx.shape[0], ctx: values(ctx), t: values(tt) });
    return toyEps(xx, tt, ctx);
  };
  const before = liveTensors();
  const eps = classifierFreeGuidance(model, { cond, uncond, scale: 7.5 })(x, t);
  assert.equal(liveTensors(), before + 1, 'only the result survives');
  assert.equal(calls.length, 1);
  assert.equal(calls[0].n, 4);
  assert.deepEqual(calls[0].ctx, [...values(uncond), ...values(cond)]);
  assert.deepEqual(calls[0].t, [437, 437, 437, 437]);
  const eu = toyEps(x, t, uncond), ec = toyEps(x, t, cond);
  const U = values(eu), Cv = values(ec);
  const e = errors(values(eps), U.map((v, i) => v + 7.5 * (Cv[i] - v)));
  assert.ok(e.maxAbs <= 1e-5, `max abs error ${e.maxAbs}`);
  assert.ok(errors(values(eps), Cv).maxAbs > 1e-2, 'guidance changes the prediction');
  dispose([eps, eu, ec]);
});

test('classifierFreeGuidance with scale 1 makes one conditional call of batch N', () => {
  let n = 0, ctx: number[] = [];
  const eps = classifierFreeGuidance((xx, tt, c) => { n = xx.shape[0]; ctx = values(c); return toyEps(xx, tt, c); }, { cond, uncond, scale: 1 })(x, t);
  assert.equal(n, 2);
  assert.deepEqual(ctx, values(cond));
  dispose(eps);
});

test('classifierFreeGuidance: bad options name the option', () => {
  const m = (xx: Tensor) => xx;
  assert.throws(() => classifierFreeGuidance(m, { cond, uncond: randn([2, 5]), scale: 2 }), (e: DiffusionError) => e.option === 'uncond' && /\[2, 5\]/.test(e.message));
  assert.throws(() => classifierFreeGuidance(m, { cond, uncond, scale: NaN }), (e: DiffusionError) => e.option === 'scale');
  assert.throws(() => classifierFreeGuidance(m, { cond: 1 as unknown as Tensor, uncond, scale: 2 }), (e: DiffusionError) => e.option === 'cond');
  const x3 = randn([3, 4, 8, 8]);
  assert.throws(() => classifierFreeGuidance(m, { cond, uncond, scale: 2 })(x3, full([3], 1)), (e: DiffusionError) => e.option === 'cond' && /2 rows for a batch of 3/.test(e.message));
  x3.dispose();
});

test('guidance-scale embedding equals diffusers\' get_guidance_scale_embedding (dims 256 and 7)', () => {
  const F = fixture('schedule');
  const w = F.get('lcm.w')!;
  for (const dim of [256, 7]) {
    const before = liveTensors();
    const emb = guidanceScaleEmbedding(w, dim);
    assert.deepEqual(emb.shape, [4, dim]);
    const e = errors(values(emb), values(F.get(`lcm.w_embedding_${dim}`)!));
    console.log(`guidance embedding dim ${dim}: max abs error ${e.maxAbs.toExponential(2)}`);
    assert.ok(e.maxAbs <= 1e-5, `dim ${dim}: ${e.maxAbs}`);
    assert.equal(liveTensors(), before + 1);
    emb.dispose();
  }
  // The pipeline's form: w = g − 1 for one g, repeated over the batch; row 0 of the fixture is g = 8.
  const e8 = lcmGuidanceEmbedding(8, 3);
  const ref = values(F.get('lcm.w_embedding_256')!).slice(0, 256);
  const rows = values(e8);
  for (let r = 0; r < 3; r++) assert.ok(errors(rows.slice(r * 256, (r + 1) * 256), ref).maxAbs <= 1e-5);
  e8.dispose();
  assert.throws(() => guidanceScaleEmbedding([1], 3), (e: DiffusionError) => e.option === 'embeddingDim');
  assert.throws(() => tidy(() => guidanceScaleEmbedding(randn([2, 2]), 8)), (e: DiffusionError) => e.option === 'w');
});
