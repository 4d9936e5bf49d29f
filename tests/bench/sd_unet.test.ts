// The SD UNet bench probes (bench/rows/sd_unet.ts) without the real sizes: their registration, the FLOP count against
// PyTorch hook counts, the PyTorch re-implementation (scripts/goldens/sd_reference.py) against the reference's
// fixtures, and a whole probe run, both sides, at the tiny sd_unet_heads config: ratio and peak RSS fields, the same
// output on both sides, the weights file's removal, and the no-torch path.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tidy, type Tensor } from '../../src/tensor/index.js';
import { readSafetensors, readSafetensorsHeader } from '../../src/io/index.js';
import { SDUNet, SD_UNET_PRESETS } from '../../src/models/sd/index.js';
import { allProbes, skippedRows } from '../../bench/registry.js';
import { PYTHON } from '../../bench/torch_client.js';
import { GROUP, SD15_ROWS, sdUnetProbes, type SDRowsOptions } from '../../bench/rows/sd_unet.js';
import { loadSDUNetStreaming, removeWeights, weightsFile } from '../../bench/sd_unet_setup.js';
import { sdUnetMacs } from '../../src/models/index.js';
import { ROOT, maxAbsDiff } from '../helpers.js';
import { tmpDir } from '../pipeline/tiny.js';

const torchMissing = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0 ? false : `${PYTHON} cannot import torch`;
const FIX = join(ROOT, 'tests', 'fixtures', 'models', 'sd');
const fixtureConfig = (name: string) => JSON.parse(readFileSync(join(FIX, `${name}.json`), 'utf8')).config as Record<string, unknown>;
const { dir, cleanup } = tmpDir('fmboost-bench-sd-test-');
after(() => { removeWeights(); cleanup(); });

test('probes: SD1.5 at 32² and 64² latents, CFG batch 2, context [2,77,768], fp32 and bf16, in the sd-unet group, skipped by --quick', () => {
  const probes = allProbes().filter((p) => p.group === GROUP);
  assert.deepEqual(probes.map((p) => p.name), [32, 64].flatMap((s) => ['fp32', 'bf16'].map((v) => `SD1.5 UNet step [2,4,${s},${s}] ctx [2,77,768] · ${v}`)));
  for (const p of probes) {
    const s = Number(/\[2,4,(\d+),/.exec(p.name)![1]);
    assert.equal(p.flops, 2 * 2 * sdUnetMacs(SD_UNET_PRESETS.sd15, s, s, 77), p.name);
  }
  // an SD1.5 step at 64² is ~0.8 TFLOP per sample (≈ 2 × 0.4 TMAC)
  assert.ok(Math.abs(2 * sdUnetMacs(SD_UNET_PRESETS.sd15, 64) / 0.803e12 - 1) < 0.01);
  assert.equal(SD15_ROWS.batch, 2);
  assert.deepEqual(skippedRows(probes, false), []);
  assert.equal(skippedRows(probes, true).length, probes.length);
});

test('sdUnetMacs = forward-hook count of the PyTorch SDUNet (convs, linears per token, attention products)', { skip: torchMissing }, () => {
  const cases = [['sd_unet_heads', 8, 5], ['sd_unet_headch_lcm', 16, 7]] as const;
  const py = `import sys, json; sys.path.insert(0, ${JSON.stringify(join(ROOT, 'scripts', 'goldens'))}); import sd_reference as S\n` +
    `print(json.dumps([S.count_macs(json.loads(c), s, m) for c, s, m in json.loads(sys.argv[1])]))`;
  const arg = JSON.stringify(cases.map(([n, s, m]) => [JSON.stringify(fixtureConfig(n)), s, m]));
  const r = spawnSync(PYTHON, ['-c', py, arg], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const counted = JSON.parse(r.stdout) as number[];
  cases.forEach(([n, s, m], i) => assert.equal(sdUnetMacs(fixtureConfig(n), s, s, m), counted[i], n));
});

test('sd_reference.py (the PyTorch side) reproduces the reference fixtures within 1e-5 and has SD1.5\'s keys and shapes', { skip: torchMissing }, () => {
  const r = spawnSync(PYTHON, [join(ROOT, 'scripts', 'goldens', 'sd_reference.py')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines[0].sd15, { keys: 686, params: 859520964, reference_params: 859520964 });
  const errs = lines.slice(1).flatMap((l) => Object.entries(l).filter(([k]) => k.startsWith('output')).map(([k, v]) => [`${l.fixture} ${k}`, v as number] as const));
  assert.equal(errs.length, 3); // heads output; headch_lcm output and output.cond
  for (const [k, e] of errs) assert.ok(e <= 1e-5, `${k}: max |Δ| ${e}`);
});

const tiny = (o: Partial<SDRowsOptions> = {}): SDRowsOptions => ({
  label: 'tiny', config: fixtureConfig('sd_unet_heads'), batch: 2, sizes: [{ size: 16, calls: 2 }], ctxLen: 7, ...o,
});

test('a tiny probe runs both sides: ratio, per-side time and peak RSS, and both compute the same output', { skip: torchMissing }, async () => {
  let fp32: Tensor | undefined;
  for (const variant of ['fp32', 'bf16'] as const) {
    const outDir = join(dir, variant);
    mkdirSync(outDir, { recursive: true });
    const [p] = sdUnetProbes(tiny({ variants: [variant], outDir }));
    assert.match(p.name, new RegExp(`^tiny UNet step \\[2,4,16,16\\] ctx \\[2,7,8\\] · ${variant}$`));
    const r = await p.measure({ threads: 1 });
    assert.ok(r.oursMs > 0 && r.torchMs! > 0, JSON.stringify(r));
    assert.equal(r.ratio, r.oursMs / r.torchMs!);
    assert.equal(r.noTorch, undefined);
    for (const side of ['ours', 'torch'] as const) {
      const afterLoad = Number(r.details![`${side} RSS after load MB`]);
      assert.ok(afterLoad > 10 && r.peakRssMB[side]! >= afterLoad, `${side}: peak ${r.peakRssMB[side]} MB, after load ${afterLoad} MB`);
      assert.equal(String(r.details![`${side} ms/call`]).split(', ').length, 2);
    }
    const ours = readSafetensors(join(outDir, 'ours.safetensors')).tensors.get('output')!;
    const theirs = readSafetensors(join(outDir, 'torch.safetensors')).tensors.get('output')!;
    try {
      assert.deepEqual(ours.shape, [2, 4, 16, 16]);
      assert.ok(ours.abs().max().item() > 0.1, 'a vacuous (near-zero) output');
      if (variant === 'fp32') {
        // float rounding only (measured 0: the same libtorch on both sides); another input draw, timestep or weight is O(1)
        const d = maxAbsDiff(ours, theirs);
        assert.ok(d <= 1e-4, `fp32 max |ours − torch| = ${d}`);
        fp32 = ours.clone();
      } else {
        // autocast rounds in different places on the two sides: ‖Δ‖/‖y‖ measured 0.025 between them, 0.021 / 0.028
        // from the fp32 output; a wrong weight or input would be O(1)
        const rel = (a: Tensor, b: Tensor) => tidy(() => a.sub(b).norm().item() / b.norm().item());
        assert.ok(rel(ours, theirs) < 0.1, `bf16 ours vs torch: relative L2 ${rel(ours, theirs)}`);
        assert.ok(rel(ours, fp32!) < 0.1, `bf16 vs fp32 (ours): relative L2 ${rel(ours, fp32!)}`);
      }
    } finally {
      ours.dispose();
      theirs.dispose();
    }
  }
  fp32?.dispose();
});

test('without PyTorch the probe reports ours alone, with the reason', async () => {
  const [p] = sdUnetProbes(tiny({ variants: ['fp32'], python: join(dir, 'no-such-python') }));
  const r = await p.measure({ threads: 1 });
  assert.ok(r.oursMs > 0 && r.peakRssMB.ours > 10);
  assert.equal(r.torchMs, undefined);
  assert.equal(r.ratio, undefined);
  assert.match(r.noTorch ?? '', /no-such-python cannot import torch/);
});

test('the seeded weights file: shared per config and seed, holds every parameter, loads into the UNet, removed by removeWeights', async () => {
  const cfg = fixtureConfig('sd_unet_heads');
  const a = await weightsFile(cfg, 0);
  assert.equal(await weightsFile(cfg, 0), a);
  const b = await weightsFile(cfg, 1);
  assert.notEqual(a, b);
  const net = new SDUNet(cfg);
  try {
    assert.deepEqual([...readSafetensorsHeader(a).tensors.keys()].sort(), [...net.stateDict().keys()].sort());
    loadSDUNetStreaming(net, a, 4096); // many chunks
    const file = readSafetensors(a).tensors;
    for (const [k, t] of net.stateDict()) {
      assert.equal(maxAbsDiff(t, file.get(k)!), 0, k);
      file.get(k)!.dispose();
    }
    // another config's file does not fit
    const other = new SDUNet(fixtureConfig('sd_unet_headch_lcm'));
    assert.throws(() => loadSDUNetStreaming(other, a), /does not fit the UNet/);
    other.dispose();
  } finally {
    net.dispose();
  }
  removeWeights();
  assert.ok(!existsSync(a) && !existsSync(b) && !existsSync(dirname(a)));
});
