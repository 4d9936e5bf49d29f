// `fmboost eval` as a subprocess: files written with every requested row, progress lines on stderr,
// --limit honoured, and one-line errors (exit 1) for a missing folder, a missing model and a bad row spec.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { F, manualSeed, rand, tidy } from '../../src/tensor/index.js';
import { writeImage } from '../../src/data/index.js';
import { GRID_HEADER_PX } from '../../src/eval/index.js';
import { ROOT } from '../helpers.js';
import { tmpDir, writeTinyBundle } from '../pipeline/tiny.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
let dir: string, cleanup: () => void, model: string, imgDir: string;

const run = (args: string[]) => spawnSync(process.execPath, [CLI, 'eval', ...args], { encoding: 'utf8', cwd: dir });

before(async () => {
  ({ dir, cleanup } = tmpDir('fmboost-eval-cli-'));
  model = writeTinyBundle(join(dir, 'tiny.safetensors'), { steps: 3 }, 4, 'tiny-eval-cli');
  imgDir = join(dir, 'imgs');
  mkdirSync(imgDir);
  manualSeed(9);
  for (const n of ['x', 'y', 'z']) {
    const im = tidy(() => F.interpolate(rand([1, 3, 4, 4]), { size: [32, 48], mode: 'bilinear', alignCorners: false }).mul(2).sub(1).squeeze(0));
    await writeImage(join(imgDir, `${n}.png`), im);
    im.dispose();
  }
});

after(() => cleanup());

test('eval writes eval.md, eval.json, the plot and the grid for the requested rows and images', async () => {
  const out = join(dir, 'out');
  const r = run(['--model', model, '--images', imgDir, '--out', out, '--limit', '2', '--rows', 'bicubic,vae,psu-rt,euler:2,euler:3,rk4:2', '--threads', '1']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /\[1\/2\] x\.png bicubic/);
  assert.match(r.stderr, /\[2\/2\] y\.png rk4:2 /);
  assert.doesNotMatch(r.stderr, /z\.png/);
  const json = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'));
  assert.deepEqual(json.rows.map((x: { label: string }) => x.label), ['bicubic', 'vae', 'psu-rt', 'euler:2', 'euler:3', 'rk4:2']);
  assert.deepEqual(json.rows.map((x: { nfe: number }) => x.nfe), [0, 0, 0, 1, 2, 4]);
  for (const x of json.rows) assert.ok(Number.isFinite(x.psnr) && Number.isFinite(x.ssim) && Number.isFinite(x.seconds), x.label);
  assert.deepEqual(json.images, ['x.png', 'y.png']);
  const md = readFileSync(join(out, 'eval.md'), 'utf8');
  for (const l of ['bicubic', 'vae', 'psu-rt', 'euler:2', 'euler:3', 'rk4:2']) assert.match(md, new RegExp(`^\\| ${l} \\|`, 'm'));
  const plot = await sharp(join(out, 'eval_psnr_nfe.png')).metadata();
  assert.equal(plot.format, 'png');
  const grid = await sharp(join(out, 'eval_grid.png')).metadata();
  assert.deepEqual([grid.width, grid.height], [3 * 48 + 4, GRID_HEADER_PX + 2 * 32 + 2]);
});

test('missing folder and bad rows: exit 1 (usage), a missing model exit 2 (bad input), each one clear line', () => {
  const a = run(['--model', model, '--images', join(dir, 'nope'), '--out', join(dir, 'o2')]);
  assert.equal(a.status, 1);
  assert.match(a.stderr, /^fmboost: image folder '.*nope' does not exist\n$/);
  const b = run(['--model', join(dir, 'none.safetensors'), '--images', imgDir, '--rows', 'bicubic', '--out', join(dir, 'o3')]);
  assert.equal(b.status, 2);
  assert.match(b.stderr, /none\.safetensors/);
  assert.equal(b.stderr.trim().split('\n').length, 1, b.stderr);
  const c = run(['--model', model, '--images', imgDir, '--rows', 'bicubic,eulr:3', '--out', join(dir, 'o4')]);
  assert.equal(c.status, 1);
  assert.match(c.stderr, /^fmboost: unknown row 'eulr:3'/);
  assert.ok(!existsSync(join(dir, 'o2')) && !existsSync(join(dir, 'o4')));
});

test('--degradation: the low-res inputs (and so the scores) change, the report names it; a bad name is one line', () => {
  const rows = ['--rows', 'bicubic,psu-rt', '--limit', '2', '--threads', '1', '--grid', '0'];
  const a = run(['--model', model, '--images', imgDir, '--out', join(dir, 'd1'), ...rows]);
  const b = run(['--model', model, '--images', imgDir, '--out', join(dir, 'd2'), '--degradation', 'bicubic_aa', ...rows]);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  const ja = JSON.parse(readFileSync(join(dir, 'd1', 'eval.json'), 'utf8')), jb = JSON.parse(readFileSync(join(dir, 'd2', 'eval.json'), 'utf8'));
  assert.deepEqual([ja.degradation, jb.degradation], ['bilinear', 'bicubic_aa']);
  assert.notEqual(ja.rows[0].psnr, jb.rows[0].psnr);
  assert.match(readFileSync(join(dir, 'd2', 'eval.md'), 'utf8'), /Low-res input \(degradation `bicubic_aa`\): antialiased bicubic/);
  const c = run(['--model', model, '--images', imgDir, '--out', join(dir, 'd3'), '--degradation', 'bicubik', ...rows]);
  assert.equal(c.status, 1);
  assert.match(c.stderr, /^fmboost: unknown degradation 'bicubik' \(known: bilinear, bicubic_aa, bilinear_aa, area\)\n$/);
});
