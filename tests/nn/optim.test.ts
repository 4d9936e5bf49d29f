// Adam / AdamW against torch.optim trajectories (scripts/goldens/nn_optim.py), checkpoint round trips
// through a safetensors file, learning-rate setting, validation errors and clip_grad_norm_.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, tensor, tidy, liveTensors, readSafetensors, writeSafetensors, nn } from '../../src/tensor_library.js';
import { Adam, AdamW, clipGradNorm, gradNorm } from '../../src/nn/index.js';
import { OptimizerStateError, type AdamConfig, type OptimizerMeta, type ParamsInput } from '../../src/nn/optim/index.js';
import { assertClose, fromGolden, golden } from '../helpers.js';

const G = golden<any>('nn_optim.json');
const RTOL = 1e-6, ATOL = 1e-7;

/** torch kwargs (snake_case) → our config. */
function config(kw: Record<string, any>): Partial<AdamConfig> {
  const c: Partial<AdamConfig> = {};
  if ('lr' in kw) c.lr = kw.lr;
  if ('betas' in kw) c.betas = kw.betas;
  if ('eps' in kw) c.eps = kw.eps;
  if ('weight_decay' in kw) c.weightDecay = kw.weight_decay;
  if ('amsgrad' in kw) c.amsgrad = kw.amsgrad;
  if ('maximize' in kw) c.maximize = kw.maximize;
  return c;
}

interface Problem { w: Tensor; b: Tensor; x: Tensor; y: Tensor; dispose(): void }
function problem(): Problem {
  const w = fromGolden(G.w0).requiresGrad_(true), b = fromGolden(G.b0).requiresGrad_(true);
  const x = fromGolden(G.x), y = fromGolden(G.y);
  return { w, b, x, y, dispose: () => [w, b, x, y].forEach((t) => t.dispose()) };
}

function makeOpt(c: any, w: Tensor, b: Tensor, overrides: Partial<AdamConfig> = {}) {
  const Cls = c.optimizer === 'AdamW' ? AdamW : Adam;
  const params: ParamsInput<AdamConfig> = c.grouping === 'flat' ? [w, b] : [{ params: [w] }, { params: [b], lr: 0.02, weightDecay: 0 }];
  return new Cls(params, { ...config(c.kwargs), ...overrides });
}

/** One step of the golden's loss: (tanh(x@w + b) − y)².mean() + 0.01·Σw⁴, times sign. */
function step(p: Problem, opt: Adam, sign: number): number {
  opt.zeroGrad();
  const loss = tidy(() => {
    const l = p.x.matmul(p.w).add(p.b).tanh().sub(p.y).pow(2).mean().add(p.w.pow(4).sum().mul(0.01)).mul(sign);
    l.backward();
    return l.item();
  });
  opt.step();
  return loss;
}

for (const [name, c] of Object.entries<any>(G.cases)) {
  test(`${c.optimizer} ${name}: ${G.steps}-step trajectory equals torch.optim (${JSON.stringify(c.kwargs)})`, () => {
    const p = problem();
    const opt = makeOpt(c, p.w, p.b);
    c.trajectory.forEach((t: any, i: number) => {
      const loss = step(p, opt, c.sign);
      assertClose([loss], [t.loss], { rtol: RTOL, atol: ATOL, msg: `${name} loss at step ${i + 1}` });
      assertClose(p.w, t.w, { rtol: RTOL, atol: ATOL, msg: `${name} w after step ${i + 1}` });
      assertClose(p.b, t.b, { rtol: RTOL, atol: ATOL, msg: `${name} b after step ${i + 1}` });
    });
    // the state dict holds torch's state under torch's numbering
    const sd = opt.stateDict();
    const expectedKeys = Object.entries<any>(c.state).flatMap(([i, s]) => Object.keys(s).filter((k) => k !== 'step').map((k) => `state.${i}.${k}`));
    assert.deepEqual([...sd.tensors.keys()].sort(), expectedKeys.sort());
    for (const [i, s] of Object.entries<any>(c.state)) {
      assert.equal(sd.meta.state[i].step, s.step);
      for (const [k, v] of Object.entries<any>(s)) if (k !== 'step') assertClose(sd.tensors.get(`state.${i}.${k}`)!, v, { rtol: RTOL, atol: 1e-9, msg: `state.${i}.${k}` });
    }
    c.param_groups.forEach((g: any, gi: number) => {
      const ours = sd.meta.param_groups[gi];
      assert.deepEqual(ours.params, g.params);
      assert.equal(ours.lr, g.lr); assert.deepEqual(ours.betas, g.betas); assert.equal(ours.eps, g.eps);
      assert.equal(ours.weightDecay, g.weight_decay); assert.equal(ours.amsgrad, g.amsgrad); assert.equal(ours.maximize, g.maximize);
    });
    opt.dispose();
    p.dispose();
  });
}

test('save state to safetensors → new optimizer → load → continue equals the uninterrupted trajectory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-optim-'));
  try {
    for (const name of ['adam_amsgrad', 'adamw_amsgrad_groups']) {
      const c = G.cases[name];
      const half = c.trajectory.length / 2;
      const p = problem();
      const opt = makeOpt(c, p.w, p.b);
      for (let i = 0; i < half; i++) step(p, opt, c.sign);
      // checkpoint: parameters and optimizer tensors into one file, the JSON rest as metadata
      const sd = opt.stateDict();
      const file = join(dir, `${name}.safetensors`);
      const all = new Map<string, Tensor>([['w', p.w], ['b', p.b], ...[...sd.tensors].map(([k, t]) => [`optimizer.${k}`, t] as [string, Tensor])]);
      writeSafetensors(file, all, { optimizer: JSON.stringify(sd.meta) });
      opt.dispose();
      p.dispose();

      // a fresh process's view: new tensors, an optimizer built with other hyper-parameters
      const { tensors, metadata } = readSafetensors(file);
      const q = { w: tensors.get('w')!.requiresGrad_(true), b: tensors.get('b')!.requiresGrad_(true), x: fromGolden(G.x), y: fromGolden(G.y), dispose() { for (const t of tensors.values()) t.dispose(); this.x.dispose(); this.y.dispose(); } };
      const opt2 = makeOpt(c, q.w, q.b, { lr: 1, betas: [0.5, 0.5] });
      const optTensors = new Map([...tensors].filter(([k]) => k.startsWith('optimizer.')).map(([k, t]) => [k.slice('optimizer.'.length), t]));
      opt2.loadStateDict({ tensors: optTensors, meta: JSON.parse(metadata.optimizer) as OptimizerMeta });
      assert.equal(opt2.paramGroups[0].lr, c.kwargs.lr, 'lr restored from the checkpoint');
      assert.deepEqual(opt2.paramGroups[0].betas, c.kwargs.betas ?? [0.9, 0.999], 'betas restored');
      assert.equal(opt2.stepCount, half);
      for (let i = half; i < c.trajectory.length; i++) {
        step(q, opt2, c.sign);
        assertClose(q.w, c.trajectory[i].w, { rtol: RTOL, atol: ATOL, msg: `${name} resumed w after step ${i + 1}` });
        assertClose(q.b, c.trajectory[i].b, { rtol: RTOL, atol: ATOL, msg: `${name} resumed b after step ${i + 1}` });
      }
      // …and bit-for-bit equal to our own uninterrupted run
      const r = problem();
      const opt3 = makeOpt(c, r.w, r.b);
      for (let i = 0; i < c.trajectory.length; i++) step(r, opt3, c.sign);
      assert.equal(r.w.equal(q.w) && r.b.equal(q.b), true, `${name}: resumed run differs from the uninterrupted one`);
      [opt2, opt3].forEach((o) => o.dispose());
      q.dispose();
      r.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadStateDict rejects state that does not fit, naming the key, and leaves the optimizer unchanged', () => {
  const c = G.cases.adam_amsgrad;
  const p = problem();
  const opt = makeOpt(c, p.w, p.b);
  for (let i = 0; i < 3; i++) step(p, opt, 1);
  const sd = opt.stateDict();
  const other = new AdamW([tensor([1, 2, 3]).requiresGrad_(true)]);
  const check = (mutate: (t: Map<string, Tensor>, m: any) => void, pattern: RegExp, target: Adam = opt) => {
    const tensors = new Map(sd.tensors);
    const meta = JSON.parse(JSON.stringify(sd.meta));
    mutate(tensors, meta);
    assert.throws(() => target.loadStateDict({ tensors, meta }), (e: unknown) => e instanceof OptimizerStateError && pattern.test((e as Error).message));
  };
  const wrong = tensor([[1, 2], [3, 4]]);
  check((t) => t.set('state.0.exp_avg', wrong), /state\.0\.exp_avg has shape \[2, 2\], parameter has \[3, 4\]/);
  check((t) => t.delete('state.1.exp_avg_sq'), /missing tensor state\.1\.exp_avg_sq/);
  check((t) => t.set('state.0.momentum', wrong), /unexpected tensor key state\.0\.momentum/);
  check((t) => t.set('state.7.exp_avg', wrong), /unexpected tensor key state\.7\.exp_avg/);
  check((_, m) => m.param_groups.push({ ...m.param_groups[0], params: [2] }), /2 param groups, optimizer has 1/);
  check((_, m) => { m.param_groups[0].params = [0]; }, /param group 0 has 1 params in the state dict, 2 in the optimizer/);
  check((_, m) => { m.param_groups[0].lr = -1; }, /invalid lr -1/);
  check(() => {}, /state dict is for Adam, not AdamW/, other);
  // still working, with its own state
  const before = p.w.clone();
  assert.equal(opt.stepCount, 3);
  step(p, opt, 1);
  assertClose(p.w, c.trajectory[3].w, { rtol: RTOL, atol: ATOL, msg: 'continues after rejected loads' });
  [before, wrong].forEach((t) => t.dispose());
  other.dispose(); opt.dispose(); p.dispose();
});

test('setLr changes the step size per group (first Adam step moves each element by lr·g/(|g|+eps))', () => tidy(() => {
  const a = tensor([1, -2, 3]).requiresGrad_(true), b = tensor([0.5, 0.25]).requiresGrad_(true);
  const opt = new Adam([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1, eps: 0.5 });
  assert.deepEqual(opt.paramGroups.map((g) => g.lr), [0.1, 0.5]);
  opt.setLr([0.3, 0.7]);
  assert.equal(opt.lr, 0.3);
  a.grad = tensor([2, -1, 0.5]); b.grad = tensor([1, -4]);
  opt.step();
  // closed form: m̂ = g, v̂ = g², update = −lr·g/(|g| + eps)
  assertClose(a, [1 - 0.3 * 2 / 2.5, -2 + 0.3 * 1 / 1.5, 3 - 0.3 * 0.5 / 1.0], { rtol: 1e-6, atol: 1e-7 });
  assertClose(b, [0.5 - 0.7 * 1 / 1.5, 0.25 + 0.7 * 4 / 4.5], { rtol: 1e-6, atol: 1e-7 });
  opt.setLr((g, i) => (i === 0 ? 0 : g.lr));
  const a1 = a.clone();
  opt.step();
  assert.equal(a.equal(a1), true, 'lr 0 leaves the parameter unchanged');
  assert.throws(() => opt.setLr(-1), /invalid lr -1 for param group 0/);
  opt.dispose();
}));

test('optimizer construction validates its inputs; zeroGrad drops or zeroes gradients', () => tidy(() => {
  const a = tensor([1, 2]).requiresGrad_(true);
  assert.throws(() => new Adam([]), /empty parameter list/);
  assert.throws(() => new Adam([a, a]), /appears more than once/);
  assert.throws(() => new Adam([a], { lr: -0.1 }), /invalid lr -0.1/);
  assert.throws(() => new Adam([a], { betas: [1, 0.9] }), /invalid beta1/);
  assert.throws(() => new Adam([a], { betas: [0.9, -0.1] }), /invalid beta2/);
  assert.throws(() => new AdamW([a], { eps: -1 }), /invalid eps/);
  assert.throws(() => new Adam([a], { weightDecay: -1 }), /invalid weightDecay/);
  assert.equal(new AdamW([a]).paramGroups[0].weightDecay, 0.01, 'AdamW default weight decay is torch\'s');
  const grouped = new Adam([a], { lr: 0.2, eps: 1e-3 });
  const c = tensor([5]).requiresGrad_(true);
  grouped.addParamGroup({ params: [c], lr: 0.4 });
  assert.deepEqual(grouped.paramGroups.map((g) => [g.lr, g.eps]), [[0.2, 1e-3], [0.4, 1e-3]], 'added group takes the defaults');
  assert.throws(() => grouped.addParamGroup({ params: [a] }), /appears more than once \(param group 2\)/);
  assert.throws(() => grouped.addParamGroup({ params: [], lr: 1 }), /param group 2 has no parameters/);
  const opt = new Adam([a]);
  a.grad = tensor([3, 4]);
  opt.zeroGrad(false);
  assert.deepEqual(a.grad!.tolist(), [0, 0]);
  opt.zeroGrad();
  assert.equal(a.grad, null);
  opt.step(); // no gradient: no state, no change
  assert.deepEqual(a.tolist(), [1, 2]);
  assert.equal(opt.stateDict().tensors.size, 0);
}));

test('optimizer step frees its temporaries', () => {
  const p = problem();
  const opt = new AdamW([p.w, p.b], { amsgrad: true, weightDecay: 0.1 });
  step(p, opt, 1);
  const n = liveTensors();
  for (let i = 0; i < 20; i++) step(p, opt, 1);
  assert.equal(liveTensors(), n);
  opt.dispose();
  assert.equal(liveTensors(), n - 6, 'dispose frees the 3 state tensors of each of the 2 parameters');
  p.dispose();
});

test('clipGradNorm and gradNorm equal torch.nn.utils.clip_grad_norm_', () => tidy(() => {
  for (const c of G.clip.cases) {
    const ps = G.clip.grads.map((g: any) => { const p = tensor(new Float32Array(g.data.length), { shape: g.shape }).requiresGrad_(true); p.grad = fromGolden(g); return p; });
    const normType = c.norm_type === 'inf' ? Infinity : c.norm_type;
    const total0 = gradNorm(ps, normType);
    const total = clipGradNorm(ps, c.max_norm, normType);
    assertClose([total0], [c.total], { rtol: 1e-6, atol: 0, msg: `gradNorm ${c.norm_type}` });
    assertClose([total], [c.total], { rtol: 1e-6, atol: 0, msg: `total norm ${c.norm_type}` });
    ps.forEach((p: Tensor, i: number) => assertClose(p.grad!, c.clipped[i], { rtol: 1e-6, atol: 1e-9, msg: `clipped grad ${i} (max ${c.max_norm}, norm ${c.norm_type})` }));
    const after = gradNorm(ps, normType);
    if (c.total > c.max_norm) assertClose([after], [c.max_norm], { rtol: 1e-5, atol: 0, msg: 'norm after clipping is max_norm' });
  }
  const bare = tensor([1, 2]).requiresGrad_(true);
  assert.equal(clipGradNorm([bare], 1), 0, 'no gradients: total norm 0');
  bare.grad = tensor([NaN, 1]);
  assert.throws(() => clipGradNorm([bare], 1, 2, { errorIfNonfinite: true }), /non-finite/);
  assert.throws(() => clipGradNorm([bare], 1, -2), /invalid normType -2/);
}));

test('optim is exported from nn', () => {
  assert.equal(nn.optim.Adam, Adam);
  assert.equal(nn.AdamW, AdamW);
  assert.equal(typeof nn.clipGradNorm, 'function');
});
