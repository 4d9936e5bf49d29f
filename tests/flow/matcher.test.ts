// FlowMatcher: x_t and targets on fixed tensors by hand, the loss against a PyTorch golden of the
// reference's formulas (same Generator streams), seeded reproducibility, and input errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, Generator, liveTensors, Tensor } from '../../src/tensor_library.js';
import { flow } from '../../src/index.js';
import { assertClose, golden, fromGolden } from '../helpers.js';

const { FlowMatcher, FlowError } = flow;
const G = golden('flow_reference.json');

// Two samples of 1 channel × 2 pixels.
const X0 = [[[1, -2]], [[0.5, 3]]];
const X1 = [[[4, 0]], [[-1, 1]]];
const T = [0.25, 0.8];

test('linear path: x_t = t·x1 + (1 − t)·x0 and u = x1 − x0, by hand', () => {
  const m = new FlowMatcher();
  const x0 = tensor(X0), x1 = tensor(X1), t = tensor(T);
  const xt = m.meanPath(x0, x1, t), ut = m.targetField(x0, x1, t);
  const expXt = X0.map((s, b) => s.map((c, ci) => c.map((v, i) => T[b] * X1[b][ci][i] + (1 - T[b]) * v)));
  const expUt = X0.map((s, b) => s.map((c, ci) => c.map((v, i) => X1[b][ci][i] - v)));
  assertClose(xt, expXt, { atol: 1e-6 });
  assertClose(ut, expUt, { atol: 1e-6 });
  assert.deepEqual(xt.shape, [2, 1, 2]);
  // sigmaMin 0: sampleXt is the mean exactly.
  const s = m.sampleXt(x0, x1, t);
  assert.ok(s.equal(xt));
  for (const v of [x0, x1, t, xt, ut, s]) v.dispose();
});

test('GVP path: alpha = sin(πt/2), sigma = cos(πt/2) and their derivatives, by hand', () => {
  const m = new FlowMatcher({ path: 'gvp' });
  const x0 = tensor(X0), x1 = tensor(X1), t = tensor(T);
  const xt = m.meanPath(x0, x1, t), ut = m.targetField(x0, x1, t);
  const h = Math.PI / 2;
  const expXt = X0.map((s, b) => s.map((c, ci) => c.map((v, i) => Math.sin(h * T[b]) * X1[b][ci][i] + Math.cos(h * T[b]) * v)));
  const expUt = X0.map((s, b) => s.map((c, ci) => c.map((v, i) => h * Math.cos(h * T[b]) * X1[b][ci][i] - h * Math.sin(h * T[b]) * v)));
  assertClose(xt, expXt, { atol: 1e-6 });
  assertClose(ut, expUt, { atol: 1e-6 });
  for (const v of [x0, x1, t, xt, ut]) v.dispose();
});

test('loss on fixed tensors with fixed t equals the hand-computed MSE; the net sees cat([x_t, context], 1)', () => {
  const m = new FlowMatcher();
  const x0 = tensor(X0), x1 = tensor(X1), t = tensor(T);
  const ctx = tensor([[[10, 20]], [[30, 40]]]);
  let seen: number[] = [];
  let seenT: number[] = [];
  // v = 2·x_t (the first channel) − context/10
  const net = (inp: Tensor, tt: Tensor) => {
    seen = inp.shape;
    seenT = Array.from(tt.toFloat32Array());
    const [a, c] = inp.split(1, 1);
    return a.mul(2).sub(c.div(10));
  };
  const terms = m.lossTerms(net, x1, x0, { context: ctx, t });
  assert.deepEqual(seen, [2, 2, 2], 'context concatenated on channels');
  assertClose(seenT, T, { atol: 1e-7 });
  let sum = 0;
  const C = [[10, 20], [30, 40]];
  for (let b = 0; b < 2; b++) for (let i = 0; i < 2; i++) {
    const xt = T[b] * X1[b][0][i] + (1 - T[b]) * X0[b][0][i];
    const v = 2 * xt - C[b][i] / 10;
    sum += (v - (X1[b][0][i] - X0[b][0][i])) ** 2;
  }
  assert.ok(Math.abs(terms.loss.item() - sum / 4) < 1e-5, `${terms.loss.item()} vs ${sum / 4}`);
  for (const v of [x0, x1, t, ctx, ...Object.values(terms)]) v.dispose();
});

for (const c of G.loss as any[]) {
  test(`loss matches PyTorch (path ${c.path}, sigma_min ${c.sigma_min}, ${c.start_from_noise ? 'from noise' : 'coupling'})`, () => {
    const x0 = fromGolden(G.inputs.x0), x1 = fromGolden(G.inputs.x1), ctx = fromGolden(G.inputs.context);
    const m = new FlowMatcher({ path: c.path, sigmaMin: c.sigma_min });
    const net = (inp: Tensor, t: Tensor) => {
      const [a, b] = inp.split(2, 1);
      return a.mul(0.5).sub(b.mul(t.reshape([-1, 1, 1, 1])).mul(0.25)).add(0.1);
    };
    const before = liveTensors();
    const terms = m.lossTerms(net, x1, c.start_from_noise ? null : x0, { context: ctx, generator: new Generator(c.seed) });
    assertClose(terms.t, c.t, { atol: 1e-7, msg: 't ~ U[0,1) from the same stream' });
    assertClose(terms.xt, c.xt.data, { atol: 1e-5, msg: 'x_t' });
    assertClose(terms.ut, c.ut.data, { atol: 1e-5, msg: 'u_t' });
    assert.ok(Math.abs(terms.loss.item() - c.loss) < 1e-5 * Math.max(1, c.loss), `loss ${terms.loss.item()} vs ${c.loss}`);
    // Same seed twice: identical; another seed: different.
    const again = m.loss(net, x1, c.start_from_noise ? null : x0, { context: ctx, generator: new Generator(c.seed) });
    const other = m.loss(net, x1, c.start_from_noise ? null : x0, { context: ctx, generator: new Generator(c.seed + 100) });
    assert.equal(again.item(), terms.loss.item());
    assert.notEqual(other.item(), terms.loss.item());
    assert.equal(liveTensors() - before, 6 + 2, 'only the returned tensors stay alive');
    for (const v of [x0, x1, ctx, again, other, ...Object.values(terms)]) v.dispose();
  });
}

test('loss keeps the autograd graph to the network parameters', () => {
  const w = tensor([0.3]).requiresGrad_(true);
  const x0 = tensor(X0), x1 = tensor(X1);
  const m = new FlowMatcher();
  const loss = m.loss((inp) => inp.mul(w), x1, x0, { generator: new Generator(0) });
  loss.backward();
  const gw = w.grad!;
  assert.ok(gw !== null && Number.isFinite(gw.item()) && gw.item() !== 0);
  gw.dispose();
  for (const v of [w, x0, x1, loss]) v.dispose();
});

test('bad inputs: shapes, context, network output, options', () => {
  const m = new FlowMatcher();
  const x0 = tensor(X0), x1 = tensor(X1);
  const is = (re: RegExp) => (e: unknown) => e instanceof FlowError && re.test((e as Error).message);
  const bad = tensor([[[1, 2, 3]]]);
  assert.throws(() => m.loss((x) => x, x1, bad), is(/x0 shape \[1, 1, 3\] differs from x1 shape \[2, 1, 2\]/));
  assert.throws(() => m.loss((x) => x, x1, x0, { context: bad }), is(/context shape \[1, 1, 3\] does not match latent shape \[2, 1, 2\]/));
  assert.throws(() => m.loss((x) => x.sum(1), x1, x0), is(/network output shape \[2, 2\] differs from x_t shape \[2, 1, 2\]/));
  const t3 = tensor([0.1, 0.2, 0.3]);
  assert.throws(() => m.meanPath(x0, x1, t3), is(/t must have shape \[2\]/));
  assert.throws(() => new FlowMatcher({ path: 'gvp', sigmaMin: 0.1 }), is(/gvp path does not support sigmaMin/));
  assert.throws(() => new FlowMatcher({ path: 'cosine' as never }), is(/unknown path 'cosine'/));
  assert.throws(() => new FlowMatcher({ sigmaMin: -1 }), is(/sigmaMin must be ≥ 0/));
  for (const v of [x0, x1, bad, t3]) v.dispose();
});

test('hooks are overridable: a subclass with its own target field is used by the loss', () => {
  class Doubled extends FlowMatcher {
    override targetField(x0: Tensor, x1: Tensor, t: Tensor): Tensor {
      const u = super.targetField(x0, x1, t);
      const d = u.mul(2);
      u.dispose();
      return d;
    }
  }
  const x0 = tensor(X0), x1 = tensor(X1), t = tensor(T);
  const a = new Doubled().lossTerms((x) => x.mul(0), x1, x0, { t });
  const b = new FlowMatcher().lossTerms((x) => x.mul(0), x1, x0, { t });
  assert.ok(Math.abs(a.loss.item() - 4 * b.loss.item()) < 1e-5);
  for (const v of [x0, x1, t, ...Object.values(a), ...Object.values(b)]) v.dispose();
});
