// The autograd API: leaves, backward and accumulation, zeroing, detach, grad-mode scopes,
// inference tensors, and autogradGrad. Expected gradients are closed forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, noGrad, enableGrad, inferenceMode, isGradEnabled, isInferenceMode, autogradGrad, tidy, TorchError } from '../../src/tensor_library.js';

test('requiresGrad_, backward, grad accumulation and zeroing with grad = null', () => tidy(() => {
  const x = tensor([1, 2, 3]).requiresGrad_();
  assert.equal(x.requiresGrad, true);
  assert.equal(x.isLeaf, true);
  assert.equal(x.grad, null, 'no grad before backward');
  const y = x.mul(x).sum();
  assert.equal(y.hasGradFn, true);
  assert.equal(y.isLeaf, false);
  y.backward();
  assert.deepEqual(x.grad!.tolist(), [2, 4, 6], 'd/dx Σx² = 2x');
  x.mul(3).sum().backward();
  assert.deepEqual(x.grad!.tolist(), [5, 7, 9], 'gradients accumulate');
  x.grad = null;
  assert.equal(x.grad, null);
  x.exp().sum().backward();
  (x.grad!.tolist() as number[]).forEach((v, i) => assert.ok(Math.abs(v - Math.exp(i + 1)) < 1e-5, 'fresh grad after zeroing: e^x'));
  x.grad = tensor([0.5, 0.5, 0.5]);
  assert.deepEqual(x.grad!.tolist(), [0.5, 0.5, 0.5], 'grad can be assigned');
  assert.throws(() => { x.grad = tensor([1, 2]); }, (e: Error) => e instanceof TorchError && /setGrad\(float32\[3\], float32\[2\]\)/.test(e.message));
  assert.throws(() => { x.grad = tensor([1, 2, 3], { dtype: 'float64' }); }, TorchError);
  x.requiresGrad_(false);
  assert.equal(x.requiresGrad, false);
}));

test('backward with an explicit gradient, retainGraph, and the errors torch raises', () => tidy(() => {
  const x = tensor([1, 2]).requiresGrad_();
  const y = x.mul(x); // non-scalar
  assert.throws(() => y.backward(), (e: Error) => e instanceof TorchError && /scalar outputs/.test(e.message));
  y.backward(tensor([1, 10]), { retainGraph: true });
  assert.deepEqual(x.grad!.tolist(), [2, 40]);
  y.backward(tensor([1, 0]));
  assert.deepEqual(x.grad!.tolist(), [4, 40]);
  assert.throws(() => y.backward(tensor([1, 0])), /backward through the graph a second time/);
  assert.throws(() => tensor([1, 2]).sum().backward(), /does not require grad/);
  assert.throws(() => tensor([1, 2], { dtype: 'int64' }).requiresGrad_(), /floating point/);
}));

test('detach cuts the graph and shares data', () => tidy(() => {
  const x = tensor([1, 2]).requiresGrad_();
  const d = x.mul(2).detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.hasGradFn, false);
  const y = x.mul(d).sum(); // d is a constant
  y.backward();
  assert.deepEqual(x.grad!.tolist(), [2, 4]);
  const e = x.detach();
  noGrad(() => e.mul_(10));
  assert.deepEqual(x.tolist(), [10, 20], 'detach shares storage');
}));

test('noGrad / enableGrad scopes: results inside noGrad have no grad fn; modes restore', () => tidy(() => {
  const x = tensor([1, 2]).requiresGrad_();
  assert.equal(isGradEnabled(), true);
  const z = noGrad(() => {
    assert.equal(isGradEnabled(), false);
    return x.mul(2);
  });
  assert.equal(isGradEnabled(), true);
  assert.equal(z.requiresGrad, false);
  assert.equal(z.hasGradFn, false);
  const w = noGrad(() => enableGrad(() => x.mul(2)));
  assert.equal(w.hasGradFn, true, 'enableGrad re-enables recording inside noGrad');
  assert.throws(() => noGrad(() => { throw new RangeError('boom'); }), RangeError);
  assert.equal(isGradEnabled(), true, 'mode restored after a throw');
}));

test('inferenceMode: tensors made inside are inference tensors that autograd refuses', () => tidy(() => {
  const x = tensor([1, 2]).requiresGrad_();
  const i = inferenceMode(() => {
    assert.equal(isInferenceMode(), true);
    return x.mul(2);
  });
  assert.equal(isInferenceMode(), false);
  assert.equal(i.isInference, true);
  assert.equal(x.mul(2).isInference, false);
  assert.equal(i.requiresGrad, false);
  assert.equal(i.hasGradFn, false);
  assert.deepEqual(i.tolist(), [2, 4]);
  assert.throws(() => i.requiresGrad_(true), (e: Error) => e instanceof TorchError && /inference tensor/i.test(e.message));
  // Saving an inference tensor for backward is refused (mul saves its operands).
  assert.throws(() => x.mul(i), /[Ii]nference tensors? cannot be saved for backward/);
}));

test('autogradGrad returns gradients without touching .grad, with createGraph for second order', () => tidy(() => {
  const x = tensor([1, 2, 3]).requiresGrad_();
  const [g] = autogradGrad([x.pow(3).sum()], [x]);
  assert.deepEqual(g!.tolist(), [3, 12, 27], '3x²');
  assert.equal(x.grad, null, '.grad untouched');
  const [g1] = autogradGrad([x.pow(3).sum()], [x], { createGraph: true });
  const [g2] = autogradGrad([g1!.sum()], [x]);
  assert.deepEqual(g2!.tolist(), [6, 12, 18], '6x');
  const a = tensor([2]).requiresGrad_(), b = tensor([5]).requiresGrad_();
  const [ga, gb] = autogradGrad([a.mul(b)], [a, b], { gradOutputs: [tensor([10])] });
  assert.deepEqual([ga!.item(), gb!.item()], [50, 20]);
}));
