// DDIM, k-diffusion Euler / Euler ancestral and LCM against the reference samplers themselves (CompVis DDIMSampler,
// k_diffusion.sampling over CompVisDenoiser, diffusers LCMScheduler), run by scripts/goldens/diffusion_samplers.py
// on the toy model in ./toy.ts with a fixed x_T [2, 4, 8, 8]; every noise draw the references made is replayed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, liveTensors, dispose, type Tensor } from '../../src/tensor_library.js';
import { sampleDDIM, sampleEuler, sampleEulerAncestral, sampleLCM, ddimTimesteps, ddimParameters, lcmTimesteps, sdSchedule, classifierFreeGuidance, type NoiseSource, type SampleResult } from '../../src/diffusion/index.js';
import { cases, errors, fixture, maxRel, toyEps, values } from './toy.js';

const C = cases();
const D = fixture('ddim'), E = fixture('euler'), L = fixture('lcm');
const replay = (noise: Tensor | undefined): { noise: NoiseSource; used: () => number } => {
  let used = 0;
  return { noise: (k) => { used++; return noise!.select(0, k); }, used: () => used };
};

/** Final latents within 1e-5 of the reference, relative to its largest value (|x| ≤ ~6.5 here, so ≤ 6.5e-5 absolute). */
function checkFinal(name: string, r: SampleResult, ref: Tensor, tol = 1e-5) {
  const e = errors(values(r.x), values(ref));
  console.log(`${name}: final latent max abs error ${e.maxAbs.toExponential(2)}, relative to max |ref| ${e.rel.toExponential(2)} (max |ref| ${e.refMax.toFixed(3)})`);
  assert.ok(e.rel <= tol, `${name}: relative error ${e.rel} (max abs ${e.maxAbs})`);
}

for (const c of C.ddim) {
  test(`DDIM ${c.name}: timesteps, ᾱ/σ parameters, model times and final latent match CompVis`, () => {
    const before = liveTensors();
    const ts = ddimTimesteps(c.steps, c.discretize);
    assert.deepEqual(ts, c.timesteps);
    const p = ddimParameters(sdSchedule(), ts, c.eta);
    const ea = maxRel(p.alphas, values(D.get(`${c.name}.alphas`)!)), ep = maxRel(p.alphasPrev, values(D.get(`${c.name}.alphas_prev`)!));
    const es = maxRel(p.sigmas, values(D.get(`${c.name}.sigmas`)!));
    assert.ok(ea <= 1e-7 && ep <= 1e-7 && es <= 1e-6, `ᾱ ${ea}, ᾱ_prev ${ep}, σ ${es}`);
    const { noise, used } = replay(D.get(`${c.name}.noise`));
    const model = c.guidance_scale === 1 ? toyEps : classifierFreeGuidance(toyEps, { cond: D.get('cond')!, uncond: D.get('uncond')!, scale: c.guidance_scale });
    const r = sampleDDIM(model, D.get('x_T')!, { steps: c.steps, eta: c.eta, discretize: c.discretize, noise });
    assert.deepEqual(r.timesteps, values(D.get(`${c.name}.model_t`)!));
    assert.equal(r.nfe, c.timesteps.length);
    assert.equal(used(), c.draws, 'one draw per step when eta > 0, none otherwise');
    checkFinal(`DDIM ${c.name}`, r, D.get(`${c.name}.x`)!);
    r.x.dispose();
    assert.equal(liveTensors(), before);
  });
}

test('DDIM eta = 1 with Generator(seed) draws the same noise as the reference\'s torch.manual_seed(seed)', () => {
  const c = C.ddim.find((k) => k.name === 'ddim10_eta1')!;
  const r = sampleDDIM(toyEps, D.get('x_T')!, { steps: c.steps, eta: c.eta, generator: new Generator(c.seed) });
  checkFinal('DDIM ddim10_eta1 (seeded generator)', r, D.get(`${c.name}.x`)!);
  const other = sampleDDIM(toyEps, D.get('x_T')!, { steps: c.steps, eta: c.eta, generator: new Generator(c.seed + 100) });
  assert.ok(errors(values(other.x), values(r.x)).maxAbs > 1e-2, 'another seed gives another sample');
  dispose([r.x, other.x]);
});

for (const c of C.euler) {
  test(`k-diffusion ${c.name}: σ grid, model times and final latent match the reference`, () => {
    const before = liveTensors();
    const { noise, used } = replay(E.get(`${c.name}.noise`));
    const opts = { steps: c.steps, sigmas: c.sigmas, noise };
    const r = c.sampler === 'euler' ? sampleEuler(toyEps, E.get('x_T')!, opts) : sampleEulerAncestral(toyEps, E.get('x_T')!, opts);
    const refSigmas = values(E.get(`${c.name}.sigmas`)!);
    const es = maxRel(r.sigmas!, refSigmas);
    const et = errors(r.timesteps, values(E.get(`${c.name}.model_t`)!));
    console.log(`${c.name}: σ max rel error ${es.toExponential(2)}; model t max abs error ${et.maxAbs.toExponential(2)} (reference float32 σ → t round trip)`);
    assert.ok(es <= 1e-6, `σ rel error ${es}`);
    assert.ok(et.maxAbs <= 2e-3, `t error ${et.maxAbs}`);
    assert.equal(r.nfe, c.steps);
    assert.equal(used(), c.draws, 'ancestral: one draw per step except the last');
    checkFinal(`k-diffusion ${c.name}`, r, E.get(`${c.name}.x`)!);
    r.x.dispose();
    assert.equal(liveTensors(), before);
  });
}

for (const c of C.lcm) {
  test(`LCM ${c.name}: timesteps, model times and final latent match diffusers' LCMScheduler`, () => {
    const before = liveTensors();
    assert.deepEqual(lcmTimesteps(c.steps, c.original_inference_steps), c.timesteps);
    const { noise, used } = replay(L.get(`${c.name}.noise`));
    const r = sampleLCM(toyEps, L.get('x_T')!, { steps: c.steps, originalInferenceSteps: c.original_inference_steps, noise });
    assert.deepEqual(r.timesteps, c.timesteps);
    assert.deepEqual(r.timesteps, values(L.get(`${c.name}.model_t`)!));
    assert.equal(used(), c.draws);
    checkFinal(`LCM ${c.name}`, r, L.get(`${c.name}.x`)!);
    r.x.dispose();
    assert.equal(liveTensors(), before);
  });
}

test('LCM with Generator(seed) reproduces the reference run with torch.Generator().manual_seed(seed)', () => {
  const c = C.lcm.find((k) => k.name === 'lcm4')!;
  const r = sampleLCM(toyEps, L.get('x_T')!, { steps: c.steps, generator: new Generator(c.seed) });
  checkFinal('LCM lcm4 (seeded generator)', r, L.get(`${c.name}.x`)!);
  r.x.dispose();
});
