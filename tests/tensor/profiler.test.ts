// The op profiler (tensor/profiler.ts over native/src/profiler.cc): forward ops and backward nodes are both
// timed, self times add up to at most the wall time, names map to classes, and it refuses misuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, OpProfile, opClass, profileOps, randn, startOpProfile, stopOpProfile, tidy } from '../../src/tensor/index.js';

test('profileOps times a conv forward and its backward by op, with self times inside the wall time', async () => {
  const { result, profile } = await profileOps(() => tidy(() => {
    const x = randn([2, 8, 16, 16]).requiresGrad_();
    const w = randn([8, 8, 3, 3]).requiresGrad_();
    const y = F.silu(F.groupNorm(F.conv2d(x, w, null, { padding: 1 }), 4));
    y.sum().backward();
    return w.grad!.shape;
  }), 'conv test');
  assert.deepEqual(result, [8, 8, 3, 3]);
  const names = profile.rows.map((r) => r.name);
  assert.ok(names.includes('aten::convolution_backward'), names.join(', '));
  assert.ok(names.some((n) => n.startsWith('backward: ')), 'autograd nodes are recorded apart');
  const cls = new Set(profile.byClass().map((c) => c.cls));
  for (const c of ['conv', 'norm', 'activation', 'outside ops (JS, N-API)']) assert.ok(cls.has(c as never), `class ${c} in ${[...cls].join(', ')}`);
  assert.ok(profile.torchMs > 0 && profile.torchMs <= profile.wallMs * 1.05, `${profile.torchMs} ms in ops of ${profile.wallMs} ms wall`);
  const conv = profile.rows.find((r) => r.name === 'aten::conv2d')!;
  assert.ok(conv.calls >= 1 && conv.totalMs >= conv.selfMs, 'a conv2d call includes the ops it calls');
  const text = profile.format({ top: 5 });
  assert.match(text, /^conv test: .* ms wall/);
  assert.match(text, /conv\s+\d/);
  assert.equal(JSON.parse(JSON.stringify(profile)).label, 'conv test');
});

test('op names map to classes, forward and backward alike', () => {
  const cases: [string, string][] = [
    ['aten::mkldnn_convolution', 'conv'], ['aten::convolution_backward', 'conv'], ['backward: ConvolutionBackward0', 'conv'],
    ['aten::native_group_norm', 'norm'], ['backward: NativeGroupNormBackward0', 'norm'], ['fmboost::group_norm_silu', 'norm'],
    ['aten::silu_', 'activation'], ['backward: SiluBackward0', 'activation'], ['aten::_softmax', 'attention'], ['aten::bmm', 'attention'],
    ['aten::addmm', 'matmul'], ['aten::copy_', 'layout/copy'], ['aten::_to_copy', 'layout/copy'], ['backward: ToCopyBackward0', 'layout/copy'],
    ['aten::upsample_nearest2d', 'resample'], ['aten::lerp_', 'optimizer'], ['aten::addcdiv_', 'optimizer'], ['aten::sum', 'reduction'],
    ['aten::mul', 'elementwise'], ['aten::sqrt', 'elementwise'], ['aten::t', 'layout/copy'], ['aten::weird_new_op', 'other'],
  ];
  for (const [name, cls] of cases) assert.equal(opClass(name), cls, name);
});

test('one profile at a time: a second start and a stop without a start are errors; a throw stops it', async () => {
  startOpProfile();
  try {
    assert.throws(() => startOpProfile(), /already running/);
  } finally {
    assert.ok(stopOpProfile() instanceof OpProfile);
  }
  assert.throws(() => stopOpProfile(), /not running/);
  await assert.rejects(profileOps(() => { throw new Error('boom'); }), /boom/);
  startOpProfile(); // the failed run left it off
  stopOpProfile();
});
