// The upscaling bench rows (bench/rows/upscale.ts) without timing: their registration, the skip reason while the
// model is missing, their FLOP counts, our side's leak-free run, the memory probe's child process, and that the
// PyTorch pipeline (bench/torch_upscale.py) computes what ours does, so the ratio compares equal work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { liveTensors, manualSeed, noGrad, randnLike, tidy, type Tensor } from '../../src/tensor/index.js';
import { readSafetensors, writeSafetensors } from '../../src/io/index.js';
import { createUNet, createVAE, unetMacs, vaeMacs } from '../../src/models/index.js';
import { Upsampler, defaultModelPath, planTiles, writeBundle } from '../../src/pipeline/index.js';
import { allProbes, allRows, skippedRows } from '../../bench/registry.js';
import { TorchBaseline, PYTHON } from '../../bench/torch_client.js';
import { GROUP, NFES, OUT_SIDES, defaultSizes, upscaleRows } from '../../bench/rows/upscale.js';
import { benchModelPath, inspectBundle, pipelineFlops, testImage } from '../../bench/upscale_setup.js';
import { ROOT, maxAbsDiff } from '../helpers.js';
import { tmpDir, writeTinyBundle } from '../pipeline/tiny.js';

const torchMissing = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0 ? false : `${PYTHON} cannot import torch`;

let dir: string, cleanup: () => void, tiny: string;
before(() => {
  ({ dir, cleanup } = tmpDir('fmboost-bench-upscale-'));
  tiny = writeTinyBundle(join(dir, 'tiny.safetensors'), { steps: 3 }, 3, 'tiny', 0.05);
});
after(() => cleanup());

test('rows: to 512² and 1024² outputs at nfe 1, 2, 4, 10 and the 2048² memory probe, registered in the upscaling group', () => {
  const names = allRows().filter((r) => r.group === GROUP).map((r) => r.name);
  const b = inspectBundle(defaultModelPath());
  const f = 'info' in b ? b.info.flow.factor : 2;
  const expected = OUT_SIDES.flatMap((o) => NFES.map((n) => `upscale ${o / f}→${o} euler nfe ${n}`));
  assert.deepEqual(names, expected);
  assert.deepEqual(NFES, [1, 2, 4, 10]);
  const probes = allProbes().filter((r) => r.group === GROUP);
  assert.equal(probes.length, 2);
  assert.match(probes[0].name, new RegExp(`${2048 / f}→2048 tile 512 .*nfe 1`));
  assert.match(probes[1].name, new RegExp(`${2048 / f}→2048 default \\(tiles by estimate, default --max-memory\\) .*nfe 1`));
  assert.deepEqual(defaultSizes(4), { sizes: [128, 256], rss: { size: 512, tile: 512, nfe: 1 } });
});

test('model path: FMBOOST_BENCH_MODEL overrides the bundled default', () => {
  assert.equal(benchModelPath({ FMBOOST_BENCH_MODEL: '/x/m.safetensors' }), '/x/m.safetensors');
  assert.equal(benchModelPath({}), defaultModelPath());
  assert.match(defaultModelPath(), /fmboost-default\.safetensors$/);
});

test('a missing bundle: every row and the probe are skipped with a reason naming the file', () => {
  const missing = join(dir, 'nope', 'fmboost-default.safetensors');
  const { rows, probes } = upscaleRows({ model: missing });
  assert.equal(rows.length, OUT_SIDES.length * NFES.length);
  const skipped = skippedRows([...rows, ...probes], false);
  assert.equal(skipped.length, rows.length + probes.length);
  for (const s of skipped) {
    assert.ok(s.reason.includes(missing), s.reason);
    assert.match(s.reason, /missing.*FMBOOST_BENCH_MODEL/);
  }
  // Not measurable, so no FLOP count either.
  assert.ok(rows.every((r) => r.flops === undefined));
});

test('a file that is not a model bundle is skipped with the reason', () => {
  const path = join(dir, 'plain.safetensors');
  tidy(() => writeSafetensors(path, { w: testImage(8) }));
  const r = inspectBundle(path);
  assert.ok('skip' in r);
  assert.match(r.skip, /not an fmboost model bundle/);
});

test('--quick: the probe is reported as skipped, timing rows get one round; a usable bundle skips nothing', () => {
  const { rows, probes } = upscaleRows({ model: tiny, sizes: [16, 512], nfes: [1, 2] });
  assert.deepEqual(skippedRows([...rows, ...probes], false), []);
  const quick = skippedRows([...rows, ...probes], true);
  assert.deepEqual(quick.map((s) => s.name), probes.map((p) => p.name));
  assert.match(quick[0].reason, /^--quick: /);
  for (const r of rows) assert.equal(r.quickPlan?.maxRounds, 1, r.name);
  // The full plan: a warm-up on the first row of a size; later large rows share its shapes and skip it.
  assert.equal(rows[0].plan?.warmupCalls, 1);
  assert.equal(rows[3].plan?.warmupCalls, 0);
});

test('FLOPs per image: VAE encode and decode at the output size (PSU), one UNet per evaluation, per tile when tiled', () => {
  const r = inspectBundle(tiny);
  assert.ok('info' in r);
  const b = r.info;
  const vae = vaeMacs(b.vae, 64), lat = 64 / 4;
  assert.equal(pipelineFlops(b, 32, 3), 2 * (vae.encode + 3 * unetMacs(b.unet, lat) + vae.decode));
  // Tiles of 32 px = 8 latent rows with 2 of overlap: every tile is a UNet call, overlaps counted twice.
  const plan = planTiles(lat, lat, 8, undefined, 2);
  assert.ok(plan.tiles.length > 1);
  assert.equal(pipelineFlops(b, 32, 1, 32), 2 * (vae.encode + plan.tiles.length * unetMacs(b.unet, 8) + vae.decode));
  const { rows } = upscaleRows({ model: tiny, sizes: [32], nfes: [1, 4] });
  assert.equal(rows[1].flops! - rows[0].flops!, 2 * 3 * unetMacs(b.unet, lat));
});

test('our side of a row runs the pipeline and frees every tensor', async () => {
  const { rows } = upscaleRows({ model: tiny, sizes: [16], nfes: [2] });
  const live = liveTensors();
  const c = await rows[0].setup();
  await c.run();
  await c.run();
  c.dispose();
  assert.equal(liveTensors(), live);
});

test('the memory probe runs in a fresh process and reports its peak RSS and tiles', async () => {
  const { probes } = upscaleRows({ model: tiny, rss: { size: 16, tile: 16, nfe: 1 } });
  const r = await probes[0].measure({ threads: 1 });
  const afterLoad = Number(r.details?.['peak RSS after model load MB']);
  assert.ok(afterLoad > 10, `RSS after load ${afterLoad} MB`);
  assert.ok(r.peakRssMB.ours >= afterLoad, `peak ${r.peakRssMB.ours} < after load ${afterLoad}`);
  assert.ok(r.oursMs > 0);
  // 32 px output = 8² latent; 16 px tiles = 4 latent rows (size multiple 2), overlap 1.
  assert.equal(r.details?.tiles, planTiles(8, 8, 4, undefined, 2).tiles.length);
  assert.ok(r.peakRssMB.torch === undefined && /GB/.test(r.noTorch ?? ''), r.noTorch);
});

test('a probe whose child fails rejects with the child\'s error', async () => {
  const { probes } = upscaleRows({ model: join(dir, 'gone.safetensors'), rss: { size: 16, tile: 16, nfe: 1 } });
  await assert.rejects(probes[0].measure({ threads: 1 }), /exited with code 1: .*gone\.safetensors/);
});

/** A 64² test image upscaled by ours (Upsampler, `steps` Euler steps, seed 0) and by bench/torch_upscale.py (steps + 1
 *  grid points, 1 thread): both outputs, for the caller to compare and dispose. */
async function oursAndTorch(model: string, name: string, steps: number): Promise<{ ours: Tensor; theirs: Tensor }> {
  const img = testImage(64);
  const input = join(dir, `in-${name}.safetensors`), output = join(dir, `out-${name}.safetensors`);
  tidy(() => writeSafetensors(input, { image: img.unsqueeze(0) }));
  const up = await Upsampler.load({ model });
  const ours = (await up.upsampleImage(img, { steps, solver: 'euler', seed: 0 })).image;
  up.dispose();
  img.dispose();
  const py = spawnSync(PYTHON, [join(ROOT, 'bench', 'torch_upscale.py'), '--bundle', model, '--image', input,
    '--out', output, '--steps', String(steps + 1), '--seed', '0', '--threads', '1'], { encoding: 'utf8' });
  if (py.status !== 0) ours.dispose();
  assert.equal(py.status, 0, py.stderr);
  return { ours, theirs: readSafetensors(output).tensors.get('image')! };
}

test('torch pipeline = ours: unet_small + vae_small (random weights, float16 bundle as the default is exported), seed 0, noise step 400, 2 Euler steps, max |Δ| ≤ 1e-4', { skip: torchMissing }, async () => {
  // The bundled model's presets; the UNet's zero-initialised output conv is perturbed so the velocity is not 0.
  manualSeed(11);
  const unet = createUNet('unet_small'), vae = createVAE('vae_small');
  noGrad(() => { for (const p of unet.parameters()) tidy(() => { p.add_(randnLike(p).mul(0.02)); }); });
  const model = join(dir, 'small.safetensors');
  writeBundle(model, { unet, vae, name: 'random-small', flow: { factor: 2, steps: 3, solver: 'euler', noiseStep: 400 }, dtype: 'float16' });
  unet.dispose();
  vae.dispose();
  const { ours, theirs } = await oursAndTorch(model, 'small', 2); // 2 solver steps = torch_upscale.py's 3 grid points
  try {
    assert.deepEqual(theirs.shape, [1, ...ours.shape]);
    const diff = maxAbsDiff(ours, theirs);
    // Measured 7e-6 (2026-11-25): float rounding between libtorch and PyTorch builds; a different noise draw,
    // time grid or latent scale would be ≥ 1e-2.
    assert.ok(diff <= 1e-4, `max |ours − torch| = ${diff}`);
    // Not a vacuous match of clamped pixels: most of the image lies inside (−1, 1).
    const v = ours.toFloat32Array();
    assert.ok(v.filter((x) => Math.abs(x) < 0.999).length > 0.5 * v.length);
  } finally {
    ours.dispose();
    theirs.dispose();
  }
});

test('torch pipeline = ours on the bundled model (f4c8 VAE with the linear shortcut, no mid attention; 96-ch UNet): 64 → 256, 1 Euler step, max |Δ| ≤ 1e-4', { skip: torchMissing }, async () => {
  // the precision rows' PyTorch side (bench/rows/precision.ts) runs this model: models_reference must compute what ours does
  const { ours, theirs } = await oursAndTorch(defaultModelPath(), 'default', 1);
  try {
    assert.deepEqual(theirs.shape, [1, 3, 256, 256]);
    const diff = maxAbsDiff(ours, theirs);
    assert.ok(diff <= 1e-4, `max |ours − torch| = ${diff}`);
  } finally {
    ours.dispose();
    theirs.dispose();
  }
});

test('the row\'s PyTorch code runs in the bench\'s torch process (tiny bundle)', { skip: torchMissing }, async () => {
  const { rows } = upscaleRows({ model: tiny, sizes: [16], nfes: [1] });
  const torch = new TorchBaseline(join(ROOT, 'bench', 'torch_baseline.py'), 1);
  try {
    await torch.setup('row', rows[0].torch);
    const t = await torch.time('row', { warmupCalls: 0, warmupSec: 0, minSec: 0, minIters: 1, maxIters: 1 });
    assert.equal(t.samples.length, 1);
    assert.ok(t.samples[0] > 0);
  } finally {
    await torch.close();
  }
});
