// The DDPM schedule and k-diffusion's σ ↔ t maps against the values the references computed
// (fixtures from scripts/goldens/diffusion_samplers.py: CompVis register_schedule, diffusers LCMScheduler,
// k-diffusion CompVisDenoiser), plus closed forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveTensors } from '../../src/tensor_library.js';
import { ddpmSchedule, sdSchedule, scheduleSigmas, sigmaToT, tToSigma, discreteSigmas, karrasSigmas, sigmaMin, sigmaMax, linspace, DiffusionError } from '../../src/diffusion/index.js';
import { fixture, maxRel, values } from './toy.js';

const F = fixture('schedule');

for (const kind of ['scaled_linear', 'linear'] as const) {
  test(`${kind}: betas, ᾱ (CompVis and diffusers) and σ (k-diffusion) match the references`, () => {
    const s = ddpmSchedule({ betaSchedule: kind });
    const eb = maxRel(s.betas, values(F.get(`ldm.${kind}.betas`)!));
    const ea = maxRel(s.alphasCumprod, values(F.get(`ldm.${kind}.alphas_cumprod`)!));
    const ed = maxRel(s.alphasCumprod, values(F.get(`diffusers.${kind}.alphas_cumprod`)!));
    const es = maxRel(scheduleSigmas(s), values(F.get(`kdiff.${kind}.sigmas`)!));
    console.log(`${kind}: max rel error betas ${eb.toExponential(2)}, ᾱ vs CompVis ${ea.toExponential(2)}, ᾱ vs diffusers ${ed.toExponential(2)}, σ ${es.toExponential(2)}`);
    assert.ok(eb <= 1e-12, `betas ${eb}`);
    assert.ok(ea <= 1e-7, `ᾱ vs CompVis ${ea}`);
    assert.ok(ed <= 1e-6, `ᾱ vs diffusers ${ed}`);
    assert.ok(es <= 1e-6, `σ ${es}`);
  });
}

test('scaled_linear and linear differ, and ᾱ is decreasing in (0, 1)', () => {
  const a = ddpmSchedule().alphasCumprod, b = ddpmSchedule({ betaSchedule: 'linear' }).alphasCumprod;
  assert.ok(Math.abs(a[500] - b[500]) > 1e-2);
  for (let i = 1; i < a.length; i++) assert.ok(a[i] < a[i - 1] && a[i] > 0);
  assert.ok(Math.abs(a[0] - (1 - 0.00085)) < 1e-7);
  assert.equal(sdSchedule(), sdSchedule(), 'made once');
});

test('σ ↔ t: t_to_sigma hits the table at integers, sigma_to_t inverts it, clamps outside', () => {
  const s = sdSchedule(), sig = scheduleSigmas(s);
  for (const t of [0, 1, 17, 500, 998, 999]) {
    assert.ok(Math.abs(tToSigma(s, t) / sig[t] - 1) < 1e-12);
    assert.ok(Math.abs(sigmaToT(s, sig[t]) - t) < 1e-9, `t ${t}`);
  }
  for (const t of [0.25, 123.5, 998.9]) assert.ok(Math.abs(sigmaToT(s, tToSigma(s, t)) - t) < 1e-9);
  assert.equal(sigmaToT(s, sigmaMin(s) / 2), 0);
  assert.equal(sigmaToT(s, sigmaMax(s) * 2), 999);
  assert.throws(() => tToSigma(s, 1000), DiffusionError);
});

test('discrete σ grid and Karras grid: endpoints, monotone, trailing 0', () => {
  const s = sdSchedule();
  const d = discreteSigmas(s, 10);
  assert.equal(d.length, 11);
  assert.equal(d[10], 0);
  assert.ok(Math.abs(d[0] - sigmaMax(s)) < 1e-12 && Math.abs(d[9] - sigmaMin(s)) < 1e-12);
  const k = karrasSigmas(10, 0.03, 14.6);
  assert.ok(Math.abs(k[0] - 14.6) < 1e-12 && Math.abs(k[9] - 0.03) < 1e-12 && k[10] === 0);
  for (let i = 1; i < 10; i++) assert.ok(d[i] < d[i - 1] && k[i] < k[i - 1]);
  assert.deepEqual(linspace(999, 0, 4), [999, 666, 333, 0]);
  assert.deepEqual(discreteSigmas(s, 1), [sigmaMax(s), 0]);
});

test('bad schedule options name the option', () => {
  assert.throws(() => ddpmSchedule({ betaSchedule: 'cosine' as 'linear' }), (e: DiffusionError) => e.option === 'betaSchedule' && /cosine/.test(e.message));
  assert.throws(() => ddpmSchedule({ numTrainTimesteps: 1.5 }), (e: DiffusionError) => e.option === 'numTrainTimesteps');
  assert.throws(() => ddpmSchedule({ betaStart: 0.02, betaEnd: 0.01 }), (e: DiffusionError) => e.option === 'betaStart');
  assert.throws(() => karrasSigmas(0, 0.1, 1), (e: DiffusionError) => e.option === 'steps');
  assert.throws(() => karrasSigmas(5, 0.1, 1, 0), (e: DiffusionError) => e.option === 'rho');
});

test('schedule tests leave the fixture tensors only', () => {
  const before = liveTensors();
  ddpmSchedule();
  assert.equal(liveTensors(), before);
});
