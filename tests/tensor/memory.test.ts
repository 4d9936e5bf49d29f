// Deterministic memory: tidy frees intermediates and keeps what it returns, nested scopes hand
// results outward, keep() exempts, Scope covers async code, dispose is idempotent.
// Every tensor in this file is disposed, so the live count only moves by what each test does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { tensor, ones, tidy, keep, dispose, Scope, liveTensors, liveBytes, DisposedTensorError, type Tensor } from '../../src/tensor_library.js';

test('tidy disposes intermediates and keeps the returned tensor', () => {
  const before = liveTensors();
  const out = tidy(() => {
    const a = ones([100]);
    const b = a.mul(2);
    const c = b.add(1);
    assert.equal(liveTensors(), before + 3);
    return c.sum();
  });
  assert.equal(liveTensors(), before + 1, 'only the result survives');
  assert.equal(out.item(), 300);
  out.dispose();
  assert.equal(liveTensors(), before);
});

test('tidy keeps tensors nested in returned arrays / objects / Maps', () => {
  const before = liveTensors();
  const r = tidy(() => {
    const a = ones([2]), b = ones([3]), c = ones([4]);
    ones([5]); // dropped
    return { list: [a], nested: { b }, map: new Map([['c', c]]), n: 1 };
  });
  assert.equal(liveTensors(), before + 3);
  assert.equal(r.map.get('c')!.numel, 4);
  dispose(r);
  assert.equal(liveTensors(), before);
});

test('nested tidy: the inner result joins the outer scope and is freed there unless returned', () => {
  const before = liveTensors();
  let inner: Tensor | undefined;
  const outer = tidy(() => {
    inner = tidy(() => ones([3]).mul(3));
    assert.equal(liveTensors(), before + 1, 'inner intermediates gone, its result alive');
    const other = tidy(() => ones([3]).add(1));
    return other;
  });
  assert.equal(inner!.isDisposed, true, 'not returned by the outer scope');
  assert.equal(outer.isDisposed, false);
  assert.equal(liveTensors(), before + 1);
  outer.dispose();
  assert.equal(liveTensors(), before);
});

test('keep() exempts a tensor from every open scope', () => {
  const before = liveTensors();
  let kept: Tensor | undefined;
  tidy(() => tidy(() => {
    kept = keep(ones([2]).mul(5));
  }));
  assert.equal(kept!.isDisposed, false);
  assert.deepEqual(kept!.tolist(), [5, 5]);
  assert.equal(liveTensors(), before + 1);
  kept!.dispose();
  assert.equal(liveTensors(), before);
});

test('a throwing tidy still frees its tensors; tidy rejects async functions', () => {
  const before = liveTensors();
  assert.throws(() => tidy(() => {
    ones([4]).mul(2);
    throw new Error('inside');
  }), /inside/);
  assert.equal(liveTensors(), before);
  assert.throws(() => tidy((async () => ones([2])) as never), (e: Error) => e instanceof TypeError && /synchronous/.test(e.message));
  assert.equal(liveTensors(), before, 'the async fn ran synchronously up to its first await; what it made is freed');
  assert.throws(() => tidy(42 as never), TypeError);
});

test('Scope spans awaits: what is not passed to close() is freed', async () => {
  const before = liveTensors();
  const scope = new Scope();
  const a = scope.run(() => ones([8]));
  await sleep(1);
  const b = scope.run(() => a.mul(2).add(1));
  await sleep(1);
  assert.equal(liveTensors(), before + 3);
  scope.close(b);
  assert.equal(a.isDisposed, true);
  assert.equal(b.isDisposed, false);
  assert.equal(b.sum().item(), 24);
  assert.equal(liveTensors(), before + 2, 'b plus the unscoped sum');
  // The scope can be reused after close.
  const c = scope.run(() => ones([1]));
  scope.close();
  assert.equal(c.isDisposed, true);
  dispose([b]);
});

test('dispose is idempotent; live bytes fall; using a disposed tensor throws DisposedTensorError', () => {
  const before = liveTensors(), bytesBefore = liveBytes();
  const t = tensor(new Float32Array(1000));
  assert.equal(liveTensors(), before + 1);
  assert.ok(liveBytes() >= bytesBefore + 4000, 'live bytes count the storage');
  t.dispose();
  t.dispose();
  assert.equal(liveTensors(), before, 'the second dispose is a no-op');
  assert.equal(t.isDisposed, true);
  assert.throws(() => t.add(1), (e: Error) => e instanceof DisposedTensorError && /aten::add/.test(e.message) && /disposed/.test(e.message));
  assert.throws(() => t.shape, DisposedTensorError);
  assert.throws(() => t.data(), DisposedTensorError);
  const u = tensor([1]);
  assert.throws(() => tidy(() => u.matmul(t)), (e: Error) => e instanceof DisposedTensorError && /aten::matmul\(float32\[1\], <disposed>\)/.test(e.message));
  assert.equal(u.add(1).item(), 2, 'still working');
  dispose(u);
});

test('a training-like loop in tidy does not grow the live count', () => {
  const w = ones([16, 16]).requiresGrad_();
  const before = liveTensors();
  for (let i = 0; i < 50; i++) {
    tidy(() => {
      const loss = w.matmul(ones([16, 4])).tanh().square().mean();
      loss.backward();
      w.grad = null;
    });
  }
  assert.equal(liveTensors(), before);
  w.dispose();
});
