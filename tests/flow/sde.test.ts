// The SDE sampler on a 1-D Gaussian toy whose exact velocity field is known in closed form:
// x0 ~ N(0, 1), x1 ~ N(m, s²) independent, linear path. Both the ODE and the SDE must end at N(m, s²).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randn, tensor, Generator, liveTensors, tidy, type Tensor } from '../../src/tensor_library.js';
import { flow } from '../../src/index.js';

const m = 2, s = 0.5, N = 20000;
// E[x1 − x0 | x_t = x] = m + (t·s² − (1 − t)) / (t²·s² + (1 − t)²) · (x − t·m)
const exactVelocity = (x: Tensor, t: Tensor) => {
  const tt = t.reshape([-1, 1]);
  const cov = tt.mul(s * s).sub(tt.rsub(1));
  const variance = tt.square().mul(s * s).add(tt.rsub(1).square());
  return x.sub(tt.mul(m)).mul(cov.div(variance)).add(m);
};

function stats(x: Tensor): { mean: number; std: number } {
  return tidy(() => ({ mean: x.mean().item(), std: x.std().item() }));
}

test('ODE with the exact field transports N(0, 1) to N(m, s²)', () => {
  const x0 = randn([N, 1], { generator: new Generator(0) });
  const r = flow.sample(exactVelocity, { source: x0 }, { solver: 'rk4', steps: 21 });
  const st = stats(r.latent);
  assert.ok(Math.abs(st.mean - m) < 0.02 && Math.abs(st.std - s) < 0.02, JSON.stringify(st));
  r.latent.dispose();
  x0.dispose();
});

test('SDE (Euler–Maruyama, sigma diffusion, Mean last step) reaches N(m, s²) too, reproducibly by seed', () => {
  const x0 = randn([N, 1], { generator: new Generator(1) });
  const before = liveTensors();
  const a = flow.sampleSde(exactVelocity, x0, null, { steps: 250, seed: 3 });
  assert.equal(liveTensors() - before, 1);
  assert.equal(a.nfe, 250);
  const st = stats(a.latent);
  assert.ok(Math.abs(st.mean - m) < 0.03 && Math.abs(st.std - s) < 0.03, JSON.stringify(st));
  const b = flow.sampleSde(exactVelocity, x0, null, { steps: 250, seed: 3 });
  const c = flow.sampleSde(exactVelocity, x0, null, { steps: 250, seed: 4 });
  assert.ok(a.latent.equal(b.latent) && !a.latent.equal(c.latent));
  for (const v of [x0, a.latent, b.latent, c.latent]) v.dispose();
});

test('score from velocity on the linear path by hand: (t·v − x) / (1 − t)', () => {
  const fm = new flow.FlowMatcher();
  const v = tensor([1, -2]), x = tensor([0.5, 3]);
  const sc = flow.scoreFromVelocity(fm, v, x, 0.3);
  const expected = [1, -2].map((vi, i) => (0.3 * vi - [0.5, 3][i]) / 0.7);
  sc.toFloat32Array().forEach((val, i) => assert.ok(Math.abs(val - expected[i]) < 1e-6));
  assert.throws(() => flow.sampleSde(exactVelocity, x.reshape([2, 1]), null, { diffusionForm: 'SBDM' as never }), /unknown diffusion form 'SBDM'/);
  for (const t of [v, x, sc]) t.dispose();
});
