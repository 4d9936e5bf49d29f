import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  ConfigError, loadConfig, resolveConfig, dumpConfig, saveResolvedConfig, editDistance, nearest, checkDefaults, configSpec,
  validate, obj, int, arr, describe,
} from '../../src/train/config/index.js';
import { trainAugment, valAugment } from '../../src/train/loop/data.js';
import { ROOT } from '../helpers.js';

const paperPath = join(ROOT, 'configs', 'paper.yaml');
const paperText = readFileSync(paperPath, 'utf8');

/** Asserts a ConfigError with an issue at `path` whose message matches `re`. */
function throwsIssue(fn: () => unknown, path: string, re: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    const hit = e.issues.find((i) => i.path === path && re.test(i.message));
    assert.ok(hit, `no issue at ${path} matching ${re}; got:\n${e.message}`);
    return true;
  });
}

test('edit distance with transpositions; nearest-key suggestions', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('abcd', 'abdc'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(nearest('chanel_mult', ['channel_mult', 'dropout']), 'channel_mult');
  assert.equal(nearest('lrr', ['lr', 'seed']), 'lr');
  assert.equal(nearest('zzzzzz', ['lr', 'seed']), undefined);
});

test('every default satisfies its own constraints; describe lists every key', () => {
  assert.deepEqual(checkDefaults(configSpec), []);
  const lines = describe(configSpec);
  assert.ok(lines.some((l) => l.startsWith('train.lr: number (default 0.00003)')), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('model.flow.source: psu | lsu | identity | noise_upsampling | noise (default "psu")')));
});

test('the reference paper config is accepted and mapped key by key', () => {
  const { config: c, layout } = loadConfig(paperPath);
  assert.equal(layout, 'reference');
  assert.equal(c.name, 'paper');
  // The UNet block must equal the reference file's net_cfg.params, read here straight from the YAML.
  const raw = parse(paperText);
  assert.deepEqual(c.model.unet, raw.model.params.fm_cfg.params.net_cfg.params);
  assert.equal(c.model.flow.schedule, 'linear');
  assert.equal(c.model.flow.source, 'psu');
  assert.equal(c.model.flow.noising_step, 400);
  assert.equal(c.model.flow.start_from_noise, false);
  assert.equal(c.model.flow.scale_factor, 0.18215);
  assert.equal(c.model.vae.path, 'checkpoints/sd_ae.ckpt');
  assert.deepEqual([c.data.image_size, c.data.low_res_size], [1024, 512]);
  const t = c.train;
  assert.deepEqual([t.optimizer, t.lr, t.weight_decay, t.lr_schedule, t.warmup_steps], ['adam', 3e-5, 0, 'constant_warmup', 1000]);
  assert.deepEqual(t.ema, { decay: 0.999, update_after_step: 1000, update_every: 1, power: 0.75, use_for_sampling: true });
  assert.deepEqual([t.precision, t.max_steps, t.grad_accum, t.grad_clip, t.checkpoint_every], ['bf16', null, 1, null, 10000]);
  assert.deepEqual([t.val.every, t.val.limit_batches, t.val.num_crops, t.val.crop_size, t.val.solver, t.val.num_steps], [5000, 64, 4, 512, 'rk4', 40]);
  assert.deepEqual([t.log.every, t.log.grad_norm], [50, true]);
});

test('reference layout: unknown targets and misspelled params are errors naming them', () => {
  throwsIssue(() => resolveConfig(paperText.replace('fmboost.models.unet.model.EfficientUNet', 'fmboost.models.dit.DiT'), [], 'p'),
    'model.params.fm_cfg.params.net_cfg.target', /unknown target "fmboost\.models\.dit\.DiT"/);
  throwsIssue(() => resolveConfig(paperText.replace('pytorch_lightning.callbacks.LearningRateMonitor', 'pytorch_lightning.callbacks.EarlyStopping')),
    'train.callbacks[0].target', /unknown target "pytorch_lightning\.callbacks\.EarlyStopping"/);
  throwsIssue(() => resolveConfig(paperText.replace('target: YourDataModuleFromConfig', 'target: mydata.LaionModule')),
    'data.target', /unknown target "mydata\.LaionModule"/);
  throwsIssue(() => resolveConfig(paperText.replace('num_res_blocks: 3', 'num_res_block: 3')),
    'model.params.fm_cfg.params.net_cfg.params.num_res_block', /unknown key "num_res_block" \(did you mean "num_res_blocks"\?\)/);
  throwsIssue(() => resolveConfig(paperText.replace('ema_update_every: 1', 'ema_updte_every: 1')),
    'model.params.ema_updte_every', /did you mean "ema_update_every"/);
  throwsIssue(() => resolveConfig(paperText.replace('ca_context: False', 'ca_context: True')), 'model.params.ca_context', /not supported/);
  // values from a reference file are validated like native ones
  throwsIssue(() => resolveConfig(paperText.replace('ema_rate: 0.999', 'ema_rate: 1.5')), 'train.ema.decay', /must be ≤ 1, got 1\.5/);
});

test('reference layout with overrides: the placeholder data is replaced from the command line', () => {
  const r = resolveConfig(paperText, ['data.sources=[{type: images, path: ./photos}]', 'train.max_steps=50000', 'data.batch_size=2']);
  assert.deepEqual(r.config.data.sources, [{ type: 'images', path: './photos', weight: 1 }]);
  assert.equal(r.config.train.max_steps, 50000);
  assert.equal(r.config.data.batch_size, 2);
  assert.ok(r.warnings.some((w) => /placeholder/.test(w)));
});

const small = readFileSync(join(ROOT, 'configs', 'small.yaml'), 'utf8');

test('native config: the small preset loads; unknown keys, wrong types and enum typos name the key', () => {
  const { config, layout } = resolveConfig(small);
  assert.equal(layout, 'native');
  assert.deepEqual(config.model.unet.channel_mult, [1, 2, 4]);
  assert.equal(config.train.betas.length, 2); // default filled
  throwsIssue(() => resolveConfig(small.replace('  warmup_steps: 200', '  warmup_step: 200')), 'train.warmup_step', /unknown key "warmup_step" \(did you mean "warmup_steps"\?\)/);
  throwsIssue(() => resolveConfig(small.replace('lr: 1.0e-4', 'lr: fast')), 'train.lr', /expected a number, got "fast"/);
  throwsIssue(() => resolveConfig(small.replace('source: psu', 'source: pus')), 'model.flow.source', /expected one of psu \| lsu \| identity \| noise_upsampling \| noise, got "pus" \(did you mean "psu"\?\)/);
  throwsIssue(() => resolveConfig(small.replace('channel_mult: [1, 2, 4]', 'channel_mult: [1, 2.5, 4]')), 'model.unet.channel_mult[1]', /expected an integer, got 2\.5/);
  throwsIssue(() => resolveConfig(small.replace('    - type: images', '    - type: imges')), 'data.sources[0].type', /did you mean "images"/);
  // every problem is reported at once
  assert.throws(() => resolveConfig(small.replace('seed: 0', 'seed: -1').replace('workers: 2', 'workers: two')), (e: ConfigError) => e.issues.length === 2);
  // duplicate keys are refused rather than letting the last one win silently
  assert.throws(() => resolveConfig('train:\n  lr: 1\n  lr: 2\n'), (e: Error) => e instanceof ConfigError && /YAML: Map keys must be unique at line 3/.test(e.message));
});

test('dotlist overrides: YAML scalars and lists, validated the same way', () => {
  const r = resolveConfig(small, ['train.lr=1e-4', 'model.unet.channel_mult=[1,2,4,4]', 'train.grad_clip=null', 'name=my run', 'train.ema.decay=0.99']);
  assert.equal(r.config.train.lr, 1e-4);
  assert.deepEqual(r.config.model.unet.channel_mult, [1, 2, 4, 4]);
  assert.equal(r.config.train.grad_clip, null);
  assert.equal(r.config.name, 'my run');
  assert.equal(r.config.train.ema.decay, 0.99);
  assert.equal(r.config.train.ema.update_after_step, 200); // siblings untouched
  throwsIssue(() => resolveConfig(small, ['train.lrr=1']), 'train.lrr', /unknown key "lrr" \(did you mean "lr"\?\).*in override "train\.lrr=1"/);
  throwsIssue(() => resolveConfig(small, ['train.lr.x=1']), 'train.lr', /is a value, not a section/);
  throwsIssue(() => resolveConfig(small, ['train.lr=abc']), 'train.lr', /expected a number, got "abc"/);
  throwsIssue(() => resolveConfig(small, ['data.batch_size=0']), 'data.batch_size', /must be ≥ 1, got 0/);
  assert.throws(() => resolveConfig(small, ['train.lr']), /key\.path=value/);
});

test('cross-key rules', () => {
  throwsIssue(() => resolveConfig(small, ['model.unet.in_channels=4']), 'model.unet.in_channels', /must be 2 × out_channels/);
  throwsIssue(() => resolveConfig(small, ['model.flow.start_from_noise=true']), 'model.flow.noising_step', /start_from_noise cannot be combined/);
  assert.equal(resolveConfig(small, ['model.flow.start_from_noise=true', 'model.flow.noising_step=-1']).config.model.flow.start_from_noise, true);
  throwsIssue(() => resolveConfig(small, ['data.low_res_size=100']), 'data.low_res_size', /divisible by 8/);
  const img = resolveConfig(small, []).config.data.image_size;
  throwsIssue(() => resolveConfig(small, [`data.resize_shorter=${img - 8}`]), 'data.resize_shorter', /must be at least data\.image_size/);
  throwsIssue(() => resolveConfig(small, ['train.lr_schedule=cosine_warmup', 'train.max_steps=null']), 'train.max_steps', /finite max_steps/);
  throwsIssue(() => resolveConfig(small, ['model.unet.model_channels=48']), 'model.unet.channel_mult[0]', /not divisible by 32/);
});

test('data.resize_shorter picks whole rescaled images (null) or native-scale patches', () => {
  const base = resolveConfig(small, []).config.data;
  assert.equal(base.resize_shorter, null);
  assert.equal(trainAugment(base).resizeShorter, base.image_size);
  const d = resolveConfig(small, [`data.resize_shorter=${base.image_size * 4}`]).config.data;
  for (const a of [trainAugment(d), valAugment(d)]) {
    assert.equal(a.resizeShorter, base.image_size * 4);
    assert.equal(a.crop, base.image_size);
  }
  assert.equal(valAugment(d).cropMode, 'center');
});

test('the UNet attention warning is for flow configs only (an autoencoder config has no UNet to warn about)', () => {
  const over = ['model.unet.attention_resolutions=[64]'];
  assert.ok(resolveConfig(small, over).warnings.some((w) => /never reached/.test(w)));
  assert.ok(!resolveConfig(small, [...over, 'mode=autoencoder']).warnings.some((w) => /never reached/.test(w)));
  const vae = readFileSync(join(ROOT, 'configs', 'default', 'vae.yaml'), 'utf8');
  assert.deepEqual(resolveConfig(vae).warnings, []);
});

test('the resolved config dumps to YAML that loads back to the same config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-cfg-'));
  try {
    for (const text of [small, paperText]) {
      const a = resolveConfig(text, ['train.lr=2e-5', 'name=run1']).config;
      const p = join(dir, 'config.yaml');
      saveResolvedConfig(p, a);
      const dumped = readFileSync(p, 'utf8');
      assert.match(dumped, /^# resolved fmboost config/);
      assert.match(dumped, /channel_mult: \[1, 2, 4(, 8)?\]/);
      const b = loadConfig(p);
      assert.equal(b.layout, 'native');
      assert.deepEqual(b.config, a);
      assert.equal(dumpConfig(b.config), dumpConfig(a));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('schema DSL on its own: required keys and nested paths', () => {
  const s = obj('t', { a: int({ doc: 'an a', min: 0 }), b: obj('b', { c: arr(int({ doc: 'c' }), { doc: 'cs', default: [1] }) }) });
  assert.deepEqual(validate(s, { a: 1 }), { a: 1, b: { c: [1] } });
  assert.throws(() => validate(s, {}), /a: required key is missing \(an a\)/);
  assert.throws(() => validate(s, { a: 1, b: { c: [1, 'x'] } }), /b\.c\[1\]: expected a number, got "x"/);
  assert.throws(() => validate(s, { a: 1, b: 3 }), /b: expected a mapping, got 3/);
});

test("reference layout: Lightning's devices / num_nodes / strategy map to train.distributed; other strategies are refused", () => {
  const withTp = (lines: string) => paperText.replace('    precision: bf16-mixed\n', `    precision: bf16-mixed\n${lines}`);
  const c = resolveConfig(withTp('    devices: 4\n    num_nodes: 2\n    strategy: ddp\n    accelerator: gpu\n'), [], 'p').config;
  assert.equal(c.train.distributed.devices, 4);
  assert.equal(c.train.distributed.num_nodes, 2);
  assert.equal(resolveConfig(withTp('    devices: [0, 1, 2]\n'), [], 'p').config.train.distributed.devices, 3, 'a list of device ids: one process each');
  assert.equal(resolveConfig(withTp('    devices: auto\n'), [], 'p').config.train.distributed.devices, 1);
  throwsIssue(() => resolveConfig(withTp('    strategy: deepspeed_stage_2\n'), [], 'p'), 'train.trainer_params.strategy', /not supported: fmboost trains data-parallel \(ddp\) only/);
  throwsIssue(() => resolveConfig(withTp('    devices: 0\n'), [], 'p'), 'train.trainer_params.devices', /expected a positive integer/);
  throwsIssue(() => resolveConfig(withTp('    accelerator: tpu\n'), [], 'p'), 'train.trainer_params.accelerator', /not supported/);
  // native keys: per-process or global batch, checked by the schema
  const n = resolveConfig('mode: flow\ndata: {global_batch_size: 8}\ntrain: {distributed: {backend: gloo, timeout_s: 30}}', [], 'n').config;
  assert.equal(n.data.global_batch_size, 8);
  assert.equal(n.train.distributed.backend, 'gloo');
  assert.throws(() => resolveConfig('mode: flow\ntrain: {distributed: {backend: mpi}}', [], 'n'), /backend/);
});
