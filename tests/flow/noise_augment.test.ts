// Noise augmentation: the schedule against the reference fixture, q_sample against PyTorch with the
// same noise stream, fresh noise per call, step 0 disabling it, and bad steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tensor, Generator, liveTensors } from '../../src/tensor_library.js';
import { flow } from '../../src/index.js';
import { assertClose, golden, fromGolden, PARITY_DIR } from '../helpers.js';

const { cosineAlphaBar, NoiseAugmenter, FlowError } = flow;
const G = golden('flow_reference.json');

test('cosine schedule equals fixtures/parity/noise_schedule.json to 1e-6', () => {
  const fx = JSON.parse(readFileSync(join(PARITY_DIR, 'noise_schedule.json'), 'utf8')) as { steps: number[]; alpha_bar: number[] };
  const ab = cosineAlphaBar();
  assert.equal(ab.length, 1000);
  fx.steps.forEach((s, i) => assert.ok(Math.abs(ab[s] - fx.alpha_bar[i]) <= 1e-6, `step ${s}: ${ab[s]} vs ${fx.alpha_bar[i]}`));
  // The paper's step 400.
  assert.ok(Math.abs(ab[400] - 0.6539) < 1e-4);
  // Monotone from 1 down to ~0.
  for (let s = 1; s < 1000; s++) assert.ok(ab[s] <= ab[s - 1]);
  // A resolution shift moves the whole curve (im 128 vs ref 64: more noise at the same step).
  assert.ok(cosineAlphaBar({ imSize: 128 })[400] < ab[400]);
});

test('q_sample matches PyTorch with the same seeded stream, and draws fresh noise at every call', () => {
  const z = fromGolden(G.inputs.x1);
  const aug = new NoiseAugmenter({ seed: G.q_sample.seed });
  const a = aug.qSample(z, G.q_sample.step), b = aug.qSample(z, G.q_sample.step);
  assertClose(a, G.q_sample.calls[0].data, { atol: 1e-6 });
  assertClose(b, G.q_sample.calls[1].data, { atol: 1e-6 });
  assert.ok(!a.equal(b), 'second call has new noise');
  // Same seed again: the same sequence.
  const aug2 = new NoiseAugmenter({ generator: new Generator(G.q_sample.seed) });
  const a2 = aug2.qSample(z, G.q_sample.step);
  assert.ok(a2.equal(a));
  for (const v of [z, a, b, a2]) v.dispose();
});

test('q_sample with given noise is sqrt(ab)·z + sqrt(1 − ab)·ε by hand; step ≤ 0 returns z untouched', () => {
  const aug = new NoiseAugmenter({ seed: 0 });
  const z = tensor([1, -2, 0.5]), eps = tensor([0.3, 0.1, -1]);
  const ab = aug.alphaBar[250];
  const q = aug.qSample(z, 250, eps);
  assertClose(q, [1, -2, 0.5].map((v, i) => Math.sqrt(ab) * v + Math.sqrt(1 - ab) * [0.3, 0.1, -1][i]), { atol: 1e-6 });
  const before = liveTensors();
  const q0 = aug.qSample(z, 0), qm = aug.qSample(z, -1);
  assert.ok(q0.equal(z) && qm.equal(z));
  assert.ok(!q0.isSame(z), 'a copy, so the caller can dispose it independently');
  assert.equal(liveTensors() - before, 2);
  // Disabled steps draw no noise: the stream is where it was.
  const fresh = new NoiseAugmenter({ seed: 0 });
  const x = aug.qSample(z, 400), y = fresh.qSample(z, 400);
  assert.ok(x.equal(y));
  for (const v of [z, eps, q, q0, qm, x, y]) v.dispose();
});

test('bad steps and shapes are rejected', () => {
  const aug = new NoiseAugmenter({ seed: 0 });
  const z = tensor([1, 2]);
  const is = (re: RegExp) => (e: unknown) => e instanceof FlowError && re.test((e as Error).message);
  assert.throws(() => aug.qSample(z, 1000), is(/step must be an integer in \[0, 999\]/));
  assert.throws(() => aug.qSample(z, 3.5), is(/step must be an integer/));
  assert.throws(() => aug.qSample(z, 10, tensor([1, 2, 3])), is(/noise shape \[3\] differs from latent shape \[2\]/));
  assert.throws(() => cosineAlphaBar({ steps: 1 }), is(/steps must be an integer ≥ 2/));
  z.dispose();
});
