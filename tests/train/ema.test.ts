import test from 'node:test';
import assert from 'node:assert/strict';
import { tensor, noGrad, nn, liveTensors } from '../../src/tensor_library.js';
import { EMA, emaDecay, EmaError } from '../../src/train/ema.js';
import { golden, maxAbsDiff } from '../helpers.js';

// A one-parameter-per-layer model whose weights the test sets by hand.
function model() {
  return new nn.Linear({ inFeatures: 2, outFeatures: 1 });
}
function setAll(m: nn.Linear, v: number) {
  noGrad(() => {
    m.weight.copy_(tensor([[v, v]]));
    m.bias!.copy_(tensor([v]));
  });
}

test('decay schedule: d = 1 − (1 + e)^(−3/4), e = step − after − 1, clamped to max', () => {
  const o = { updateAfterStep: 3, power: 0.75, maxDecay: 0.999 };
  assert.equal(emaDecay(4, o), 0); // e = 0
  assert.ok(Math.abs(emaDecay(5, o) - (1 - Math.pow(2, -0.75))) < 1e-7);
  assert.ok(Math.abs(emaDecay(14, o) - (1 - Math.pow(11, -0.75))) < 1e-7);
  assert.equal(emaDecay(1e9, o), Math.fround(0.999)); // clamped at max decay (float32, as the reference's tensor)
});

test('EMA follows the reference rule step by step (hand-computed sequence)', () => {
  const online = model();
  const after = 2;
  const ema = new EMA(online, { updateAfterStep: after, updateEvery: 1, power: 0.75, maxDecay: 0.999 });
  // Online weights at each update: 1, 2, 3, ... ; expected EMA computed here in plain numbers.
  let want = NaN;
  for (let s = 0; s < 8; s++) {
    const v = s + 1;
    setAll(online, v);
    const did = ema.update();
    if (s <= after) {
      want = v; // copy phase
      assert.equal(did, 'copy');
    } else {
      if (s === after + 1) want = v; // first lerp: the reference copies first (its `initted` flag)
      const e = s + 1 - after - 1; // decay is evaluated after the counter increment
      const d = 1 - Math.pow(1 + e, -0.75);
      want = want + (1 - d) * (v - want); // lerp(ema, online, 1 − d)
      assert.equal(did, 'lerp');
    }
    for (const t of ema.averaged().values()) for (const x of t.toFloat32Array()) assert.ok(Math.abs(x - want) < 1e-5, `step ${s}: ${x} vs ${want}`);
  }
  assert.equal(ema.step, 8);
  ema.dispose();
  online.dispose();
});

test('updateEvery skips calls; first lerp after warmup is preceded by a copy (initted)', () => {
  const online = model();
  // after = 3, every = 2: acting calls s = 0, 2 (copy), 4 (copy then lerp), 6 (lerp).
  const ema = new EMA(online, { updateAfterStep: 3, updateEvery: 2, power: 0.75, maxDecay: 0.999 });
  const acts: string[] = [];
  const vals: number[] = [];
  for (let s = 0; s < 7; s++) {
    setAll(online, 10 * (s + 1));
    acts.push(ema.update());
    vals.push(ema.averaged().get('bias')!.item());
  }
  assert.deepEqual(acts, ['copy', 'skip', 'copy', 'skip', 'lerp', 'skip', 'lerp']);
  assert.equal(vals[0], 10);
  assert.equal(vals[1], 10);
  assert.equal(vals[2], 30);
  // s = 4: copy (initted) then lerp with e = 5 − 3 − 1 = 1 → the copy makes the lerp a no-op: 50.
  assert.ok(Math.abs(vals[4] - 50) < 1e-5);
  // s = 6: e = 3, d = 1 − 4^(−3/4); ema = 50 + (1 − d)(70 − 50)
  const d = 1 - Math.pow(4, -0.75);
  assert.ok(Math.abs(vals[6] - (50 + (1 - d) * 20)) < 1e-4, `${vals[6]}`);
  ema.dispose();
  online.dispose();
});

test('EMA into a shadow module, state save/restore reproduces the continuation', () => {
  const online = model();
  const shadow = model();
  const a = new EMA(online, { updateAfterStep: 1, updateEvery: 1, power: 0.75, maxDecay: 0.999, shadow });
  for (let s = 0; s < 4; s++) { setAll(online, s * s); a.update(); }
  const st = a.state();
  const saved = new Map([...a.averaged()].map(([k, t]) => [k, t.clone()]));
  // shadow module holds the averaged weights
  assert.equal(shadow.bias!.item(), a.averaged().get('bias')!.item());

  const b = new EMA(online, { updateAfterStep: 1, updateEvery: 1, power: 0.75, maxDecay: 0.999 });
  b.loadState(st, saved);
  setAll(online, 100);
  a.update();
  b.update();
  assert.equal(b.step, a.step);
  assert.ok(Math.abs(a.averaged().get('weight')!.toFloat32Array()[0] - b.averaged().get('weight')!.toFloat32Array()[0]) < 1e-6);
  assert.throws(() => b.loadState(st, new Map([['weight', saved.get('weight')!]])), (e: Error) => e instanceof EmaError && /missing tensor "bias"/.test(e.message));
  for (const t of saved.values()) t.dispose();
  b.dispose();
  online.dispose();
  shadow.dispose();
});

test('EMA rejects a shadow module that does not match', () => {
  const online = model();
  const wrong = new nn.Linear({ inFeatures: 3, outFeatures: 1 });
  assert.throws(() => new EMA(online, { shadow: wrong }), /shadow parameter "weight" has shape \[1, 3\], online has \[1, 2\]/);
  online.dispose();
  wrong.dispose();
});

test('EMA updates do not leak tensors', () => {
  const online = model();
  const ema = new EMA(online, { updateAfterStep: 0, updateEvery: 1 });
  ema.update();
  const before = liveTensors();
  for (let i = 0; i < 20; i++) ema.update();
  assert.equal(liveTensors(), before);
  ema.dispose();
  online.dispose();
});

test('EMA equals the reference rule run in PyTorch, step for step (golden, float32)', () => {
  const g = golden('train_ema.json');
  const online = new nn.Linear({ inFeatures: 3, outFeatures: 2 });
  const ema = new EMA(online, { maxDecay: g.beta, updateAfterStep: g.update_after_step, updateEvery: g.update_every, power: g.power });
  let worst = 0;
  for (const [s, r] of (g.steps as { action: string; weight: number[]; bias: number[]; online_weight: number[]; online_bias: number[] }[]).entries()) {
    noGrad(() => {
      online.weight.copy_(tensor(r.online_weight).reshape([2, 3]));
      online.bias!.copy_(tensor(r.online_bias));
    });
    assert.equal(ema.update(), r.action, `call ${s}`);
    const avg = ema.averaged();
    worst = Math.max(worst, maxAbsDiff(avg.get('weight')!, r.weight), maxAbsDiff(avg.get('bias')!, r.bias));
  }
  // Same float32 decay and lerp as torch: identical up to at most one float32 rounding step.
  assert.ok(worst <= 1e-7, `max |Δ| = ${worst}`);
  if (process.env.FMBOOST_VERBOSE) console.log(`EMA vs torch: max abs diff ${worst}`);
  ema.dispose();
  online.dispose();
});
