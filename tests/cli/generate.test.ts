// `fmboost generate` as a subprocess on the tiny SD fixture (scripts/goldens/sd_base_fixture.py): --boost none writes
// the base picture, a tiny CFM boosts it (output = base size × scale), refusals come before any work with their
// exit codes (1 usage, 2 a model that cannot be used).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeImage, readImageText } from '../../src/data/index.js';
import { ROOT } from '../helpers.js';
import { tmpDir, writeTinyBundle } from '../pipeline/tiny.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const FX = join(ROOT, 'tests', 'fixtures', 'pipeline', 'sd_tiny');
const BASE = join(FX, 'diffusers');
let dir: string, cleanup: () => void, model: string;

const run = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [CLI, 'generate', ...args], { encoding: 'utf8', cwd: dir, env: { ...process.env, ...env } });

before(() => {
  ({ dir, cleanup } = tmpDir('fmboost-cli-generate-'));
  model = writeTinyBundle(join(dir, 'tiny.safetensors'), { steps: 3 }, 1, 'tiny-cfm');
});
after(() => cleanup());

test('generate: --boost none writes the base picture; a CFM boosts it ×scale; the output is not overwritten', async () => {
  const p = run(['a red fox', '--base', BASE, '--boost', 'none', '--size', '24x16', '--steps', '2', '--seed', '3', '-o', 'base.png']);
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stderr, /base: step 2\/2/);
  const s = await probeImage(join(dir, 'base.png'));
  assert.deepEqual([s.width, s.height], [24, 16]);
  const meta = await readImageText(join(dir, 'base.png'));
  assert.equal(meta['fmboost:prompt'], 'a red fox');
  assert.equal(meta['fmboost:seed'], '3');
  assert.equal(meta['fmboost:model'], undefined, 'no boost, no CFM');

  const q = run(['a red fox', '--base', BASE, '--model', model, '--size', '32', '--steps', '2', '--scale', '2', '--boost-steps', '2', '-o', 'boosted.png']);
  assert.equal(q.status, 0, q.stderr);
  const b = await probeImage(join(dir, 'boosted.png'));
  assert.deepEqual([b.width, b.height], [64, 64], 'base 32² × scale 2');
  const bm = await readImageText(join(dir, 'boosted.png'));
  assert.equal(bm['fmboost:model'], 'tiny-cfm');
  assert.equal(bm['fmboost:base_size'], '32x32');

  const before = readFileSync(join(dir, 'base.png'));
  const r = run(['a red fox', '--base', BASE, '--boost', 'none', '-o', 'base.png']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /base\.png exists \(give --overwrite/);
  assert.deepEqual(readFileSync(join(dir, 'base.png')), before);
  const o = run(['another', '--base', BASE, '--boost', 'none', '--size', '16', '--steps', '2', '-o', 'base.png', '--overwrite', '-q']);
  assert.equal(o.status, 0, o.stderr);
  assert.equal(o.stderr, '');
  assert.equal((await readImageText(join(dir, 'base.png')))['fmboost:prompt'], 'another');
});

test('generate: refusals (no prompt, unknown sampler, single file without --tokenizer, v-prediction, no --base and no bundled base)', () => {
  const cases: [string[], number, RegExp, Record<string, string>?][] = [
    [['--base', BASE, '--boost', 'none', '-o', 'x1.png'], 1, /text-to-image model: give a prompt/],
    [['p', '--base', BASE, '--boost', 'none', '--sampler', 'plms', '-o', 'x2.png'], 1, /--sampler 'plms' is not one of diffusers's: ddim, euler, euler_a/],
    [['p', '--base', join(FX, 'tiny_sd.safetensors'), '--boost', 'none', '-o', 'x3.png'], 1, /holds no tokenizer.*--tokenizer DIR/],
    [['p', '--boost', 'none', '-o', 'x4.png'], 1, /the bundled base model is not installed \(looked for .*nowhere\.safetensors\); give --base/, { FMBOOST_DEFAULT_BASE: join(ROOT, 'nowhere.safetensors') }],
    [['p', '--base', BASE, '--boost', 'maybe', '-o', 'x5.png'], 1, /--boost takes only 'none'/],
    [['p', '--base', BASE, '--size', '12x7', '-o', 'x6.png', '--boost', 'none'], 1, /size must be .* multiples of 4/],
  ];
  const v = join(dir, 'vpred');
  cpSync(BASE, v, { recursive: true });
  const f = join(v, 'scheduler', 'scheduler_config.json');
  writeFileSync(f, JSON.stringify({ ...JSON.parse(readFileSync(f, 'utf8')), prediction_type: 'v_prediction' }));
  cases.push([['p', '--base', v, '--boost', 'none', '-o', 'x7.png'], 2, /prediction_type 'v_prediction' is not supported/]);
  for (const [args, code, re, env] of cases) {
    const p = run(args, env);
    assert.equal(p.status, code, `${args.join(' ')}: ${p.stderr}`);
    assert.match(p.stderr, re);
    assert.ok(!existsSync(join(dir, args[args.indexOf('-o') + 1])), 'nothing written');
  }
});

test('generate with the bundled base model: no prompt, boosted 4× by the bundled CFM (the out-of-the-box pipeline)', async (t) => {
  const bundled = join(ROOT, 'models', 'default', 'fmboost-base.safetensors');
  assert.ok(existsSync(bundled), `the bundled base model is committed: ${bundled}`);
  const p = run(['--seed', '5', '-o', 'own.png']);
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stderr, /base fmboost-base \(fmboost-base\) at 64x64, boost fmboost-default/);
  const s = await probeImage(join(dir, 'own.png'));
  assert.deepEqual([s.width, s.height], [256, 256], 'base 64² × the CFM\'s 4×');
  const meta = await readImageText(join(dir, 'own.png'));
  assert.equal(meta['fmboost:base'], 'fmboost-base');
  assert.equal(meta['fmboost:seed'], '5');
  const q = run(['--seed', '5', '--boost', 'none', '-o', 'own64.png']);
  assert.equal(q.status, 0, q.stderr);
  const b = await probeImage(join(dir, 'own64.png'));
  assert.deepEqual([b.width, b.height], [64, 64]);
  const r = run(['a prompt the unconditional base ignores', '--seed', '5', '--boost', 'none', '-o', 'own64b.png']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /unconditional: the prompt is ignored/);
  assert.deepEqual(readFileSync(join(dir, 'own64b.png')), readFileSync(join(dir, 'own64.png')), 'same seed, same picture (the prompt changes nothing, nor is it stored)');
  t.diagnostic(`generate (bundled base + CFM) stderr: ${p.stderr.trim().split('\n').slice(-1)[0]}`);
});
