// VAE weights in diffusers' layout and with checkpoint prefixes load into our LDM-named AutoencoderKL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, randn, tidy, noGrad, manualSeed } from '../../src/tensor_library.js';
import { models } from '../../src/index.js';

test('single diffusers keys map to LDM names (decoder levels reversed, attention and shortcut renamed)', () => {
  const k = (s: string) => models.diffusersVaeKeyToLdm(s, 4);
  assert.equal(k('decoder.up_blocks.0.upsamplers.0.conv.weight'), 'decoder.up.3.upsample.conv.weight');
  assert.equal(k('decoder.up_blocks.3.resnets.0.conv_shortcut.bias'), 'decoder.up.0.block.0.nin_shortcut.bias');
  assert.equal(k('encoder.down_blocks.1.resnets.0.conv_shortcut.weight'), 'encoder.down.1.block.0.nin_shortcut.weight');
  assert.equal(k('encoder.mid_block.attentions.0.to_out.0.weight'), 'encoder.mid.attn_1.proj_out.weight');
  assert.equal(k('decoder.mid_block.attentions.0.query.bias'), 'decoder.mid.attn_1.q.bias');
  assert.equal(k('encoder.mid_block.resnets.1.norm2.weight'), 'encoder.mid.block_2.norm2.weight');
  assert.equal(k('encoder.conv_norm_out.bias'), 'encoder.norm_out.bias');
  assert.equal(k('encoder.down_blocks.2.downsamplers.0.conv.weight'), 'encoder.down.2.downsample.conv.weight');
  assert.equal(k('unet.conv_in.weight'), null);
});

test('a diffusers-layout state dict (Linear attention weights) loads and gives the same outputs', () => {
  manualSeed(3);
  const cfg = { ...models.VAE_PRESETS.vae_small.config, ch: 32 };
  const a = models.createVAE(cfg);
  const b = models.createVAE(cfg);
  const src = a.stateDict();
  // Diffusers names enumerated from its module layout (SD VAE: 4 levels, 2 resnets down, 3 up).
  const pairs: [string, string][] = [];
  const resnet = (d: string, l: string, shortcut: boolean) => {
    for (const p of ['norm1', 'conv1', 'norm2', 'conv2']) for (const w of ['weight', 'bias']) pairs.push([`${d}.${p}.${w}`, `${l}.${p}.${w}`]);
    if (shortcut) for (const w of ['weight', 'bias']) pairs.push([`${d}.conv_shortcut.${w}`, `${l}.nin_shortcut.${w}`]);
  };
  const mid = (side: string) => {
    resnet(`${side}.mid_block.resnets.0`, `${side}.mid.block_1`, false);
    resnet(`${side}.mid_block.resnets.1`, `${side}.mid.block_2`, false);
    for (const [d, l] of [['group_norm', 'norm'], ['to_q', 'q'], ['to_k', 'k'], ['to_v', 'v'], ['to_out.0', 'proj_out']]) {
      for (const w of ['weight', 'bias']) pairs.push([`${side}.mid_block.attentions.0.${d}.${w}`, `${side}.mid.attn_1.${l}.${w}`]);
    }
  };
  const mult = [1, 2, 4, 4];
  for (const w of ['weight', 'bias']) {
    for (const s of ['encoder', 'decoder']) pairs.push([`${s}.conv_in.${w}`, `${s}.conv_in.${w}`], [`${s}.conv_out.${w}`, `${s}.conv_out.${w}`], [`${s}.conv_norm_out.${w}`, `${s}.norm_out.${w}`]);
    pairs.push([`quant_conv.${w}`, `quant_conv.${w}`], [`post_quant_conv.${w}`, `post_quant_conv.${w}`]);
  }
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 2; j++) resnet(`encoder.down_blocks.${i}.resnets.${j}`, `encoder.down.${i}.block.${j}`, j === 0 && i > 0 && mult[i] !== mult[i - 1]);
    if (i < 3) for (const w of ['weight', 'bias']) pairs.push([`encoder.down_blocks.${i}.downsamplers.0.conv.${w}`, `encoder.down.${i}.downsample.conv.${w}`]);
    const lvl = 3 - i; // diffusers counts decoder blocks from the lowest resolution
    const prevMult = lvl === 3 ? mult[3] : mult[lvl + 1];
    for (let j = 0; j < 3; j++) resnet(`decoder.up_blocks.${i}.resnets.${j}`, `decoder.up.${lvl}.block.${j}`, j === 0 && mult[lvl] !== prevMult);
    if (i < 3) for (const w of ['weight', 'bias']) pairs.push([`decoder.up_blocks.${i}.upsamplers.0.conv.${w}`, `decoder.up.${lvl}.upsample.conv.${w}`]);
  }
  mid('encoder');
  mid('decoder');
  assert.equal(pairs.length, src.size, 'the enumeration covers every key');
  const diff = new Map<string, Tensor>();
  for (const [d, l] of pairs) {
    const t = src.get(l);
    assert.ok(t, `no LDM key ${l}`);
    const attnW = /attentions\.0\.(to_q|to_k|to_v|to_out\.0)\.weight$/.test(d);
    diff.set(`first_stage_model.${d}`, attnW ? t.reshape([t.shape[0], t.shape[1]]) : t);
  }
  diff.set('model.diffusion_model.conv_in.weight', randn([2, 2])); // non-VAE keys of a full checkpoint are skipped
  const ldm = models.toLdmVaeStateDict(diff, 4);
  b.loadStateDict(ldm, { strict: true });
  noGrad(() => tidy(() => {
    const x = randn([1, 3, 32, 32]);
    const pa = a.encode(x), pb = b.encode(x);
    assert.ok(pa.mean.equal(pb.mean));
    assert.ok(a.decode(pa.mean).equal(b.decode(pb.mean)));
    pa.dispose(); pb.dispose();
  }));
  assert.throws(() => models.toLdmVaeStateDict(new Map([['decoder.up_blocks.0.weird.weight', randn([1])]]), 4), /diffusers key 'decoder.up_blocks.0.weird.weight' has no LDM equivalent/);
  a.dispose(); b.dispose();
});
