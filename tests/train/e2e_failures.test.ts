// How `fmboost train` fails: a misspelled config key (suggestion, exit ≠ 0), conflicting flags, a NaN
// loss (stops naming the step, the last good checkpoint stays intact and nothing of the NaN state is
// saved), a checkpoint that cannot be written (reported, earlier ones intact, exit 2), and
// --load_weights into a different architecture (non-strict, reports what it skipped).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../../src/train/index.js';
import { flowConfig, makeFixture, runCli, type Fixture } from './e2e_fixtures.js';

let f: Fixture;
before(async () => { f = await makeFixture(6, { corrupt: false }); });
after(() => rmSync(f.dir, { recursive: true, force: true }));

const noVal = { val: '{every: 0}' };

test('a misspelled config key fails before training with a suggestion on stderr', async () => {
  const good = flowConfig(f, noVal);
  const bad = join(f.dir, 'typo.yaml');
  writeFileSync(bad, readFileSync(good, 'utf8').replace('  batch_size: 2', '  batch_sise: 2'));
  const r = await runCli(['train', '--config', bad, '--name', 'typo', '--logdir', join(f.dir, 'logs')], f.dir);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /data\.batch_sise: unknown key "batch_sise" \(did you mean "batch_size"\?\)/);
  assert.equal(r.stdout, '');
  // an override with a typo: same treatment
  const o = await runCli(['train', '--config', good, '--name', 'typo', '--logdir', join(f.dir, 'logs'), 'train.lrr=1e-4'], f.dir);
  assert.notEqual(o.code, 0);
  assert.match(o.stderr, /did you mean "lr"\?/);
});

test('--resume-checkpoint with --load-weights is an error (the reference\'s snake_case spellings are aliases)', async () => {
  const r = await runCli(['train', '--config', flowConfig(f, noVal), '--name', 'both', '--logdir', join(f.dir, 'logs'), '--resume_checkpoint', 'a', '--load_weights', 'b'], f.dir);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^fmboost: --resume-checkpoint and --load-weights cannot be used together/);
  assert.equal(r.code, 1, 'usage');
});

test('a NaN loss stops training naming the step; the last good checkpoint is intact', async () => {
  const logs = join(f.dir, 'logs');
  const r = await runCli(['train', '--config', flowConfig(f, { ...noVal, checkpoint_every: 2, max_steps: 8 }), '--name', 'nan', '--logdir', logs], f.dir, { FMBOOST_INJECT_NAN_STEP: '5' });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /^fmboost: the loss is NaN at step 5\b/m);
  assert.match(r.stderr, /Last good checkpoint: .*step-000000004\.safetensors/);
  const ckdir = join(logs, 'nan/checkpoints');
  assert.deepEqual(readdirSync(ckdir).filter((n) => !n.startsWith('.')).sort(), ['last.safetensors', 'step-000000002.safetensors', 'step-000000004.safetensors']);
  const ck = loadCheckpoint(join(ckdir, 'last.safetensors'));
  assert.equal(ck.step, 4);
  for (const [k, t] of [...ck.model, ...ck.ema]) assert.ok(t.toFloat32Array().every(Number.isFinite), `${k} is not finite`);
  for (const m of [ck.model, ck.ema, ck.rng, ck.optimizer!.tensors]) for (const t of m.values()) t.dispose();
});

test('a checkpoint that cannot be written is reported, earlier checkpoints stay, training finishes with exit code 3', async () => {
  const logs = join(f.dir, 'logs');
  // `last.safetensors` is a non-empty folder: renaming the new file onto it fails
  mkdirSync(join(logs, 'nosave/checkpoints/last.safetensors/x'), { recursive: true });
  const r = await runCli(['train', '--config', flowConfig(f, { ...noVal, checkpoint_every: 2, max_steps: 4 }), '--name', 'nosave', '--logdir', logs], f.dir);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /checkpoint save FAILED at step 2 \(step, last\)/);
  assert.match(r.stderr, /checkpoint save\(s\) failed during training/);
  for (const s of [2, 4]) {
    const ck = loadCheckpoint(join(logs, `nosave/checkpoints/step-00000000${s}.safetensors`));
    assert.equal(ck.step, s);
    for (const m of [ck.model, ck.ema, ck.rng, ck.optimizer!.tensors]) for (const t of m.values()) t.dispose();
  }
});

test('--load_weights loads fitting tensors non-strictly and reports the rest', async () => {
  const logs = join(f.dir, 'logs');
  const src = await runCli(['train', '--config', flowConfig(f, { ...noVal, checkpoint_every: 0, max_steps: 1 }), '--name', 'src', '--logdir', logs], f.dir);
  assert.equal(src.code, 0, src.stderr);
  // a wider middle: 2 res blocks per level → extra blocks (missing in the file) and shifted ones
  const cfg = flowConfig(f, { ...noVal, checkpoint_every: 0, max_steps: 1 });
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('num_res_blocks: 1, channel_mult', 'num_res_blocks: 2, channel_mult'));
  const r = await runCli(['train', '--config', cfg, '--name', 'dst', '--logdir', logs, '--load_weights', join(logs, 'src/checkpoints/last.safetensors')], f.dir);
  assert.equal(r.code, 0, r.stderr);
  const m = /--load-weights .*: model: loaded (\d+) of the model's \d+ tensors; kept initial values for (\d+) missing: .*; skipped (\d+) unexpected/.exec(r.stderr);
  assert.ok(m, r.stderr);
  assert.ok(Number(m[1]) > 10 && Number(m[2]) > 0 && Number(m[3]) > 0, m[0]);
  assert.match(r.stderr, /--load-weights .*: EMA: loaded \d+ of the model's \d+ tensors/);
  // --min-match: the same file is refused when it must fill (nearly) all of the wider model
  const strict = await runCli(['train', '--config', cfg, '--name', 'dst2', '--logdir', logs, '--load-weights', join(logs, 'src/checkpoints/last.safetensors'), '--min-match', '0.99'], f.dir);
  assert.equal(strict.code, 1, strict.stderr);
  assert.match(strict.stderr, /^fmboost: --load-weights .*: it fills \d+% of the model's tensors, below --min-match 0\.99/m);
});

test('--load_weights from a model bundle takes its UNet; a file with nothing that fits is an error', async () => {
  const logs = join(f.dir, 'logs');
  const src = await runCli(['train', '--config', flowConfig(f, { ...noVal, checkpoint_every: 0, max_steps: 1 }), '--name', 'bsrc', '--logdir', logs], f.dir);
  assert.equal(src.code, 0, src.stderr);
  const bundle = join(f.dir, 'b.safetensors');
  const ex = await runCli(['export', join(logs, 'bsrc/checkpoints/last.safetensors'), '--out', bundle], f.dir);
  assert.equal(ex.code, 0, ex.stderr);
  const cfg = flowConfig(f, { ...noVal, checkpoint_every: 0, max_steps: 1 });
  const r = await runCli(['train', '--config', cfg, '--name', 'bdst', '--logdir', logs, '--load_weights', bundle], f.dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /--load-weights .*: model: loaded (\d+) of the model's \1 tensors(?!; kept)/);
  assert.doesNotMatch(r.stderr, /missing/);
  // the VAE's weights file holds no UNet key: refused, naming the file
  const bad = await runCli(['train', '--config', cfg, '--name', 'bbad', '--logdir', logs, '--load_weights', f.vae], f.dir);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--load-weights .*: none of its \d+ tensors fits the UNet/);
});
