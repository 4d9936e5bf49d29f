// F.interpolate against torch 1.13 goldens (scripts/goldens/tensor_interpolate.py): every mode,
// antialias on/off, alignCorners on/off, by size and by scale factor, and input gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, tidy, tensor, type Tensor } from '../../src/tensor_library.js';
import { golden } from '../helpers.js';
import { assertNear, load, type GT } from './util.js';

interface Case { mode: F.InterpMode; antialias: boolean; alignCorners: boolean | null; size?: [number, number]; scale?: number; y: GT }
const G = golden<{ x: GT; cases: Case[]; grads: (Case & { gy: GT; gx: GT })[] }>('tensor_interpolate.json');

function opts(c: Case): F.InterpolateOptions {
  return {
    mode: c.mode,
    ...(c.antialias ? { antialias: true } : {}),
    ...(c.alignCorners === null ? {} : { alignCorners: c.alignCorners }),
    ...(c.size ? { size: c.size } : { scaleFactor: c.scale }),
  };
}
const label = (c: Case) => `${c.mode} aa=${c.antialias} ac=${c.alignCorners} ${c.size ? `size=${c.size}` : `scale=${c.scale}`}`;

test('interpolate forward matches torch for every mode / antialias / alignCorners / size|scale', () => tidy(() => {
  const x = load(G.x);
  assert.equal(G.cases.length, 36);
  for (const c of G.cases) assertNear(F.interpolate(x, opts(c)), c.y, 1e-5, 1e-6, label(c));
}));

test('interpolate input gradients (bilinear, bicubic, antialias) match torch', () => tidy(() => {
  for (const c of G.grads) {
    const x = load(G.x).requiresGrad_(true);
    const y = F.interpolate(x, opts(c));
    y.mul(load(c.gy)).sum().backward();
    assertNear(x.grad!, c.gx, 1e-5, 1e-5, `grad ${label(c)}`);
  }
}));

test('nearest upsampling by 2 repeats each pixel (closed form)', () => tidy(() => {
  const x = tensor([[[[1, 2], [3, 4]]]]);
  assert.deepEqual(F.interpolate(x, { scaleFactor: 2 }).tolist(), [[[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]]);
  // Bilinear with alignCorners keeps the corners and puts the midpoint mean in the centre.
  const y = F.interpolate(x, { size: 3, mode: 'bilinear', alignCorners: true }) as Tensor;
  assert.deepEqual(y.tolist(), [[[[1, 1.5, 2], [2, 2.5, 3], [3, 3.5, 4]]]]);
}));

test('interpolate rejects invalid option combinations with typed errors', () => tidy(() => {
  const x = tensor([[[[1, 2], [3, 4]]]]);
  assert.throws(() => F.interpolate(x, { mode: 'nearest', alignCorners: true, size: 3 }), TypeError);
  assert.throws(() => F.interpolate(x, { mode: 'nearest', antialias: true, size: 3 }), TypeError);
  assert.throws(() => F.interpolate(x, { mode: 'bilinear' }), TypeError);
  assert.throws(() => F.interpolate(x, { mode: 'bilinear', size: 3, scaleFactor: 2 }), TypeError);
  assert.throws(() => F.interpolate(tensor([1, 2]), { size: 3 }), RangeError);
}));
