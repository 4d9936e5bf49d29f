// Gradients of conv2d, groupNorm, linear and scaledDotProductAttention against torch goldens
// (scripts/goldens/tensor_grad.py; interpolate gradients live in interpolate.test.ts), and
// float64 autograd against central finite differences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, tidy, noGrad, randn, Generator, type Tensor } from '../../src/tensor_library.js';
import { golden } from '../helpers.js';
import { assertNear, load } from './util.js';

const G = golden<Record<string, any>>('tensor_grad.json');
const RT = 1e-5, AT = 1e-5;

/** Loads the named golden inputs as leaves requiring grad, runs fn, backpropagates sum(y·gy). */
function backprop(g: any, names: string[], fn: (...xs: Tensor[]) => Tensor): Tensor[] {
  const leaves = names.map((n) => load(g[n]).requiresGrad_(true));
  const y = fn(...leaves);
  assertNear(y, g.y, RT, AT, 'forward');
  y.mul(load(g.gy)).sum().backward();
  return leaves;
}

test('conv2d gradients (input, weight, bias) match torch', () => tidy(() => {
  const g = G.conv2d;
  const [x, w, b] = backprop(g, ['x', 'w', 'b'], (x, w, b) => F.conv2d(x, w, b, { stride: g.stride, padding: g.padding, groups: g.groups }));
  assertNear(x.grad!, g.gx, RT, AT, 'conv2d dx');
  assertNear(w.grad!, g.gw, RT, AT, 'conv2d dw');
  assertNear(b.grad!, g.gb, RT, AT, 'conv2d db');
}));

test('groupNorm gradients (input, weight, bias) match torch', () => tidy(() => {
  const g = G.groupNorm;
  const [x, w, b] = backprop(g, ['x', 'w', 'b'], (x, w, b) => F.groupNorm(x, g.groups, w, b));
  assertNear(x.grad!, g.gx, RT, AT, 'groupNorm dx');
  assertNear(w.grad!, g.gw, RT, AT, 'groupNorm dw');
  assertNear(b.grad!, g.gb, RT, AT, 'groupNorm db');
}));

test('linear gradients (input, weight, bias) match torch', () => tidy(() => {
  const g = G.linear;
  const [x, w, b] = backprop(g, ['x', 'w', 'b'], (x, w, b) => F.linear(x, w, b));
  assertNear(x.grad!, g.gx, RT, AT, 'linear dx');
  assertNear(w.grad!, g.gw, RT, AT, 'linear dw');
  assertNear(b.grad!, g.gb, RT, AT, 'linear db');
}));

test('scaledDotProductAttention gradients (q, k, v) with an additive mask and causal match the reference', () => tidy(() => {
  for (const name of ['sdpaMask', 'sdpaCausal']) {
    const g = G[name];
    const mask = g.mask ? load(g.mask) : null;
    const [q, k, v] = backprop(g, ['q', 'k', 'v'], (q, k, v) => F.scaledDotProductAttention(q, k, v, { mask, isCausal: g.causal }));
    assertNear(q.grad!, g.gq, RT, AT, `${name} dq`);
    assertNear(k.grad!, g.gk, RT, AT, `${name} dk`);
    assertNear(v.grad!, g.gv, RT, AT, `${name} dv`);
  }
}));

/** Central differences of sum(f(inputs)·gy) with respect to every element of inputs[which] (float64). */
function finiteDiff(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], which: number, gy: Tensor, h = 1e-6): Float64Array {
  return noGrad(() => tidy(() => {
    const base = inputs[which];
    const flat = base.data() as Float64Array;
    const out = new Float64Array(flat.length);
    const objective = (vals: Float64Array) => tidy(() => {
      const xs = inputs.slice();
      xs[which] = load({ shape: base.shape, dtype: 'float64', data: Array.from(vals) });
      return f(...xs).mul(gy).sum().item();
    });
    for (let i = 0; i < flat.length; i++) {
      const p = flat.slice(), m = flat.slice();
      p[i] += h; m[i] -= h;
      out[i] = (objective(p) - objective(m)) / (2 * h);
    }
    return out;
  }));
}

function checkFD(name: string, f: (...xs: Tensor[]) => Tensor, shapes: number[][], seed: number): void {
  tidy(() => {
    const gen = new Generator(seed);
    const inputs = shapes.map((s) => randn(s, { dtype: 'float64', generator: gen }).requiresGrad_(true));
    const y = f(...inputs);
    const gy = randn(y.shape, { dtype: 'float64', generator: gen });
    y.mul(gy).sum().backward();
    inputs.forEach((x, i) => {
      const fd = finiteDiff(f, inputs.map((t) => t.detach()), i, gy);
      const an = x.grad!.data() as Float64Array;
      for (let j = 0; j < fd.length; j++) {
        assert.ok(Math.abs(an[j] - fd[j]) <= 1e-6 + 1e-6 * Math.abs(fd[j]), `${name} input ${i}[${j}]: autograd ${an[j]} vs finite difference ${fd[j]}`);
      }
    });
  });
}

test('float64 autograd equals central finite differences: conv2d, groupNorm, attention, bicubic interpolate', () => {
  checkFD('conv2d', (x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1 }), [[1, 2, 4, 4], [3, 2, 3, 3], [3]], 1);
  checkFD('groupNorm', (x, w, b) => F.groupNorm(x, 2, w, b), [[2, 4, 2, 3], [4], [4]], 2);
  checkFD('attention', (q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true }), [[1, 3, 4], [1, 3, 4], [1, 3, 2]], 3);
  checkFD('bicubic', (x) => F.interpolate(x, { size: [5, 3], mode: 'bicubic', antialias: true }), [[1, 1, 3, 4]], 4);
});
