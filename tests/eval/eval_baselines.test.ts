// The eval's baseline plumbing, with a stand-in ESRGAN install (fake_esrgan.ts): esrgan-slim / esrgan-medium
// rows (alias, --esrgan picks the installed ones and names the missing one), the output cache (stored once,
// reused with its stored seconds, a broken entry recomputed), the image subset (--match) and the grid's ESRGAN
// column; and the CLI flags wiring them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { F, manualSeed, rand, tidy, liveTensors } from '../../src/tensor/index.js';
import { readImage, writeImage } from '../../src/data/index.js';
import { psnr, runEval, disposeGrid, parseRows, makeLowRes, evalMarkdown, EvalError, EsrganUnavailableError } from '../../src/eval/index.js';
import { tmpDir, writeTinyBundle } from '../pipeline/tiny.js';
import { ROOT } from '../helpers.js';
import { writeFakeEsrgan, fakeEsrganOutput, fakePredicts } from './fake_esrgan.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const NAMES = ['p1_r0c0.png', 'p1_r0c1.png', 'p2_r0c0.png'];
let dir: string, cleanup: () => void, model: string, imgDir: string, both: string, slimOnly: string, none: string;

before(async () => {
  ({ dir, cleanup } = tmpDir('fmboost-eval-base-'));
  model = writeTinyBundle(join(dir, 'tiny.safetensors'), { steps: 3 }, 6, 'tiny-eval-base');
  imgDir = join(dir, 'images');
  mkdirSync(imgDir);
  manualSeed(12);
  for (const n of NAMES) {
    const im = tidy(() => F.interpolate(rand([1, 3, 8, 8]), { size: [32, 32], mode: 'bilinear', alignCorners: false }).mul(2).sub(1).squeeze(0));
    await writeImage(join(imgDir, n), im);
    im.dispose();
  }
  both = writeFakeEsrgan(join(dir, 'both'), ['slim', 'medium']);
  slimOnly = writeFakeEsrgan(join(dir, 'slim'), ['slim']);
  none = join(dir, 'none');
  mkdirSync(none);
});

after(() => cleanup());

test('row names: esrgan is an alias of esrgan-slim (one row), esrgan-medium is its own row', () => {
  assert.deepEqual(parseRows('esrgan,esrgan-slim,esrgan-medium').map((r) => [r.kind, r.label]), [['esrgan-slim', 'esrgan-slim'], ['esrgan-medium', 'esrgan-medium']]);
});

test('--match keeps the matching file names (before --limit); a bad or unmatched pattern is an EvalError', async () => {
  const r = await runEval({ model, images: imgDir, rows: 'bicubic', match: '_r0c0', gridImages: 0 });
  assert.deepEqual(r.images, ['p1_r0c0.png', 'p2_r0c0.png']);
  const l = await runEval({ model, images: imgDir, rows: 'bicubic', match: /c1\.png$/, limit: 5, gridImages: 0 });
  assert.deepEqual(l.images, ['p1_r0c1.png']);
  await assert.rejects(runEval({ model, images: imgDir, rows: 'bicubic', match: '_r9' }), (e: Error) => e instanceof EvalError && /none of the 3 images .* matches \/_r9\//.test(e.message));
  await assert.rejects(runEval({ model, images: imgDir, rows: 'bicubic', match: '(' }), (e: Error) => e instanceof EvalError && /match '\(' is not a valid regular expression/.test(e.message));
});

test('esrgan: true adds both installed variants; outputs are the packages\' (stub) outputs; the grid shows slim', async () => {
  const before = liveTensors();
  const r = await runEval({ model, images: imgDir, rows: 'bicubic,euler:3', esrgan: true, esrganModules: both, gridImages: 1, limit: 2 });
  assert.deepEqual(r.rows.map((x) => x.label), ['bicubic', 'euler:3', 'esrgan-slim', 'esrgan-medium']);
  for (const [i, n] of r.images.entries()) {
    const hr = await readImage(join(imgDir, n));
    const low = makeLowRes(hr, 2);
    for (const v of ['slim', 'medium'] as const) {
      const want = fakeEsrganOutput(low.image, v);
      assert.ok(Math.abs(r.rows.find((x) => x.label === `esrgan-${v}`)!.perImage[i].psnr - psnr(want, hr)) < 1e-9, `${n} ${v}`);
      want.dispose();
    }
    hr.dispose(); low.image.dispose();
  }
  assert.notEqual(r.rows[2].psnr, r.rows[3].psnr);
  assert.deepEqual(r.gridColumns, ['bicubic', 'esrgan-slim', 'euler:3', 'ground truth']);
  assert.equal(r.grid[0].length, 4);
  // the ESRGAN column is the slim row's output
  const hr = await readImage(join(imgDir, r.images[0]));
  const low = makeLowRes(hr, 2);
  const slim = fakeEsrganOutput(low.image, 'slim');
  assert.equal(tidy(() => r.grid[0][1].sub(slim).abs().max().item()), 0);
  for (const t of [hr, low.image, slim]) t.dispose();
  // medium alone: its column
  const m = await runEval({ model, images: imgDir, rows: 'esrgan-medium', esrganModules: both, gridImages: 1, limit: 1 });
  assert.deepEqual(m.gridColumns, ['bicubic', 'esrgan-medium', 'ground truth']);
  disposeGrid(r); disposeGrid(m);
  assert.equal(liveTensors(), before);
});

test('esrgan: true with one package installed adds it and names the missing one; with none it is an error', async () => {
  const lines: string[] = [];
  const r = await runEval({ model, images: imgDir, rows: 'bicubic', esrgan: true, esrganModules: slimOnly, gridImages: 0, limit: 1, onProgress: (l) => lines.push(l) });
  assert.deepEqual(r.rows.map((x) => x.label), ['bicubic', 'esrgan-slim']);
  assert.ok(lines.some((l) => /no esrgan-medium row: .*@upscalerjs\/esrgan-medium.*npm install --no-save @upscalerjs\/esrgan-medium@1\.0\.0/.test(l)), lines.join('\n'));
  await assert.rejects(runEval({ model, images: imgDir, rows: 'bicubic', esrgan: true, esrganModules: none }), (e: Error) => e instanceof EsrganUnavailableError && /esrgan-slim/.test(e.message) && /esrgan-medium/.test(e.message));
  await assert.rejects(runEval({ model, images: imgDir, rows: 'esrgan-medium', esrganModules: slimOnly }), (e: Error) => e instanceof EsrganUnavailableError && /@upscalerjs\/esrgan-medium/.test(e.message));
});

test('cache: outputs stored per (row, low-res sha256) and reused with the stored seconds; a broken entry is recomputed', async () => {
  const cache = join(dir, 'cache');
  const opts = { model, images: imgDir, rows: 'esrgan-slim,esrgan-medium', esrganModules: both, cache, gridImages: 0 };
  const p0 = fakePredicts();
  const first = await runEval(opts);
  assert.equal(fakePredicts() - p0, 2 * NAMES.length);
  for (const row of first.rows) assert.equal(row.cachedImages, 0);
  const slimDir = join(cache, 'esrgan-slim@1.0.0');
  const entries = readdirSync(slimDir).sort();
  assert.equal(entries.filter((f) => f.endsWith('.png')).length, NAMES.length);
  assert.equal(entries.filter((f) => f.endsWith('.json')).length, NAMES.length);
  assert.ok(entries.every((f) => /^[0-9a-f]{64}\.(png|json)$/.test(f)), entries.join());
  // plant known seconds in one entry: the second run must report them
  const j0 = join(slimDir, entries.find((f) => f.endsWith('.json'))!);
  const meta = JSON.parse(readFileSync(j0, 'utf8'));
  meta.seconds = 123.5;
  writeFileSync(j0, JSON.stringify(meta));

  const p1 = fakePredicts();
  const second = await runEval(opts);
  assert.equal(fakePredicts() - p1, 0, 'a full cache computes nothing');
  for (const [k, row] of second.rows.entries()) {
    assert.equal(row.cachedImages, NAMES.length);
    assert.ok(row.perImage.every((s) => s.cached));
    assert.deepEqual(row.perImage.map((s) => s.psnr), first.rows[k].perImage.map((s) => s.psnr));
    assert.equal(row.swd, first.rows[k].swd);
  }
  assert.ok(second.rows[0].perImage.some((s) => s.seconds === 123.5));
  assert.match(evalMarkdown(second), /\| esrgan-slim \|[^\n]*\*/);
  assert.match(evalMarkdown(second), /outputs from the baseline cache \(esrgan-slim: 3 of 3 images, esrgan-medium: 3 of 3 images\)/);

  // a missing JSON (interrupted write) or a PNG of the wrong size: recomputed and stored again
  rmSync(j0);
  const medDir = join(cache, 'esrgan-medium@1.0.0');
  const png0 = join(medDir, readdirSync(medDir).find((f) => f.endsWith('.png'))!);
  writeFileSync(png0, await sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } }).png().toBuffer());
  const p2 = fakePredicts();
  const third = await runEval(opts);
  assert.equal(fakePredicts() - p2, 2);
  assert.equal(third.rows[0].cachedImages, NAMES.length - 1);
  assert.equal(third.rows[1].cachedImages, NAMES.length - 1);
  assert.deepEqual(third.rows[1].perImage.map((s) => s.psnr), first.rows[1].perImage.map((s) => s.psnr));
  assert.equal((await sharp(png0).metadata()).width, 32);
  assert.equal(readdirSync(slimDir).filter((f) => f.endsWith('.json')).length, NAMES.length);
});

test('CLI: --match, --esrgan and --cache reach the run; the grid has a labelled ESRGAN column', async () => {
  const out = join(dir, 'cli-out');
  const env = { ...process.env, FMBOOST_ESRGAN_MODULES: both };
  const args = [CLI, 'eval', '--model', model, '--images', imgDir, '--match', 'r0c0', '--rows', 'bicubic,euler:2', '--esrgan', '--cache', join(dir, 'cli-cache'), '--grid', '2', '--out', out, '--threads', '1'];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'));
  assert.deepEqual(json.images, ['p1_r0c0.png', 'p2_r0c0.png']);
  assert.deepEqual(json.rows.map((x: { label: string }) => x.label), ['bicubic', 'euler:2', 'esrgan-slim', 'esrgan-medium']);
  assert.deepEqual(json.gridColumns, ['bicubic', 'esrgan-slim', 'euler:2', 'ground truth']);
  assert.match(readFileSync(join(out, 'eval.md'), 'utf8'), /Grid `eval_grid\.png`: per image, bicubic \| esrgan-slim \| euler:2 \| ground truth\./);
  assert.equal(readdirSync(join(dir, 'cli-cache', 'esrgan-medium@1.0.0')).length, 4);
  const again = spawnSync(process.execPath, args, { encoding: 'utf8', env });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /esrgan-medium +PSNR [\d.]+ +SSIM [\d.]+ +[\d.]+ s \(cached\)/);
});
