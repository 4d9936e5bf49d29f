// Sampler contracts beyond parity: bad options throw DiffusionError naming the option, the live-tensor count
// stays flat over long runs and after errors or cancellation, and onStep reports each step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, randn, liveTensors, type Tensor } from '../../src/tensor_library.js';
import { sampleDDIM, sampleEuler, sampleEulerAncestral, sampleLCM, ddimTimesteps, lcmTimesteps, DiffusionError, type EpsModel, type SampleResult, type SamplerOptions } from '../../src/diffusion/index.js';
import { toyEps } from './toy.js';

const xT = randn([1, 4, 8, 8], { generator: new Generator(1) });
type Sampler = (m: EpsModel, x: Tensor, o: SamplerOptions) => SampleResult;
const SAMPLERS: [string, Sampler][] = [['sampleDDIM', sampleDDIM], ['sampleEuler', sampleEuler], ['sampleEulerAncestral', sampleEulerAncestral], ['sampleLCM', sampleLCM]];
const named = (fn: string, option: string | undefined, re?: RegExp) => (e: unknown) =>
  e instanceof DiffusionError && e.code === 'EDIFFUSION' && e.fn === fn && e.option === option && (!re || re.test(e.message));

for (const [fn, s] of SAMPLERS) {
  test(`${fn}: bad steps, model, latents and noise are named`, () => {
    const before = liveTensors();
    for (const steps of [0, -3, 2.5, NaN, '4' as unknown as number, 1001]) assert.throws(() => s(toyEps, xT, { steps }), named(fn, 'steps', /integer in \[1, \d+\]/));
    assert.throws(() => s(toyEps, xT, undefined as unknown as SamplerOptions), named(fn, undefined, /options/));
    assert.throws(() => s(42 as unknown as EpsModel, xT, { steps: 4 }), named(fn, undefined, /model must be a function/));
    assert.throws(() => s(toyEps, [1, 2] as unknown as Tensor, { steps: 4 }), named(fn, undefined, /xT must be a Tensor/));
    assert.throws(() => s((x) => x.sum(), xT, { steps: 4 }), named(fn, undefined, /model returned shape \[\] for latents of shape \[1, 4, 8, 8\]/));
    const stochastic = { sampleDDIM: { eta: 1 }, sampleEulerAncestral: {}, sampleLCM: {}, sampleEuler: undefined }[fn];
    if (stochastic) assert.throws(() => s(toyEps, xT, { steps: 4, ...stochastic, noise: () => randn([2, 2]) }), named(fn, 'noise', /draw 0 must be a Tensor of shape \[1, 4, 8, 8\], got \[2, 2\]/));
    assert.equal(liveTensors(), before, 'failed runs free what they made');
  });
}

test('sampler-specific options are checked', () => {
  assert.throws(() => sampleDDIM(toyEps, xT, { steps: 10, eta: -0.1 }), named('sampleDDIM', 'eta'));
  assert.throws(() => sampleDDIM(toyEps, xT, { steps: 10, eta: Infinity }), named('sampleDDIM', 'eta'));
  assert.throws(() => sampleDDIM(toyEps, xT, { steps: 10, eta: 3 }), named('sampleDDIM', 'eta', /too large/));
  assert.throws(() => sampleDDIM(toyEps, xT, { steps: 10, discretize: 'linear' as 'quad' }), named('ddimTimesteps', 'discretize'));
  // Strides dividing 999 put the last DDIM timestep at 1000, past ᾱ (CompVis indexes out of range there).
  for (const steps of [1000, 500 - 167, 111]) assert.throws(() => ddimTimesteps(steps), named('ddimTimesteps', 'steps', /past the schedule/));
  assert.deepEqual(ddimTimesteps(1), [1]);
  assert.equal(ddimTimesteps(7).length, 8, '1000 // 7 = 142 gives 8 timesteps, as the reference');
  assert.throws(() => sampleEuler(toyEps, xT, { steps: 10, sigmas: 'exponential' as 'karras' }), named('sampleEuler', 'sigmas'));
  assert.throws(() => sampleEulerAncestral(toyEps, xT, { steps: 10, eta: -1 }), named('sampleEulerAncestral', 'eta'));
  assert.throws(() => sampleLCM(toyEps, xT, { steps: 51 }), named('sampleLCM', 'steps', /\[1, 50\]/));
  assert.throws(() => sampleLCM(toyEps, xT, { steps: 4, originalInferenceSteps: 1001 }), named('sampleLCM', 'originalInferenceSteps'));
  assert.throws(() => sampleLCM(toyEps, xT, { steps: 4, timestepScaling: -1 }), named('sampleLCM', 'timestepScaling'));
  assert.deepEqual(lcmTimesteps(50), Array.from({ length: 50 }, (_, i) => 999 - 20 * i));
});

function flatRun(name: string, run: (onStep: SamplerOptions['onStep']) => SampleResult, steps: number) {
  test(`${name}: live tensors stay flat over ${steps} steps; onStep sees each step`, () => {
    const before = liveTensors();
    const live: number[] = [], seen: number[] = [], ts: number[] = [];
    const r = run((info) => {
      live.push(liveTensors());
      seen.push(info.step);
      ts.push(info.t);
      assert.equal(info.steps, steps);
      assert.deepEqual(info.denoised.shape, [1, 4, 8, 8]);
      assert.equal(info.nfe, info.step);
    });
    assert.deepEqual(seen, Array.from({ length: steps }, (_, i) => i + 1));
    assert.deepEqual(ts, r.timesteps);
    // The same count after every step (LCM's last step returns its x0-prediction as x: one tensor fewer).
    const last = live.pop()!;
    assert.ok(live.every((v) => v === live[0]) && last <= (live[0] ?? last), `live tensors per step: ${[...live, last].join(', ')}`);
    assert.equal(liveTensors(), before + 1, 'only the result survives');
    r.x.dispose();
  });
}
flatRun('DDIM eta 1', (onStep) => sampleDDIM(toyEps, xT, { steps: 50, eta: 1, generator: new Generator(5), onStep }), 50);
flatRun('Euler ancestral (Karras σ)', (onStep) => sampleEulerAncestral(toyEps, xT, { steps: 30, sigmas: 'karras', generator: new Generator(5), onStep }), 30);
flatRun('LCM', (onStep) => sampleLCM(toyEps, xT, { steps: 8, generator: new Generator(5), onStep }), 8);

test('an AbortSignal stops sampling before the next step and leaks nothing', () => {
  const before = liveTensors();
  const ac = new AbortController();
  let steps = 0;
  assert.throws(
    () => sampleEuler(toyEps, xT, { steps: 20, signal: ac.signal, onStep: (i) => { steps = i.step; if (i.step === 3) ac.abort(); } }),
    (e: Error) => e.name === 'AbortError' && /aborted after 3 step/.test(e.message),
  );
  assert.equal(steps, 3);
  let calls = 0;
  assert.throws(() => sampleDDIM((x, t) => { if (++calls === 4) throw new Error('model failed'); return toyEps(x, t); }, xT, { steps: 10 }), /model failed/);
  assert.equal(liveTensors(), before);
});
