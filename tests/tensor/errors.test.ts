// Bad input gives a typed error naming the op and its inputs' dtypes/shapes, never a crash;
// the process keeps working afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, zeros, ones, F, Generator, tidy, TorchError, DisposedTensorError, type DType } from '../../src/tensor_library.js';

/** Asserts fn throws `type` whose message contains every fragment, then that a later op still works. */
function rejects(fn: () => unknown, type: new (...a: any[]) => Error, fragments: (string | RegExp)[]): void {
  let caught: unknown;
  try {
    tidy(() => { fn(); });
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  const msg = (caught as Error).message;
  for (const f of fragments) {
    assert.ok(typeof f === 'string' ? msg.includes(f) : f.test(msg), `message lacks ${String(f)}: ${msg}`);
  }
  assert.equal(tidy(() => ones([2]).add(1).sum().item()), 4, 'a later op works');
}

test('wrong shapes: matmul and conv2d', () => {
  rejects(() => zeros([2, 3]).matmul(zeros([4, 5])), TorchError, ['aten::matmul', 'float32[2,3]', 'float32[4,5]', 'cannot be multiplied']);
  rejects(() => F.conv2d(zeros([1, 3, 8, 8]), zeros([4, 2, 3, 3])), TorchError, ['aten::conv2d', 'float32[1,3,8,8]', 'float32[4,2,3,3]', 'channels']);
  rejects(() => F.conv2d(zeros([3, 8]), zeros([4, 3, 3, 3])), TorchError, ['aten::conv2d', 'float32[3,8]']);
  rejects(() => F.conv2d(zeros([1, 3, 2, 2]), zeros([4, 3, 3, 3])), TorchError, ['aten::conv2d', /[Kk]ernel size can't be greater than actual input size/]);
});

test('dtype mismatches: matmul float32 × int64, index_select with a float index', () => {
  const e = (() => { try { zeros([2, 3]).matmul(zeros([3, 2], { dtype: 'int64' })); } catch (err) { return err as TorchError; } })();
  assert.ok(e instanceof TorchError);
  assert.equal(e.op, 'aten::matmul');
  assert.equal(e.inputs, 'float32[2,3], int64[3,2]');
  rejects(() => zeros([2, 3]).matmul(zeros([3, 2], { dtype: 'int64' })), TorchError, ['aten::matmul', 'int64[3,2]', /expected (scalar type|.*dtype)/i]);
  rejects(() => zeros([2, 3]).indexSelect(1, tensor([0, 1])), TorchError, ['aten::index_select', 'float32[2,3]', 'float32[2]', 'int32 or int64']);
  rejects(() => zeros([2], { dtype: 'int64' }).add_(tensor([1.5, 2])), TorchError, ['aten::add_', 'int64[2], float32[2]', /can't be cast/]);
});

test('out-of-range indices: select, narrow, indexSelect', () => {
  rejects(() => zeros([2, 3]).select(1, 3), TorchError, ['aten::select', 'float32[2,3]', 'out of range']);
  rejects(() => zeros([2, 3]).select(2, 0), TorchError, ['aten::select', /out of range|[Dd]imension/]);
  rejects(() => zeros([2, 3]).narrow(1, 2, 2), TorchError, ['aten::narrow', 'float32[2,3]', 'exceeds dimension size']);
  rejects(() => zeros([2, 3]).indexSelect(1, tensor([5], { dtype: 'int64' })), TorchError, ['aten::index_select', 'int64[1]', /out of|bounds|range/i]);
  rejects(() => zeros([2, 3]).size(5), RangeError, ['size(5)']);
});

test('disposed tensors, unknown dtypes, ragged arrays', () => {
  const t = tensor([1, 2]);
  t.dispose();
  rejects(() => t.mul(2), DisposedTensorError, ['aten::mul', '<disposed>']);
  rejects(() => tensor([1, 2]).add(t), DisposedTensorError, ['aten::add', 'float32[2], <disposed>']);
  rejects(() => zeros([2], { dtype: 'float128' as DType }), TypeError, ["unknown dtype 'float128'"]);
  rejects(() => tensor([1]).to('complex32' as DType), TypeError, ["unknown dtype 'complex32'"]);
  rejects(() => tensor([[1, 2], [3, 4, 5]]), TypeError, ['ragged']);
  rejects(() => new Generator(0, 'cuda:7'), TorchError, ['Generator', 'cuda:7']);
});

test('TorchError carries op, inputs and detail separately', () => {
  try {
    zeros([2, 2]).view(3);
    assert.fail('view should throw');
  } catch (e) {
    assert.ok(e instanceof TorchError);
    assert.equal(e.name, 'TorchError');
    assert.equal(e.op, 'aten::view');
    assert.match(e.inputs, /^float32\[2,2\], \[3\]$/);
    assert.match(e.detail, /invalid for input of size 4/);
  }
});

test('handles are type-tagged: a tensor passed as a Generator and a Generator passed as a tensor are TorchErrors naming both kinds', async () => {
  // In a child process with a deadline: before the tags, the first of these deadlocked and the second
  // reinterpreted memory, so a regression must not hang or crash the runner.
  const { spawnSync } = await import('node:child_process');
  const { ROOT } = await import('../helpers.js');
  const index = JSON.stringify(`${ROOT}/dist/src/tensor_library.js`);
  const script = `import * as f from ${index};
const out = [];
const grab = (fn) => { try { fn(); out.push('no error'); } catch (e) { out.push(e.name + ': ' + e.message); } };
grab(() => f.randn([2], { generator: f.ones([2]) }));
grab(() => f.rand([2], { generator: f.ones([2]) }));
grab(() => f.normal(0, 1, [2], { generator: f.ones([2]) }));
grab(() => f.bernoulli(f.full([2], 0.5), f.ones([2])));
grab(() => f.ones([2]).add(new f.Generator(0)));
grab(() => f.ones([2]).mul(new f.Generator(0)));
grab(() => f.cat([f.ones([2]), new f.Generator(0)]));
grab(() => f.F.conv2d(new f.Generator(0), f.ones([1, 1, 1, 1])));
out.push(String(f.ones([2]).add(1).sum().item()));
console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000, encoding: 'utf8', env: { ...process.env, FMBOOST_THREADS: '1' } });
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
  const out: string[] = JSON.parse(r.stdout.trim().split('\n').pop()!);
  for (const line of out.slice(0, 4)) assert.match(line, /^TorchError: .*expected a Generator handle, got a tensor handle/);
  for (const line of out.slice(4, 8)) assert.match(line, /^TorchError: .*expected a tensor handle, got a Generator handle/);
  assert.equal(out[8], '4', 'the process keeps working');
});
