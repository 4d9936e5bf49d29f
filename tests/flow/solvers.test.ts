// ODE solvers: convergence order on a known solution, Butcher-tableau hand checks, dopri5's
// tolerance and efficiency, exact transport under the oracle field, cancellation, bad inputs, leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, randn, liveTensors, Generator, tidy, type Tensor } from '../../src/tensor_library.js';
import { flow } from '../../src/index.js';

const { getSolver, linspaceGrid, dopri5, rk4, odeint, odeintAsync, AbortError, FlowError } = flow;

// dx/dt = −t·x, x(t) = x(0)·exp(−t²/2).
const X0 = [1, 2, -0.5];
const decay = (t: number, x: Tensor) => x.mul(-t);
const T = 2;
const exactAt = (t: number) => X0.map((v) => v * Math.exp((-t * t) / 2));

function maxErr(x: Tensor, ref: number[]): number {
  const d = x.data() as Float64Array;
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(d[i] - ref[i]));
  return m;
}

function solveErr(name: string, steps: number): { err: number; nfe: number } {
  const x0 = tensor(X0, { dtype: 'float64' });
  const r = getSolver(name)(decay, x0, linspaceGrid(steps + 1, { t1: T }));
  const err = maxErr(r.x, exactAt(T));
  r.x.dispose();
  x0.dispose();
  return { err, nfe: r.nfe };
}

for (const [name, order, evals] of [['euler', 1, 1], ['midpoint', 2, 2], ['heun', 2, 2], ['heun3', 3, 3], ['rk4', 4, 4], ['rk4_classic', 4, 4]] as const) {
  test(`${name}: observed order ${order} when the step is halved (float64)`, () => {
    const a = solveErr(name, 20), b = solveErr(name, 40);
    const observed = Math.log2(a.err / b.err);
    assert.ok(Math.abs(observed - order) <= 0.3, `${name}: observed order ${observed.toFixed(3)}, expected ${order} ± 0.3 (errors ${a.err}, ${b.err})`);
    // A grid of N points makes N − 1 steps.
    assert.equal(a.nfe, 20 * evals);
    assert.equal(b.nfe, 40 * evals);
  });
}

// A smooth scalar field that depends on t and x, for one-step hand checks in plain float64 JS.
const g = (t: number, y: number) => Math.sin(t) - 0.7 * y * y + t * y;
const gT = (t: number, x: Tensor) => x.square().mul(-0.7).add(x.mul(t)).add(Math.sin(t));

test('rk4 is torchdiffeq\'s 3/8 rule: one step equals the hand-computed tableau', () => {
  const t0 = 0.3, h = 0.25, y0 = 0.8;
  const k1 = g(t0, y0);
  const k2 = g(t0 + h / 3, y0 + (h * k1) / 3);
  const k3 = g(t0 + (2 * h) / 3, y0 + h * (-k1 / 3 + k2));
  const k4 = g(t0 + h, y0 + h * (k1 - k2 + k3));
  const expected = y0 + (h * (k1 + 3 * k2 + 3 * k3 + k4)) / 8;
  const x0 = tensor([y0], { dtype: 'float64' });
  const r = rk4(gT, x0, [t0, t0 + h]);
  assert.ok(Math.abs((r.x.data() as Float64Array)[0] - expected) < 1e-15, `${r.x.item()} vs ${expected}`);
  assert.equal(r.nfe, 4);
  // The classic weights give a different value: the test can tell the two rules apart.
  const c = getSolver('rk4_classic')(gT, x0, [t0, t0 + h]);
  assert.ok(Math.abs(c.x.item() - expected) > 1e-9);
  r.x.dispose(); c.x.dispose(); x0.dispose();
});

test('dopri5: one step equals the hand-computed Dormand–Prince tableau (value, error estimate, FSAL)', () => {
  const a = [
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  ];
  const c = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1];
  const b5 = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84];
  // torchdiffeq's embedded 4th-order weights (Shampine's choice, not DP's 5179/57600 family member).
  const b4 = [1951 / 21600, 0, 22642 / 50085, 451 / 720, -12231 / 42400, 649 / 6300, 1 / 60];
  const t0 = 0.3, h = 0.25, y0 = 0.8;
  const k = [g(t0, y0)];
  for (let i = 0; i < 5; i++) {
    let y = y0;
    for (let j = 0; j <= i; j++) y += h * a[i][j] * k[j];
    k.push(g(t0 + c[i + 1] * h, y));
  }
  let y5 = y0;
  for (let j = 0; j < 6; j++) y5 += h * b5[j] * k[j];
  k.push(g(t0 + h, y5));
  let y4 = y0;
  for (let j = 0; j < 7; j++) y4 += h * b4[j] * k[j];

  const x0 = tensor([y0], { dtype: 'float64' });
  const f0 = tensor([k[0]], { dtype: 'float64' });
  const s = flow.dopri5Step(gT, t0, h, x0, f0);
  assert.ok(Math.abs(s.y1.item() - y5) < 1e-15, `y1 ${s.y1.item()} vs ${y5}`);
  assert.ok(Math.abs(s.f1.item() - k[6]) < 1e-15, 'FSAL stage is f(t1, y1)');
  assert.ok(Math.abs(s.error.item() - (y5 - y4)) < 1e-15, `error ${s.error.item()} vs ${y5 - y4}`);

  // Through the solver: a forced first step over the whole grid, loose tolerance so it is accepted.
  const r = dopri5(gT, x0, [t0, t0 + h], { firstStep: h, rtol: 1, atol: 1 });
  assert.ok(Math.abs(r.x.item() - y5) < 1e-15);
  assert.equal(r.nfe, 7, 'f0 plus six stages');
  assert.equal(r.steps, 1);
  for (const t of [x0, f0, s.y1, s.f1, s.error, r.x, ...s.k]) t.dispose();
});

test('dopri5 dense output: exact for a quartic solution, accurate between steps on the decay ODE', () => {
  // x' = 4t³ − 3t² + 1 has x = t⁴ − t³ + t + x0: one step is exact, and so is the quartic interpolant.
  const x0 = tensor(X0, { dtype: 'float64' });
  const grid = linspaceGrid(6);
  const quartic = (t: number) => X0.map((v) => v + t ** 4 - t ** 3 + t);
  const q = dopri5((t, x) => x.mul(0).add(4 * t ** 3 - 3 * t ** 2 + 1), x0, grid, { firstStep: 1, trajectory: true });
  assert.equal(q.steps, 1);
  grid.forEach((t, i) => assert.ok(maxErr(q.xs![i], quartic(t)) < 1e-13, `t = ${t}: error ${maxErr(q.xs![i], quartic(t))}`));

  const r = dopri5(decay, x0, grid, { rtol: 1e-6, atol: 1e-8, trajectory: true });
  assert.equal(r.xs!.length, 6);
  grid.forEach((t, i) => assert.ok(maxErr(r.xs![i], exactAt(t)) < 1e-4, `t = ${t}: error ${maxErr(r.xs![i], exactAt(t))}`));
  for (const t of [...q.xs!, ...r.xs!]) t.dispose();
  x0.dispose();
});

test('dopri5 meets its tolerance, with fewer evaluations than rk4 at equal error', () => {
  const x0 = tensor(X0, { dtype: 'float64' });
  const rtol = 1e-7, atol = 1e-9;
  const r = dopri5(decay, x0, [0, T], { rtol, atol });
  const err = maxErr(r.x, exactAt(T));
  const scale = atol + rtol * Math.max(...X0.map(Math.abs));
  assert.ok(err < 10 * scale, `global error ${err} vs tolerance scale ${scale}`);
  assert.ok(r.rejected >= 0 && r.steps > 1);
  // Smallest rk4 grid (doubling) reaching the same error.
  let n = 4, rk: { err: number; nfe: number };
  for (;;) {
    rk = solveErr('rk4', n);
    if (rk.err <= err) break;
    n *= 2;
  }
  assert.ok(r.nfe < rk.nfe, `dopri5 ${r.nfe} evaluations (error ${err}) vs rk4 ${rk.nfe} (error ${rk.err})`);
  r.x.dispose();
  x0.dispose();
});

test('oracle field x1 − x0 carries x0 to x1 exactly with every solver', () => {
  const gen = new Generator(11);
  const x0 = randn([2, 4, 6, 6], { generator: gen });
  const x1 = randn([2, 4, 6, 6], { generator: gen });
  const u = x1.sub(x0);
  for (const name of flow.SOLVER_NAMES) {
    for (const steps of [2, 7, 50]) {
      const r = getSolver(name)(() => u, x0, linspaceGrid(steps));
      const d = tidy(() => r.x.sub(x1).abs().max().item());
      assert.ok(d < 1e-5, `${name}, ${steps} points: |x − x1| = ${d}`);
      r.x.dispose();
    }
  }
  // The field returned a tensor it keeps: the solvers must not have freed it.
  assert.equal(u.isDisposed, false);
  assert.ok(tidy(() => u.sub(x1.sub(x0)).abs().max().item()) === 0);
  x0.dispose(); x1.dispose(); u.dispose();
});

test('solvers free their intermediates: only the result stays alive', () => {
  const x0 = tensor(X0, { dtype: 'float64' });
  for (const name of flow.SOLVER_NAMES) {
    const before = liveTensors();
    const r = getSolver(name)(decay, x0, linspaceGrid(9, { t1: T }), { rtol: 1e-6, atol: 1e-8 });
    assert.equal(liveTensors() - before, 1, `${name} leaked ${liveTensors() - before - 1} tensors`);
    r.x.dispose();
  }
  const before = liveTensors();
  const r = rk4(decay, x0, linspaceGrid(5), { trajectory: true });
  assert.equal(liveTensors() - before, 5, 'trajectory keeps one tensor per grid point; x is the last of them');
  assert.ok(r.xs![4] === r.x);
  for (const t of r.xs!) t.dispose();
  x0.dispose();
});

test('callback reports each step; an abort stops the solver within one step with an AbortError', () => {
  const x0 = tensor(X0, { dtype: 'float64' });
  for (const name of flow.SOLVER_NAMES) {
    const seen: number[] = [];
    const r = getSolver(name)(decay, x0, linspaceGrid(11), { callback: (i) => seen.push(i.t) });
    if (name !== 'dopri5') assert.deepEqual(seen, linspaceGrid(11).slice(1), `${name} reports every grid point`);
    else assert.ok(seen.length === r.steps && Math.abs(seen[seen.length - 1] - 1) < 1e-12);
    r.x.dispose();

    const ac = new AbortController();
    let evalsAtAbort = -1, evals = 0;
    const before = liveTensors();
    assert.throws(
      () => getSolver(name)((t, x) => { evals++; return decay(t, x); }, x0, linspaceGrid(11), {
        signal: ac.signal,
        callback: (i) => { if (i.step === 3) { ac.abort(); evalsAtAbort = evals; } },
      }),
      (e: unknown) => e instanceof AbortError && (e as Error).name === 'AbortError' && /aborted after 3 step/.test((e as Error).message),
    );
    assert.equal(evals, evalsAtAbort, `${name}: no evaluation after the abort`);
    assert.equal(liveTensors(), before, `${name}: state freed after abort`);
  }
  // Already aborted: nothing runs.
  const ac = new AbortController();
  ac.abort();
  let evals = 0;
  assert.throws(() => rk4((t, x) => { evals++; return decay(t, x); }, x0, [0, 1], { signal: ac.signal }), AbortError);
  assert.equal(evals, 0);
  x0.dispose();
});

test('async solvers yield between steps, so a timer can abort them', async () => {
  const x0 = tensor(X0, { dtype: 'float64' });
  const ac = new AbortController();
  let steps = 0;
  const p = odeintAsync(decay, x0, linspaceGrid(100_001), { method: 'euler', signal: ac.signal, callback: () => { steps++; } });
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(p, AbortError);
  assert.ok(steps > 0 && steps < 100_000, `stopped after ${steps} steps`);
  const ok = await odeintAsync(decay, x0, linspaceGrid(21, { t1: T }), { method: 'rk4' });
  const sync = rk4(decay, x0, linspaceGrid(21, { t1: T }));
  assert.ok(ok.x.equal(sync.x), 'async and sync give the same result');
  ok.x.dispose(); sync.x.dispose(); x0.dispose();
});

test('bad inputs give clear FlowErrors', () => {
  const x0 = tensor(X0, { dtype: 'float64' });
  const err = (re: RegExp) => (e: unknown) => e instanceof FlowError && re.test((e as Error).message);
  for (const name of flow.SOLVER_NAMES) {
    const s = getSolver(name);
    assert.throws(() => s(decay, x0, [0, 0.5, 0.5, 1]), err(/: grid must be strictly increasing, but grid\[2\] = 0.5 ≤ grid\[1\] = 0.5/));
    assert.throws(() => s(decay, x0, [1, 0]), err(/strictly increasing/));
    assert.throws(() => s(decay, x0, [0]), err(/at least 2 points/));
    assert.throws(() => s(decay, x0, []), err(/at least 2 points/));
    assert.throws(() => s(decay, x0, [0, NaN]), err(/not a finite number/));
    assert.throws(() => s(() => tensor([1, 2], { dtype: 'float64' }), x0, [0, 1]), err(/field returned shape \[2\] for a state of shape \[3\]/));
  }
  assert.throws(() => getSolver('rk45'), err(/unknown solver 'rk45' \(euler, midpoint, heun, heun2, heun3, rk4, rk4_classic, dopri5\)/));
  assert.throws(() => odeint(decay, x0, [0, 1], { method: 'adams' as never }), err(/unknown solver 'adams'/));
  assert.equal(getSolver('heun2'), getSolver('heun'), 'torchdiffeq\'s heun2 is Heun\'s 2nd-order method');
  assert.throws(() => linspaceGrid(1), err(/≥ 2/));
  assert.throws(() => dopri5(decay, x0, [0, 1], { rtol: 0, atol: 0 }), err(/not both 0/));
  assert.throws(() => dopri5(() => x0.mul(NaN), x0, [0, 1]), err(/non-finite/));
  x0.dispose();
});

test('linspaceGrid: exact ends and even spacing', () => {
  assert.deepEqual(linspaceGrid(5), [0, 0.25, 0.5, 0.75, 1]);
  const g = linspaceGrid(40, { t0: 0, t1: 1, dtype: 'float32' });
  assert.equal(g.length, 40);
  assert.equal(g[0], 0);
  assert.equal(g[39], 1);
  for (let i = 1; i < 40; i++) assert.ok(Math.abs(g[i] - g[i - 1] - 1 / 39) < 1e-7);
  for (const v of g) assert.equal(v, Math.fround(v), 'float32 grid values are float32');
});

test('Euler–Maruyama: g = 0 is Euler; constant g on dx = 0 gives variance g²·T', () => {
  const x0 = tensor(X0, { dtype: 'float64' });
  const grid = linspaceGrid(11, { t1: T });
  const a = flow.eulerMaruyama(decay, x0, grid, { diffusion: 0 });
  const b = flow.euler(decay, x0, grid);
  assert.ok(a.x.equal(b.x));
  const zero = tensor(new Float64Array(20000));
  const z = flow.eulerMaruyama((_t, x) => x.mul(0), zero, grid, { diffusion: 0.5, generator: new Generator(1) });
  const v = tidy(() => z.x.var().item());
  assert.ok(Math.abs(v - 0.25 * T) < 0.03, `variance ${v} vs ${0.25 * T}`);
  a.x.dispose(); b.x.dispose(); z.x.dispose(); zero.dispose(); x0.dispose();
});
