// runEval + writeEvalReport on a tiny random model and synthetic 64² images: every row present with finite
// numbers, bicubic and VAE rows equal to independent computations, nfe equal to the solvers' closed-form
// counts, and the report files (markdown, JSON, plot and grid PNGs) written and decodable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { F, manualSeed, rand, tidy, tensor, liveTensors } from '../../src/tensor/index.js';
import { floatCHWToU8HWC, readImage, u8HWCToFloatCHW, writeImage } from '../../src/data/index.js';
import { loadModel, disposeModel } from '../../src/pipeline/index.js';
import { psnr, ssim, runEval, lanczosUpscale, lanczosMatrix, writeEvalReport, disposeGrid, parseRows, SwdSet, swd, GRID_HEADER_PX, EvalError, EvalSpecError, EsrganUnavailableError, type EvalResult } from '../../src/eval/index.js';
import { tmpDir, writeTinyBundle } from '../pipeline/tiny.js';
import { golden } from '../helpers.js';

const ROWS = 'bicubic,lanczos,sharp-cubic,vae,psu-rt,lsu-rt,euler:2,euler:5,rk4:2,dopri5,euler:3:lsu:n0';
let dir: string, cleanup: () => void, model: string, imgDir: string, result: EvalResult;

before(async () => {
  ({ dir, cleanup } = tmpDir('fmboost-eval-'));
  model = writeTinyBundle(join(dir, 'tiny.safetensors'), { steps: 5, noiseStep: 400 }, 3, 'tiny-eval');
  imgDir = join(dir, 'images');
  mkdirSync(imgDir);
  manualSeed(5);
  for (const n of ['a', 'b']) {
    // smooth random images: 8² noise bilinearly upsampled to 64²
    const im = tidy(() => F.interpolate(rand([1, 3, 8, 8]), { size: [64, 64], mode: 'bilinear', alignCorners: false }).mul(2).sub(1).squeeze(0));
    await writeImage(join(imgDir, `${n}.png`), im);
    im.dispose();
  }
  writeFileSync(join(imgDir, 'notes.txt'), 'not an image');
  result = await runEval({ model, images: imgDir, rows: ROWS, seed: 7 });
});

after(() => {
  if (result) disposeGrid(result);
  cleanup();
});

test('every requested row is present, in order, with finite means over all images', () => {
  assert.deepEqual(result.rows.map((r) => r.label), ROWS.split(','));
  assert.deepEqual(result.images, ['a.png', 'b.png']);
  for (const r of result.rows) {
    assert.equal(r.perImage.length, 2, r.label);
    for (const k of ['psnr', 'ssim', 'seconds', 'nfe'] as const) assert.ok(Number.isFinite(r[k]), `${r.label}.${k} = ${r[k]}`);
    assert.ok(Math.abs(r.psnr - r.perImage.reduce((a, s) => a + s.psnr, 0) / 2) < 1e-9);
    assert.ok(r.ssim <= 1 && r.ssim > -1);
  }
  assert.deepEqual(result.lowResSize, [[32, 32], [32, 32]]);
});

test('bicubic and sharp-cubic rows equal independent resizes of the bilinear, 8-bit low-res image', async () => {
  const hr = await readImage(join(imgDir, 'b.png'));
  const lo = tidy(() => F.interpolate(hr.unsqueeze(0), { size: [32, 32], mode: 'bilinear', alignCorners: false, antialias: false }).squeeze(0));
  const u8 = floatCHWToU8HWC(lo.toFloat32Array(), 3, 32, 32);
  const lo8 = tensor(u8HWCToFloatCHW(u8, 32, 32, 3), { shape: [3, 32, 32] });
  // libtorch bicubic of the 8-bit image, output quantised to 8 bits
  const bic = tidy(() => F.interpolate(lo8.unsqueeze(0), { size: [64, 64], mode: 'bicubic', alignCorners: false }).squeeze(0));
  const bic8 = tensor(u8HWCToFloatCHW(floatCHWToU8HWC(bic.toFloat32Array(), 3, 64, 64), 64, 64, 3), { shape: [3, 64, 64] });
  const row = result.rows.find((r) => r.label === 'bicubic')!.perImage[1];
  assert.equal(row.image, 'b.png');
  assert.ok(Math.abs(row.psnr - psnr(bic8, hr)) < 1e-9, `${row.psnr} vs ${psnr(bic8, hr)}`);
  assert.ok(Math.abs(row.ssim - ssim(bic8, hr)) < 1e-9);
  const up = await sharp(Buffer.from(u8), { raw: { width: 32, height: 32, channels: 3 } }).resize(64, 64, { kernel: 'cubic', fit: 'fill' }).raw().toBuffer();
  const sc = tensor(u8HWCToFloatCHW(new Uint8Array(up), 64, 64, 3), { shape: [3, 64, 64] });
  const srow = result.rows.find((r) => r.label === 'sharp-cubic')!.perImage[1];
  assert.ok(Math.abs(srow.psnr - psnr(sc, hr)) < 1e-9, `${srow.psnr} vs ${psnr(sc, hr)}`);
  // Lanczos-3 is a different kernel: the rows must not coincide
  assert.notEqual(result.rows.find((r) => r.label === 'lanczos')!.perImage[1].psnr, row.psnr);
  for (const t of [hr, lo, lo8, bic, bic8, sc]) t.dispose();
});

test('Lanczos-3 resize matches PIL (golden) up to PIL\'s 8-bit intermediate rounding', () => {
  const g = golden<{ h: number; w: number; H: number; W: number; input_hwc: number[]; output_hwc: number[] }>('eval_lanczos.json');
  const img = tensor(u8HWCToFloatCHW(Uint8Array.from(g.input_hwc), g.h, g.w, 3), { shape: [3, g.h, g.w] });
  const up = lanczosUpscale(img, g.H, g.W);
  const ours = floatCHWToU8HWC(up.toFloat32Array(), 3, g.H, g.W);
  let maxd = 0, exact = 0;
  for (let i = 0; i < ours.length; i++) {
    const d = Math.abs(ours[i] - g.output_hwc[i]);
    maxd = Math.max(maxd, d);
    if (d === 0) exact++;
  }
  assert.ok(maxd <= 1, `max |Δ| = ${maxd} levels`);
  // PIL rounds its intermediate (horizontal) pass to 8 bits, hence ±1 on a quarter of the pixels
  assert.ok(exact / ours.length > 0.6, `only ${exact} / ${ours.length} pixels exact`);
  // rows of the matrix sum to 1
  const m = lanczosMatrix(7, 15);
  for (let i = 0; i < 15; i++) assert.ok(Math.abs(m.slice(i * 7, i * 7 + 7).reduce((a, b) => a + b, 0) - 1) < 1e-12);
  img.dispose(); up.dispose();
});

test('vae row equals encode (posterior mean) → decode computed directly', async () => {
  const m = loadModel(model);
  const hr = await readImage(join(imgDir, 'a.png'));
  const rec = tidy(() => {
    const post = m.vae.encode(hr.unsqueeze(0));
    const z = post.mean.alias();
    post.dispose();
    return m.vae.decode(z).squeeze(0).clamp(-1, 1);
  });
  const row = result.rows.find((r) => r.label === 'vae')!.perImage[0];
  assert.ok(Math.abs(row.psnr - psnr(rec, hr)) < 1e-3, `${row.psnr} vs ${psnr(rec, hr)}`);
  assert.ok(Math.abs(row.ssim - ssim(rec, hr)) < 1e-4);
  assert.equal(row.nfe, 0);
  hr.dispose(); rec.dispose(); disposeModel(m);
});

test('nfe equals the solvers\' counts: euler N points → N−1, rk4 → 4(N−1), dopri5 adaptive (6 per step + 1)', () => {
  const nfe = (l: string) => result.rows.find((r) => r.label === l)!;
  assert.equal(nfe('euler:2').nfe, 1);
  assert.equal(nfe('euler:5').nfe, 4);
  assert.equal(nfe('rk4:2').nfe, 4);
  assert.equal(nfe('euler:3:lsu:n0').nfe, 2);
  for (const l of ['bicubic', 'lanczos', 'vae', 'psu-rt', 'lsu-rt']) assert.equal(nfe(l).nfe, 0);
  const d = nfe('dopri5');
  // f(t0) + one probe for the initial step size + 6 per attempted step (FSAL)
  for (const s of d.perImage) assert.ok(Number.isInteger(s.nfe) && s.nfe >= 8 && (s.nfe - 2) % 6 === 0, `dopri5 nfe ${s.nfe}`);
  // resolved settings: the model's defaults unless the row overrides them
  assert.equal(nfe('euler:5').source, 'psu');
  assert.equal(nfe('euler:5').noiseStep, 400);
  assert.equal(nfe('euler:3:lsu:n0').source, 'lsu');
  assert.equal(nfe('euler:3:lsu:n0').noiseStep, 0);
});

test('SWD per row: the set distance of the row\'s outputs to the high-res images, recomputed independently; off with swd: false', async () => {
  // bicubic row recomputed: the same outputs through SwdSet / swd with the default options
  const ref = new SwdSet(), bic = new SwdSet();
  for (const [i, n] of ['a.png', 'b.png'].entries()) {
    const hr = await readImage(join(imgDir, n));
    const lo = tidy(() => F.interpolate(hr.unsqueeze(0), { size: [32, 32], mode: 'bilinear', alignCorners: false, antialias: false }).squeeze(0));
    const lo8 = tensor(u8HWCToFloatCHW(floatCHWToU8HWC(lo.toFloat32Array(), 3, 32, 32), 32, 32, 3), { shape: [3, 32, 32] });
    const up = tidy(() => F.interpolate(lo8.unsqueeze(0), { size: [64, 64], mode: 'bicubic', alignCorners: false }).squeeze(0));
    const up8 = tensor(u8HWCToFloatCHW(floatCHWToU8HWC(up.toFloat32Array(), 3, 64, 64), 64, 64, 3), { shape: [3, 64, 64] });
    ref.add(hr, i); bic.add(up8, i);
    for (const t of [hr, lo, lo8, up, up8]) t.dispose();
  }
  const want = swd(ref, bic);
  const row = result.rows.find((r) => r.label === 'bicubic')!;
  assert.ok(Math.abs(row.swd! - want.swd) < 1e-9, `${row.swd} vs ${want.swd}`);
  assert.deepEqual(row.swdLevels, want.levels);
  for (const r of result.rows) assert.ok(r.swd! > 0, `${r.label}: ${r.swd}`);
  // swd: false switches it off
  const off = await runEval({ model, images: imgDir, rows: 'bicubic', limit: 1, gridImages: 0, swd: false });
  assert.equal(off.rows[0].swd, null);
  assert.deepEqual(off.rows[0].swdLevels, []);
});

test('LSU override changes the result; rows are deterministic for a seed', async () => {
  const a = result.rows.find((r) => r.label === 'euler:3:lsu:n0')!;
  const again = await runEval({ model, images: imgDir, rows: 'euler:3:lsu:n0,euler:3:psu:n0,euler:3:n0', seed: 7, limit: 1, gridImages: 0 });
  assert.equal(again.rows[0].perImage[0].psnr, a.perImage[0].psnr);
  assert.notEqual(again.rows[1].perImage[0].psnr, a.perImage[0].psnr);
  // euler:3:n0 resolves to the same settings as euler:3:psu:n0 (a PSU model): same result
  assert.deepEqual(again.rows[2].perImage, again.rows[1].perImage);
  assert.equal(again.rows[2].swd, again.rows[1].swd);
  assert.equal(again.images.length, 1);
});

test('report files: table and JSON list every row, plot and grid PNGs decode with the expected sizes', async () => {
  const out = join(dir, 'report');
  const files = await writeEvalReport(result, out);
  const md = readFileSync(files.md, 'utf8');
  assert.match(md, /\| PSNR \(dB\) \| SSIM \| SWD×1e3 ↓ \|/);
  for (const r of result.rows) assert.match(md, new RegExp(`^\\| ${r.label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\|[^\\n]* \\| ${r.psnr.toFixed(2)} \\| ${r.ssim.toFixed(4)} \\| ${r.swd!.toFixed(2)} \\|`, 'm'));
  const json = JSON.parse(readFileSync(files.json, 'utf8'));
  assert.deepEqual(json.rows.map((r: { label: string }) => r.label), ROWS.split(','));
  for (const r of json.rows) assert.ok(Number.isFinite(r.psnr) && Number.isFinite(r.ssim) && Number.isFinite(r.nfe) && Number.isFinite(r.swd));
  // per-level SWD in the JSON: 64² images → levels 64, 32, 16
  assert.deepEqual(json.rows[0].swdLevels.map((l: { res: number }) => l.res), [64, 32, 16]);
  const plot = await sharp(readFileSync(files.plot)).metadata();
  assert.deepEqual([plot.width, plot.height], [640, 400], "the chart's default size (src/util/chart.ts)");
  assert.ok(existsSync(files.grid!));
  const g = await sharp(readFileSync(files.grid!)).raw().toBuffer({ resolveWithObject: true });
  // 2 images × (bicubic | euler:5 | ground truth), 64² cells, 2 px gaps, a label strip on top
  assert.deepEqual(result.gridColumns, ['bicubic', 'euler:5', 'ground truth']);
  assert.equal(g.info.width, 3 * 64 + 2 * 2);
  assert.equal(g.info.height, GRID_HEADER_PX + 2 * 64 + 2);
  // the labels are drawn: the strip holds dark pixels above each column
  for (let k = 0; k < 3; k++) {
    let dark = 0;
    for (let y = 0; y < GRID_HEADER_PX; y++) for (let x = k * 66; x < k * 66 + 64; x++) if (g.data[(y * g.info.width + x) * 3] < 128) dark++;
    assert.ok(dark > 5, `column ${k}: ${dark} dark label pixels`);
  }
  // the ground-truth cell of the first row is image a.png
  const hr = floatCHWToU8HWC((await readImage(join(imgDir, 'a.png'))).toFloat32Array(), 3, 64, 64);
  const x0 = 2 * (64 + 2);
  for (const [y, x] of [[0, 0], [10, 33], [63, 63]]) {
    for (let c = 0; c < 3; c++) assert.equal(g.data[((GRID_HEADER_PX + y) * g.info.width + x0 + x) * 3 + c], hr[(y * 64 + x) * 3 + c]);
  }
  // the row sampling with the model's own settings (euler, 5 points, psu, noise 400)
  assert.equal(result.gridRow, 'euler:5');
});

test('the default rows gain the row of the model\'s own sampler when none of them is it; the grid shows it', async () => {
  const own = writeTinyBundle(join(dir, 'rk4-4.safetensors'), { solver: 'rk4', steps: 4 }, 3, 'tiny-rk4');
  const r = await runEval({ model: own, images: imgDir, limit: 1, seed: 7, swd: false });
  try {
    assert.deepEqual(r.rows.map((x) => x.label), [...parseRows().map((x) => x.label), 'rk4:4']);
    assert.equal(r.gridRow, 'rk4:4');
    assert.equal(r.rows.at(-1)!.nfe, 3 * 4);
  } finally { disposeGrid(r); }
  // rows given explicitly are run as given
  const r2 = await runEval({ model: own, images: imgDir, limit: 1, seed: 7, swd: false, rows: 'bicubic,euler:5' });
  try { assert.deepEqual(r2.rows.map((x) => x.label), ['bicubic', 'euler:5']); } finally { disposeGrid(r2); }
});

test('clear errors: missing folder, folder without images, missing model, bad row spec, ESRGAN packages absent', async () => {
  await assert.rejects(runEval({ model, images: join(dir, 'nope') }), (e: Error) => e instanceof EvalError && /does not exist/.test(e.message));
  await assert.rejects(runEval({ model, images: dir, rows: 'bicubic' }), (e: Error) => e instanceof EvalError && /no images/.test(e.message));
  await assert.rejects(runEval({ model: join(dir, 'missing.safetensors'), images: imgDir, rows: 'bicubic' }), /missing\.safetensors/);
  await assert.rejects(runEval({ model, images: imgDir, rows: 'bicubic,euler:2', gridRow: 'rk4:2' }), (e: Error) => e instanceof EvalError && /gridRow 'rk4:2'/.test(e.message));
  await assert.rejects(runEval({ model, images: imgDir, rows: 'bicubic,esrgan', esrganModules: dir }), (e: Error) => e instanceof EsrganUnavailableError && /npm install --no-save @upscalerjs\/esrgan-slim/.test(e.message));
  assert.throws(() => parseRows('bicubic,euler:1'), EvalSpecError);
  assert.throws(() => parseRows('bicubc'), (e: Error) => e instanceof EvalSpecError && /unknown row 'bicubc'/.test(e.message));
  assert.throws(() => parseRows('euler:11:xyz'), EvalSpecError);
});

test('runEval frees its tensors', async () => {
  const before = liveTensors();
  const r = await runEval({ model, images: imgDir, rows: 'bicubic,lanczos,vae,psu-rt,lsu-rt,euler:3', limit: 1 });
  disposeGrid(r);
  assert.equal(liveTensors(), before);
});
