// channels_last (issue 14): Module.toMemoryFormat puts 4-D weights in NHWC strides; with them, every conv of the
// UNet and the VAE must see a channels_last input (no silent layout flip between ops, each of which would cost a
// reorder), and the result must equal the NCHW one up to kernel rounding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randn, full, noGrad, tidy, liveTensors, nn, type Tensor } from '../../src/tensor_library.js';
import { models } from '../../src/index.js';

/** Runs fn with every nn.Conv2d forward recorded: how many inputs were / were not channels_last. */
function countConvLayouts(fn: () => void): { cl: number; other: string[] } {
  const proto = nn.Conv2d.prototype;
  const orig = proto.forward;
  const seen = { cl: 0, other: [] as string[] };
  proto.forward = function (this: InstanceType<typeof nn.Conv2d>, x: Tensor) {
    if (x.isContiguous('channels_last')) seen.cl++;
    else seen.other.push(`[${x.shape.join(', ')}] strides [${x.strides.join(', ')}]`);
    return orig.call(this, x);
  };
  try { fn(); } finally { proto.forward = orig; }
  return seen;
}

test('Tensor.contiguous / isContiguous: channels_last strides, shape unchanged, values equal', () => tidy(() => {
  const x = randn([2, 3, 4, 5]);
  assert.ok(x.isContiguous() && !x.isContiguous('channels_last'));
  const y = x.contiguous('channels_last');
  assert.deepEqual(y.shape, [2, 3, 4, 5]);
  assert.deepEqual(y.strides, [60, 1, 15, 3]);
  assert.ok(y.isContiguous('channels_last') && !y.isContiguous());
  assert.ok(y.equal(x));
  assert.deepEqual(y.contiguous().strides, [60, 20, 5, 1]);
  assert.equal(randn([3, 4]).isContiguous('channels_last'), false, 'not 4-D');
}));

test('toMemoryFormat: 4-D parameters become channels_last, others stay, names and values kept, nothing leaks', () => {
  const before = liveTensors();
  const conv = new nn.Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3 });
  const w0 = conv.weight.clone();
  conv.toMemoryFormat('channels_last');
  assert.ok(conv.weight.isContiguous('channels_last'));
  assert.ok(conv.weight.equal(w0));
  assert.equal(conv.stateDict().get('weight'), conv.weight);
  assert.equal(conv.bias!.ndim, 1);
  conv.toMemoryFormat('contiguous');
  assert.ok(conv.weight.isContiguous());
  // Module.to builds its tensors the same way: a dtype round trip keeps the count too
  const n = liveTensors();
  conv.to('float64').to('float32');
  assert.equal(conv.weight.dtype, 'float32');
  assert.equal(liveTensors(), n, 'Module.to leaves no tensor behind');
  w0.dispose();
  conv.dispose();
  assert.equal(liveTensors(), before);
});

test('UNet and shortcut VAE in channels_last: every conv input is channels_last, outputs equal NCHW', () => {
  const unet = new models.EfficientUNet({ inChannels: 8, modelChannels: 16, outChannels: 4, numResBlocks: 1, channelMult: [1, 2], attentionResolutions: [2],
    dimHead: 8, numHeads: 2, useLinearAttn: false, useScaleShiftNorm: true, poolFactor: -1, normGroups: 8 });
  const vae = new models.AutoencoderKL(models.VAE_PRESETS.vae_f4c8.config);
  try {
    noGrad(() => tidy(() => {
      const x = randn([2, 4, 16, 16]), c = randn([2, 4, 16, 16]), t = full([2], 0.3), img = randn([1, 3, 64, 64]).clamp(-1, 1);
      const ref = { u: unet.forward(x, t, c), d: vae.decode(vae.encode(img).mean) };
      unet.toMemoryFormat('channels_last');
      vae.toMemoryFormat('channels_last');
      const out: Record<string, Tensor> = {};
      const u = countConvLayouts(() => { out.u = unet.forward(x.contiguous('channels_last'), t, c.contiguous('channels_last')); });
      assert.deepEqual(u.other, [], `UNet convs with a non-channels_last input (${u.cl} were)`);
      // The posterior mean is a channel slice of the moments (channels_last strides, not dense); the pipeline scales
      // it (a dense copy) before decoding, so the test hands decode a dense channels_last latent as well.
      const v = countConvLayouts(() => { out.d = vae.decode(vae.encode(img.contiguous('channels_last')).mean.contiguous('channels_last')); });
      assert.deepEqual(v.other, [], `VAE convs with a non-channels_last input (${v.cl} were)`);
      assert.ok(u.cl > 10 && v.cl > 10, `convs counted: UNet ${u.cl}, VAE ${v.cl}`);
      for (const k of ['u', 'd'] as const) {
        const err = out[k].sub(ref[k]).abs().max().item();
        assert.ok(err < 1e-4, `${k}: channels_last vs NCHW max |Δ| ${err}`);
      }
    }));
  } finally {
    unet.dispose();
    vae.dispose();
  }
});
