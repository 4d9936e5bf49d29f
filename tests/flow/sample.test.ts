// The sampling entry point: oracle-field transport with every solver, the network input
// (x_t ++ context), a closed-form ODE, noise augmentation seeding, batching, async, leaks, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randn, Generator, liveTensors, tidy, type Tensor } from '../../src/tensor_library.js';
import { flow } from '../../src/index.js';

const maxDiff = (a: Tensor, b: Tensor) => tidy(() => a.sub(b).abs().max().item());

const { sample, sampleAsync, NoiseAugmenter, FlowError, AbortError } = flow;

function data() {
  const g = new Generator(21);
  const x0 = randn([3, 4, 5, 5], { generator: g });
  const x1 = randn([3, 4, 5, 5], { generator: g });
  const ctx = randn([3, 2, 5, 5], { generator: g });
  return { x0, x1, ctx, u: x1.sub(x0) };
}

test('oracle network (x1 − x0): every solver maps the source to x1; the net sees cat([x_t, context], 1) and t of shape [B]', () => {
  const { x0, x1, ctx, u } = data();
  for (const solver of flow.SOLVER_NAMES) {
    let calls = 0;
    const net = (inp: Tensor, t: Tensor) => {
      calls++;
      assert.deepEqual(inp.shape, [3, 6, 5, 5]);
      assert.deepEqual(t.shape, [3]);
      const c = inp.narrow(1, 4, 2);
      assert.ok(c.equal(ctx), 'context channels are the clean context');
      c.dispose();
      return u;
    };
    const before = liveTensors();
    const r = sample(net, { source: x0, context: ctx }, { solver, steps: 9 });
    assert.equal(liveTensors() - before, 1, `${solver}: only the result stays alive`);
    const d = maxDiff(r.latent, x1);
    assert.ok(d < 1e-5, `${solver}: |x − x1| = ${d}`);
    assert.equal(r.nfe, calls);
    r.latent.dispose();
  }
  for (const v of [x0, x1, ctx, u]) v.dispose();
});

test('closed form: v = −x_t integrates to x0·e^(−1) (rk4, 40 points, as the reference validates)', () => {
  const { x0, ctx, x1, u } = data();
  const r = sample((inp) => inp.narrow(1, 0, 4).neg(), { source: x0, context: ctx }, { solver: 'rk4', steps: 40 });
  const expected = x0.mul(Math.exp(-1));
  const d = maxDiff(r.latent, expected);
  assert.ok(d < 1e-5, `max diff ${d}`);
  assert.equal(r.nfe, 39 * 4);
  for (const v of [x0, x1, ctx, u, r.latent, expected]) v.dispose();
});

test('from a low-res latent: noise step and seed reproduce q_sample; same seed same result; batchSize does not change it', () => {
  const { x0, ctx, x1, u } = data();
  // A constant field that does not depend on the batch split.
  const u1 = u.narrow(0, 0, 1);
  const net = (inp: Tensor) => u1.expand([inp.shape[0], 4, 5, 5]);
  const input = { lowresLatent: x0, zSize: 5, coupling: { upsamplingMode: 'psu' as const } };
  const a = sample(net, input, { noiseStep: 400, seed: 5, solver: 'euler', steps: 3 });
  const b = sample(net, input, { noiseStep: 400, seed: 5, solver: 'euler', steps: 3, batchSize: 2 });
  const c = sample(net, input, { noiseStep: 400, seed: 6, solver: 'euler', steps: 3 });
  const q = new NoiseAugmenter({ seed: 5 }).qSample(x0, 400);
  const expected = q.add(u1);
  const d = maxDiff(a.latent, expected);
  assert.ok(d < 1e-5, `x1 = q_sample(x0) + u: diff ${d}`);
  assert.ok(a.latent.equal(b.latent), 'batchSize 2 gives the same result');
  assert.ok(!a.latent.equal(c.latent), 'another seed, other noise');
  for (const v of [x0, ctx, x1, u, u1, a.latent, b.latent, c.latent, q, expected]) v.dispose();
});

test('sampleAsync equals sample; callback reports progress; abort stops it', async () => {
  const { x0, ctx, x1, u } = data();
  const net = (inp: Tensor) => inp.narrow(1, 0, 4).mul(-0.5);
  const progress: number[] = [];
  const s = sample(net, { source: x0, context: ctx }, { solver: 'heun', steps: 6, callback: (i) => progress.push(i.progress) });
  assert.deepEqual(progress, [0.2, 0.4, 0.6, 0.8, 1]);
  const a = await sampleAsync(net, { source: x0, context: ctx }, { solver: 'heun', steps: 6, batchSize: 2 });
  assert.ok(a.latent.equal(s.latent));
  const ac = new AbortController();
  const before = liveTensors();
  await assert.rejects(
    sampleAsync(net, { source: x0, context: ctx }, { solver: 'heun', steps: 50, signal: ac.signal, callback: (i) => { if (i.step === 2) ac.abort(); } }),
    AbortError,
  );
  // ≤: during the awaits the GC may also finalize tensors leaked earlier by test code.
  assert.ok(liveTensors() <= before, 'nothing left behind after an abort');
  const mid = liveTensors();
  assert.throws(() => sample(net, { source: x0, context: ctx }, { steps: 50, signal: ac.signal }), AbortError);
  assert.equal(liveTensors(), mid);
  for (const v of [x0, ctx, x1, u, s.latent, a.latent]) v.dispose();
});

test('bad inputs: context shape, solver name, steps, batchSize', () => {
  const { x0, ctx, x1, u } = data();
  const is = (re: RegExp) => (e: unknown) => e instanceof FlowError && re.test((e as Error).message);
  const bad = ctx.narrow(2, 0, 4);
  const before = liveTensors();
  assert.throws(() => sample(() => u, { source: x0, context: bad }), is(/context shape \[3, 2, 4, 5\] does not match latent shape \[3, 4, 5, 5\]/));
  assert.throws(() => sample(() => u, { source: x0 }, { solver: 'rk45' as never }), is(/unknown solver 'rk45'/));
  assert.throws(() => sample(() => u, { source: x0 }, { steps: 1 }), is(/at least 2|≥ 2/));
  assert.throws(() => sample(() => u, { source: x0 }, { batchSize: 0 }), is(/batchSize must be a positive integer/));
  assert.throws(() => sample((inp) => inp, { source: x0, context: ctx }), is(/network output shape \[3, 6, 5, 5\] differs from x_t shape \[3, 4, 5, 5\]/));
  assert.equal(liveTensors(), before, 'failed calls leave nothing behind');
  for (const v of [x0, ctx, x1, u, bad]) v.dispose();
});
