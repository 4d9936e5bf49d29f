// CLIPTextModel against openai/CLIP's text path (clip/model.py encode_text up to ln_final) at a tiny random config,
// weights renamed to HF CLIPTextModel's keys by scripts/goldens/clip_fixtures.py; the ViT-L/14 preset's keys and
// shapes against the reference model built at the real config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveTensors, noGrad, readSafetensors, tensor, tidy, withDefaultDevice, writeSafetensors, dispose, type Tensor } from '../../src/tensor_library.js';
import { models } from '../../src/index.js';
import { ROOT } from '../helpers.js';

const { CLIPTextModel, loadCLIPTextWeights, loadCLIPTextModel, CLIPLoadError } = models.clip;
const DIR = join(ROOT, 'tests', 'fixtures', 'models', 'clip');
const side = JSON.parse(readFileSync(join(DIR, 'text_tiny.json'), 'utf8')) as { config: Record<string, unknown> };

function fixture() {
  const all = readSafetensors(join(DIR, 'text_tiny.safetensors')).tensors;
  const params = new Map<string, Tensor>();
  for (const [k, v] of all) if (k.startsWith('param.')) params.set(k.slice(6), v);
  return { all, params, ids: all.get('input.ids')!, ref: all.get('output.last_hidden_state')! };
}

const maxAbs = (a: Tensor, b: Tensor) => tidy(() => a.sub(b).abs().max().item());

test('tiny text encoder: last hidden state within 1e-4 of the reference; no tensor left behind', (t) => {
  const before = liveTensors();
  const f = fixture();
  const model = new CLIPTextModel(side.config).eval(); // HF config.json names
  assert.equal(model.config.activation, 'quick_gelu');
  const report = loadCLIPTextWeights(model, f.params);
  assert.equal(report.loaded.length, f.params.size);
  const out = noGrad(() => model.forward(f.ids));
  assert.deepEqual(out.shape, [2, 77, 32]);
  const err = maxAbs(out, f.ref);
  t.diagnostic(`max abs error ${err.toExponential(2)} (reference max |x| ${tidy(() => f.ref.abs().max().item()).toFixed(3)})`);
  assert.ok(err <= 1e-4, `max abs error ${err}`);
  // The causal mask: the first 13 positions of row 0 (BOS, 12 tokens, EOS) do not see the padding after them.
  const short = noGrad(() => tidy(() => model.forward(f.ids.narrow(1, 0, 13))));
  const errShort = tidy(() => maxAbs(short, f.ref.narrow(1, 0, 13)));
  assert.ok(errShort <= 1e-4, `a 13-token prefix gives the same states (error ${errShort})`);
  // int32 ids work too.
  const out32 = noGrad(() => tidy(() => model.forward(f.ids.int())));
  assert.equal(maxAbs(out32, out), 0);
  dispose([out, short, out32]);
  model.dispose();
  dispose(f.all);
  assert.equal(liveTensors(), before, 'no live tensor leak');
});

test('quick_gelu matters: the same weights with gelu differ from the reference', () => {
  const f = fixture();
  const model = new CLIPTextModel({ ...side.config, hidden_act: 'gelu' });
  loadCLIPTextWeights(model, f.params);
  const out = noGrad(() => model.forward(f.ids));
  assert.ok(maxAbs(out, f.ref) > 1e-3);
  dispose([out, f.all]);
  model.dispose();
});

test('SD checkpoint layout (cond_stage_model.transformer., position_ids, other models beside) loads the same', () => {
  const before = liveTensors();
  const f = fixture();
  const sd = new Map<string, Tensor>();
  for (const [k, v] of f.params) sd.set(`cond_stage_model.transformer.${k}`, v);
  const posIds = tensor([Array.from({ length: 77 }, (_, i) => i)], { dtype: 'int64' });
  const unet = tensor([1, 2, 3]);
  sd.set('cond_stage_model.transformer.text_model.embeddings.position_ids', posIds);
  sd.set('model.diffusion_model.input_blocks.0.0.weight', unet);
  const model = new CLIPTextModel(side.config);
  loadCLIPTextWeights(model, sd);
  const out = noGrad(() => model.forward(f.ids));
  assert.ok(maxAbs(out, f.ref) <= 1e-4);
  // Bare transformers<4 names (no text_model.) load as well.
  const bare = new Map([...f.params].map(([k, v]) => [k.replace(/^text_model\./, ''), v]));
  const model2 = new CLIPTextModel(side.config);
  loadCLIPTextWeights(model2, bare);
  const out2 = noGrad(() => model2.forward(f.ids));
  assert.equal(maxAbs(out2, out), 0);
  dispose([out, out2, posIds, unet, f.all]);
  model.dispose();
  model2.dispose();
  assert.equal(liveTensors(), before);
});

test('bad keys and shapes, bad configs and bad ids: clear errors naming them', () => {
  const before = liveTensors();
  const f = fixture();
  const model = new CLIPTextModel(side.config);
  const renamed = new Map(f.params);
  const w = renamed.get('text_model.encoder.layers.1.mlp.fc1.weight')!;
  renamed.delete('text_model.encoder.layers.1.mlp.fc1.weight');
  renamed.set('text_model.encoder.layers.1.mlp.fc_1.weight', w);
  assert.throws(() => loadCLIPTextWeights(model, renamed, 'my.safetensors'), (e: Error) => e instanceof CLIPLoadError
    && /^my\.safetensors: .*missing keys: text_model\.encoder\.layers\.1\.mlp\.fc1\.weight.*unexpected keys: text_model\.encoder\.layers\.1\.mlp\.fc_1\.weight/.test(e.message));
  const small = tensor([[1, 2], [3, 4]]);
  const misshaped = new Map(f.params);
  misshaped.set('text_model.final_layer_norm.weight', small);
  assert.throws(() => loadCLIPTextWeights(model, misshaped), /shape mismatches: text_model\.final_layer_norm\.weight: expected \[32\], got \[2, 2\]/);
  // Config errors name the key.
  assert.throws(() => new CLIPTextModel({ ...side.config, num_attention_heads: 5 }), /width 32 is not divisible by 5 heads/);
  assert.throws(() => new CLIPTextModel({ ...side.config, hidden_act: 'relu' }), /'activation' must be 'quick_gelu' or 'gelu'/);
  assert.throws(() => new CLIPTextModel({ ...side.config, hiddenSize: 3 }), /unknown config key 'hiddenSize'/);
  assert.throws(() => new CLIPTextModel('vit_b99' as never), /unknown preset 'vit_b99'/);
  // Input checks.
  const bigId = tensor([[0, 600]], { dtype: 'int64' });
  assert.throws(() => model.forward(bigId), /token ids must be in 0\.\.599, got 600/);
  const flat = tensor([1, 2], { dtype: 'int64' });
  assert.throws(() => model.forward(flat), /ids must be \[batch, length\]/);
  const tooLong = tensor([Array(78).fill(1)], { dtype: 'int64' });
  assert.throws(() => model.forward(tooLong), /sequence length 78 is outside 1\.\.77/);
  dispose([small, bigId, flat, tooLong, f.all]);
  model.dispose();
  assert.equal(liveTensors(), before);
});

test('vit_l14_text preset: keys and shapes equal the reference ViT-L/14 text encoder, built on meta without allocating', () => {
  const want = JSON.parse(readFileSync(join(DIR, 'vit_l14_text_keys.json'), 'utf8')) as { params: number; keys: Record<string, number[]> };
  // Meta tensors have shapes but no storage (liveBytes counts their nominal size, so the process's memory is what
  // shows nothing was allocated: 492 MB of float32 weights would).
  const rss = process.memoryUsage().rss;
  const model = withDefaultDevice('meta', () => new CLIPTextModel('vit_l14_text'));
  try {
    const grown = process.memoryUsage().rss - rss;
    assert.ok(grown < 64 << 20, `building on meta grew the process by ${(grown / 2 ** 20).toFixed(0)} MB`);
    const sd = model.stateDict();
    assert.deepEqual([...sd.keys()].sort(), Object.keys(want.keys).sort());
    for (const [k, v] of sd) {
      assert.deepEqual(v.shape, want.keys[k], k);
      assert.equal(v.device, 'meta');
    }
    assert.equal(model.numParameters(), want.params);
    assert.equal(want.params, 123_060_480);
  } finally {
    model.dispose();
  }
});

test('loadCLIPTextModel: an SD checkpoint file and a diffusers folder (config.json + model.safetensors)', () => {
  const before = liveTensors();
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-clip-text-'));
  try {
    const f = fixture();
    const ckpt: Record<string, Tensor> = {};
    for (const [k, v] of f.params) ckpt[`cond_stage_model.transformer.${k}`] = v;
    const other = tensor([0.5]);
    ckpt['first_stage_model.decoder.conv_in.bias'] = other;
    writeSafetensors(join(dir, 'sd15.safetensors'), ckpt);
    const m1 = loadCLIPTextModel(join(dir, 'sd15.safetensors'), { config: side.config });
    mkdirSync(join(dir, 'pipe', 'text_encoder'), { recursive: true });
    writeSafetensors(join(dir, 'pipe', 'text_encoder', 'model.safetensors'), f.params);
    writeFileSync(join(dir, 'pipe', 'text_encoder', 'config.json'), JSON.stringify({ ...side.config, architectures: ['CLIPTextModel'], model_type: 'clip_text_model', torch_dtype: 'float32' }));
    const m2 = loadCLIPTextModel(join(dir, 'pipe'));
    assert.equal(m2.config.heads, 4, 'heads from config.json');
    for (const m of [m1, m2]) {
      const out = noGrad(() => m.forward(f.ids));
      assert.ok(maxAbs(out, f.ref) <= 1e-4);
      out.dispose();
      m.dispose();
    }
    // Without a config the shapes give everything but the heads (width / 64 → 1 here): loads, computes other numbers.
    const m3 = loadCLIPTextModel(join(dir, 'pipe', 'text_encoder', 'model.safetensors'));
    assert.deepEqual([m3.config.width, m3.config.layers, m3.config.vocabSize, m3.config.intermediate, m3.config.heads], [32, 2, 600, 128, 1]);
    m3.dispose();
    assert.throws(() => loadCLIPTextModel(join(dir, 'sd15.safetensors'), { config: 'vit_l14_text' }), /shape mismatches: .*text_model\.embeddings\.token_embedding\.weight: expected \[49408, 768\], got \[600, 32\]/);
    assert.throws(() => loadCLIPTextModel(join(dir, 'missing.safetensors')), /does not exist/);
    dispose([other, f.all]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(liveTensors(), before);
});
