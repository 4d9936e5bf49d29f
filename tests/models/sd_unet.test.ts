// Stable Diffusion 1.x UNet (src/models/sd) against CompVis/stable-diffusion's own UNetModel: the fixtures and the
// key lists come from scripts/goldens/sd_unet_fixtures.py, which runs the reference code (tiny random configs, norm
// groups reduced) and diffusers' convert_ldm_unet_checkpoint (for the diffusers names).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, dispose, liveTensors, noGrad, readSafetensors, tidy, withDefaultDevice } from '../../src/tensor_library.js';
import { models } from '../../src/index.js';
import { ROOT } from '../helpers.js';

const { sd } = models;
const DIR = join(ROOT, 'tests', 'fixtures', 'models', 'sd');
const KEYS = JSON.parse(readFileSync(join(DIR, 'sd15_unet_keys.json'), 'utf8'));
const CASES = ['sd_unet_heads', 'sd_unet_headch_lcm'] as const;

interface Fixture { tensors: Map<string, Tensor>; config: Record<string, unknown>; params: Map<string, Tensor> }

function loadFixture(name: string): Fixture {
  const tensors = readSafetensors(join(DIR, `${name}.safetensors`)).tensors;
  const config = JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')).config;
  const params = new Map<string, Tensor>();
  for (const [k, v] of tensors) if (k.startsWith('param.')) params.set(k.slice(6), v);
  return { tensors, config, params };
}

function need(f: Fixture, key: string): Tensor {
  const t = f.tensors.get(key);
  assert.ok(t, `fixture has ${key}`);
  return t;
}

const maxAbs = (a: Tensor, b: Tensor) => tidy(() => a.sub(b).abs().max().item());

/** The fixture's outputs from a model: plain, and with the guidance embedding when the fixture has one. */
function outputs(net: InstanceType<typeof sd.SDUNet>, f: Fixture): { output: number; cond?: number } {
  return noGrad(() => tidy(() => {
    const x = need(f, 'input.x'), t = need(f, 'input.timesteps'), ctx = need(f, 'input.context');
    const r: { output: number; cond?: number } = { output: maxAbs(net.forward(x, t, ctx), need(f, 'output')) };
    const cond = f.tensors.get('input.timestep_cond');
    if (cond) r.cond = maxAbs(net.forward(x, t, ctx, cond), need(f, 'output.cond'));
    return r;
  }));
}

/** The diffusers-named weights of a fixture, named by diffusers' own converter (sd15_unet_keys.json). */
function diffusersWeights(name: string, f: Fixture): Map<string, Tensor> {
  const map: Record<string, string> = KEYS[name].diffusers;
  const out = new Map<string, Tensor>();
  for (const [d, o] of Object.entries(map)) out.set(d, f.params.get(o)!);
  // diffusers' converter predates LCM: its TimestepEmbedding calls the projection time_embedding.cond_proj.
  if (f.params.has('time_embed.cond_proj.weight')) out.set('time_embedding.cond_proj.weight', f.params.get('time_embed.cond_proj.weight')!);
  return out;
}

for (const name of CASES) {
  test(`${name}: output and gradients match the reference UNetModel`, (t) => {
    const before = liveTensors();
    const f = loadFixture(name);
    const net = new sd.SDUNet(f.config);
    try {
      assert.equal(net.numParameters(), [...f.params.values()].reduce((a, p) => a + p.numel, 0));
      const r = sd.loadSDUNetWeights(net, f.params);
      assert.deepEqual(r, { layout: 'original', prefix: null, ignored: 0 });
      net.eval();
      const err = outputs(net, f);
      t.diagnostic(`${name}: output max abs error ${err.output.toExponential(2)}${err.cond !== undefined ? `, with timestep_cond ${err.cond.toExponential(2)}` : ''}`);
      assert.ok(err.output <= 1e-4, `output max abs error ${err.output}`);
      if (f.tensors.has('output.cond')) {
        assert.ok(err.cond! <= 1e-4, `output.cond max abs error ${err.cond}`);
        // The guidance embedding changes the output (so the check above is not the plain path twice).
        assert.ok(maxAbs(need(f, 'output'), need(f, 'output.cond')) > 1e-2);
      }
      // Gradients of sum(output · loss_weight) w.r.t. x and the parameters the fixture recorded, relative to their largest value.
      let worst = { key: '', rel: 0 };
      const grads = [...f.tensors.keys()].filter((k) => k.startsWith('grad.'));
      assert.ok(grads.length > 10, 'the fixture has gradients');
      tidy(() => {
        const x = need(f, 'input.x').detach().requiresGrad_(true);
        const out = net.forward(x, need(f, 'input.timesteps'), need(f, 'input.context'));
        const loss = out.mul(need(f, 'input.loss_weight')).sum();
        assert.ok(Math.abs(loss.item() - need(f, 'output.loss').item()) <= 1e-4 * Math.max(1, Math.abs(need(f, 'output.loss').item())));
        loss.backward();
        const params = new Map(net.namedParameters());
        for (const k of grads) {
          const key = k.slice(5);
          const g = key === 'input.x' ? x.grad : params.get(key)?.grad;
          assert.ok(g, `gradient reached ${key}`);
          const ref = need(f, k);
          const rel = maxAbs(g, ref) / Math.max(ref.abs().max().item(), 1e-6);
          if (rel > worst.rel) worst = { key, rel };
        }
      });
      t.diagnostic(`${name}: ${grads.length} gradients, worst relative error ${worst.rel.toExponential(2)} (${worst.key})`);
      assert.ok(worst.rel <= 1e-3, `gradient ${worst.key}: relative error ${worst.rel}`);
    } finally {
      net.zeroGrad();
      net.dispose();
      dispose(f.tensors);
    }
    assert.equal(liveTensors(), before, 'no tensors left behind');
  });

  test(`${name}: diffusers-named weights load and give the same output`, (t) => {
    const before = liveTensors();
    const f = loadFixture(name);
    const net = new sd.SDUNet(f.config);
    try {
      // Our name map is diffusers' converter, key for key, both ways.
      const map: Record<string, string> = KEYS[name].diffusers;
      for (const [d, o] of Object.entries(map)) {
        assert.equal(sd.diffusersToOriginalKey(d, net.config), o, d);
        assert.equal(sd.originalToDiffusersKey(o, net.config), d, o);
      }
      const w = diffusersWeights(name, f);
      assert.equal(w.size, f.params.size);
      assert.deepEqual(sd.loadSDUNetWeights(net, w), { layout: 'diffusers', prefix: null, ignored: 0 });
      net.eval();
      const err = outputs(net, f);
      t.diagnostic(`${name} (diffusers names): output max abs error ${err.output.toExponential(2)}`);
      assert.ok(err.output <= 1e-4 && (err.cond ?? 0) <= 1e-4, JSON.stringify(err));
    } finally {
      net.dispose();
      dispose(f.tensors);
    }
    assert.equal(liveTensors(), before, 'no tensors left behind');
  });
}

test('a full LDM checkpoint loads with model.diffusion_model. stripped; other tensors are ignored', () => {
  const before = liveTensors();
  const f = loadFixture('sd_unet_heads');
  const net = new sd.SDUNet(f.config);
  try {
    const ckpt = new Map<string, Tensor>();
    for (const [k, v] of f.params) ckpt.set(sd.LDM_UNET_PREFIX + k, v);
    ckpt.set('first_stage_model.decoder.conv_in.weight', need(f, 'input.x'));
    ckpt.set('cond_stage_model.transformer.text_model.final_layer_norm.weight', need(f, 'input.timesteps'));
    assert.deepEqual(sd.loadSDUNetWeights(net, ckpt), { layout: 'original', prefix: sd.LDM_UNET_PREFIX, ignored: 2 });
    net.eval();
    assert.ok(outputs(net, f).output <= 1e-4);
  } finally {
    net.dispose();
    dispose(f.tensors);
  }
  assert.equal(liveTensors(), before);
});

test('missing, misshaped and unknown keys are errors that name the key as the file spells it', () => {
  const before = liveTensors();
  const f = loadFixture('sd_unet_headch_lcm');
  const net = new sd.SDUNet(f.config);
  try {
    const w = diffusersWeights('sd_unet_headch_lcm', f);
    const gone = 'up_blocks.2.attentions.1.transformer_blocks.1.attn2.to_k.weight';
    assert.ok(w.delete(gone));
    assert.throws(() => sd.loadSDUNetWeights(net, w), (e: Error) => e instanceof sd.SDUNetWeightsError
      && e.message.includes(`missing keys: '${gone}' (original 'output_blocks.7.1.transformer_blocks.1.attn2.to_k.weight') [4, 8]`));
    w.set(gone, f.params.get('output_blocks.7.1.transformer_blocks.1.attn2.to_k.weight')!);
    const shaped = 'down_blocks.1.resnets.0.conv_shortcut.weight';
    const orig = w.get(shaped)!;
    w.set(shaped, need(f, 'input.x'));
    assert.throws(() => sd.loadSDUNetWeights(net, w), (e: Error) => e instanceof sd.SDUNetWeightsError
      && e.message.includes(`'${shaped}' (original 'input_blocks.4.0.skip_connection.weight'): expected [8, 4, 1, 1], got [2, 4, 8, 8]`));
    w.set(shaped, orig);
    // Level 1 has no attention in this config: diffusers' down_blocks.1.attentions.* have no place in it.
    w.set('down_blocks.1.attentions.0.proj_in.weight', orig);
    assert.throws(() => sd.loadSDUNetWeights(net, w), /no counterpart in this config's original layout: down_blocks\.1\.attentions\.0\.proj_in\.weight/);
    w.delete('down_blocks.1.attentions.0.proj_in.weight');
    // Original naming: a stray key is named as given.
    const o = new Map(f.params);
    o.set('output_blocks.9.0.in_layers.0.weight', orig);
    assert.throws(() => sd.loadSDUNetWeights(net, o), /unexpected keys: 'output_blocks\.9\.0\.in_layers\.0\.weight'/);
    assert.throws(() => sd.loadSDUNetWeights(net, new Map([['conv_in.weight', orig], ['input_blocks.0.0.weight', orig]])), /mix diffusers keys/);
    assert.throws(() => sd.loadSDUNetWeights(net, new Map([['foo.weight', orig]])), /no UNet keys found/);
    // Nothing was copied by the failed loads: the weights are still the random init, not the fixture's.
    assert.ok(maxAbs(net.inputBlocks.at(0).at(0).stateDict().get('weight')!, f.params.get('input_blocks.0.0.weight')!) > 1e-3);
  } finally {
    net.dispose();
    dispose(f.tensors);
  }
  assert.equal(liveTensors(), before);
});

test('sd15 preset: state_dict keys and shapes equal the reference UNetModel at v1-inference.yaml (built on meta)', () => {
  const before = liveTensors();
  const ref: Record<string, number[]> = KEYS.sd15.keys;
  // The reference's own unet_config params (snake_case, with image_size/use_checkpoint/legacy) resolve to the preset.
  assert.deepEqual(sd.resolveSDUNetConfig(KEYS.sd15.config), sd.resolveSDUNetConfig(sd.SD_UNET_PRESETS.sd15));
  const net = withDefaultDevice('meta', () => new sd.SDUNet(sd.SD_UNET_PRESETS.sd15));
  try {
    const own = net.stateDict();
    const ours = [...own].map(([k, v]) => [k, v.shape] as [string, number[]]);
    assert.ok([...own.values()].every((v) => v.device === 'meta'), 'nothing allocated');
    assert.deepEqual(ours, Object.entries(ref), 'same keys, same shapes, same order');
    assert.equal(net.numParameters(), KEYS.sd15.params);
    assert.equal(net.numParameters(), 859_520_964);
    // diffusers' converter's names for every key, both ways.
    const map: Record<string, string> = KEYS.sd15.diffusers;
    assert.equal(Object.keys(map).length, ours.length);
    for (const [d, o] of Object.entries(map)) {
      assert.equal(sd.diffusersToOriginalKey(d, net.config), o, d);
      assert.equal(sd.originalToDiffusersKey(o, net.config), d, o);
    }
  } finally {
    net.dispose();
  }
  const lcm = withDefaultDevice('meta', () => new sd.SDUNet(sd.SD_UNET_PRESETS.lcm_sd15));
  try {
    const extra = [...lcm.stateDict()].filter(([k]) => !(k in ref)).map(([k, v]) => [k, v.shape]);
    assert.deepEqual(extra, [['time_embed.cond_proj.weight', [320, 256]]]);
    assert.equal(sd.originalToDiffusersKey('time_embed.cond_proj.weight', lcm.config), 'time_embedding.cond_proj.weight');
  } finally {
    lcm.dispose();
  }
  assert.equal(liveTensors(), before);
});

test('config validation names the problem', () => {
  const base = { inChannels: 4, outChannels: 4, modelChannels: 32, attentionResolutions: [1], numResBlocks: 1, channelMult: [1, 2], contextDim: 8, normGroups: 8 };
  assert.throws(() => sd.resolveSDUNetConfig(base), /exactly one of numHeads/);
  assert.throws(() => sd.resolveSDUNetConfig({ ...base, numHeads: 2, numHeadChannels: 8 }), /exactly one of numHeads/);
  assert.equal(sd.resolveSDUNetConfig({ ...base, num_heads: -1, num_head_channels: 8 }).numHeadChannels, 8);
  assert.throws(() => sd.resolveSDUNetConfig({ ...base, numHeads: 2, normGroups: 12 }), /not divisible by 12 GroupNorm groups/);
  assert.throws(() => sd.resolveSDUNetConfig({ ...base, numHeadChannels: 128 }), /32-channel transformer would get 0 heads/);
  assert.throws(() => sd.resolveSDUNetConfig({ ...base, numHeads: 2, useSpatialTransformer: false }), /only the SpatialTransformer UNet/);
  assert.throws(() => sd.resolveSDUNetConfig({ ...base, numHeads: 2, contextDims: 8 }), /unknown config key 'contextDims'/);
  assert.throws(() => sd.resolveSDUNetConfig({ ...base, numHeads: 2, modelChannels: 33, normGroups: 1 }), /modelChannels must be even/);
  const c = sd.resolveSDUNetConfig({ ...base, numHeads: 2 });
  assert.deepEqual(sd.headsFor(c, 64), { heads: 2, dimHead: 32 });
});

test('forward checks its inputs', () => {
  const before = liveTensors();
  const f = loadFixture('sd_unet_heads');
  const net = new sd.SDUNet(f.config);
  try {
    const x = need(f, 'input.x'), ts = need(f, 'input.timesteps'), ctx = need(f, 'input.context');
    noGrad(() => {
      assert.throws(() => net.forward(ctx, ts, ctx), /x must be \[N, 4, H, W\]/);
      assert.throws(() => net.forward(x, ctx, ctx), /timesteps must be \[2\]/);
      assert.throws(() => net.forward(x, ts, x), /context must be \[2, M, 8\]/);
      tidy(() => assert.throws(() => net.forward(x, ts, ctx, ts.reshape(2, 1)), /no guidance embedding/));
    });
  } finally {
    net.dispose();
    dispose(f.tensors);
  }
  assert.equal(liveTensors(), before);
});
