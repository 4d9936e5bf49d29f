import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, randn, nn, tidy, Generator, manualSeed, writeSafetensors, liveTensors, type Tensor } from '../../src/tensor_library.js';
import { CheckpointDir, CheckpointError, loadCheckpoint, saveCheckpoint } from '../../src/artifacts/checkpoint.js';
import { EMA } from '../../src/train/ema.js';
import { ROOT } from '../helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'fmboost-ckpt-'));
const vals = (t: Tensor) => Array.from(t.toFloat32Array());

function trainSteps(m: nn.Linear, opt: nn.Adam, ema: EMA, n: number) {
  for (let i = 0; i < n; i++) {
    tidy(() => {
      const x = tensor([[1, 2], [3, -1]]);
      const loss = m.forward(x).pow(2).mean();
      m.zeroGrad();
      loss.backward();
      opt.step();
      ema.update();
    });
  }
}

test('checkpoint round trip: model, EMA, optimizer, RNG state, metadata; resume continues identically', () => {
  const dir = tmp();
  try {
    manualSeed(1);
    const m = new nn.Linear({ inFeatures: 2, outFeatures: 1 });
    const opt = new nn.Adam(m.parameters(), { lr: 0.1 });
    const ema = new EMA(m, { updateAfterStep: 1, updateEvery: 1, power: 0.75, maxDecay: 0.999 });
    trainSteps(m, opt, ema, 3);
    const gen = new Generator(42);
    tidy(() => randn([5], { generator: gen }));
    const ck = new CheckpointDir(dir);
    const paths = tidy(() => ck.save({
      step: 3, model: m.stateDict(), ema: ema.averaged(), optimizer: opt.stateDict(),
      rng: new Map([['data', gen.getState()]]), trainer: { ema: { ...ema.state() }, scheduler: { step: 3 } }, config: { train: { lr: 0.1 } },
    }, ['step', 'last']));
    assert.deepEqual(paths.map((p) => p.slice(dir.length + 1)), ['step-000000003.safetensors', 'last.safetensors']);
    const expectNext = tidy(() => vals(randn([4], { generator: gen })));

    const back = loadCheckpoint(join(dir, 'last.safetensors'));
    assert.equal(back.step, 3);
    assert.deepEqual(back.trainer, { ema: { step: 3, initted: true }, scheduler: { step: 3 } });
    assert.deepEqual(back.config, { train: { lr: 0.1 } });
    assert.deepEqual([...back.model.keys()].sort(), ['bias', 'weight']);
    assert.deepEqual(vals(back.model.get('weight')!), vals(m.weight));
    assert.deepEqual(vals(back.ema.get('bias')!), vals(ema.averaged().get('bias')!));
    assert.equal(back.optimizer!.meta.type, 'Adam');
    assert.deepEqual([...back.optimizer!.tensors.keys()].sort(), ['state.0.exp_avg', 'state.0.exp_avg_sq', 'state.1.exp_avg', 'state.1.exp_avg_sq']);
    assert.equal(back.rng.get('data')!.dtype, 'uint8');
    const g2 = new Generator(0).setState(back.rng.get('data')!);
    assert.deepEqual(tidy(() => vals(randn([4], { generator: g2 }))), expectNext);

    // Resume into fresh objects and take two more steps next to the original: identical weights.
    const m2 = new nn.Linear({ inFeatures: 2, outFeatures: 1 });
    m2.loadStateDict(back.model);
    const opt2 = new nn.Adam(m2.parameters(), { lr: 0.5 });
    opt2.loadStateDict(back.optimizer!);
    assert.equal(opt2.paramGroups[0].lr, 0.1); // hyper-parameters come from the checkpoint
    const ema2 = new EMA(m2, { updateAfterStep: 1, updateEvery: 1, power: 0.75, maxDecay: 0.999 });
    ema2.loadState(back.trainer.ema as unknown as { step: number; initted: boolean }, back.ema);
    trainSteps(m, opt, ema, 2);
    trainSteps(m2, opt2, ema2, 2);
    assert.deepEqual(vals(m2.weight), vals(m.weight));
    assert.deepEqual(vals(ema2.averaged().get('weight')!), vals(ema.averaged().get('weight')!));
    for (const mp of [back.model, back.ema, back.rng, back.optimizer!.tensors]) for (const t of mp.values()) t.dispose();
    // the hard-linked `last` and the step file are the same bytes
    assert.ok(readFileSync(paths[0]).equals(readFileSync(paths[1])));
    for (const x of [m, m2]) x.dispose();
    ema.dispose();
    ema2.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a save that fails mid-write (disk full) leaves the previous checkpoint intact and loadable', () => {
  const dir = tmp();
  try {
    const ck = new CheckpointDir(dir);
    tidy(() => ck.save({ step: 3, model: new Map([['w', tensor([1, 2, 3])]]), trainer: { note: 'old' } }, ['last']));
    const last = join(dir, 'last.safetensors');
    const before = readFileSync(last);
    // A child process with a 16 KiB file-size limit saves a 400 KB checkpoint over `last`: the header
    // fits, the tensor bytes do not, so write() fails half-way (EFBIG, as ENOSPC would).
    const lib = join(ROOT, 'dist', 'src', 'tensor_library.js');
    const ckLib = join(ROOT, 'dist', 'src', 'artifacts', 'checkpoint.js');
    const js = `import { randn } from ${JSON.stringify(lib)}; import { CheckpointDir } from ${JSON.stringify(ckLib)};
      try { new CheckpointDir(${JSON.stringify(dir)}).save({ step: 5, model: new Map([['w', randn([100000])]]) }, ['last']); console.log('WROTE'); }
      catch (e) { console.log('ERR ' + e.name + ': ' + e.message); }`;
    const r = spawnSync('bash', ['-c', 'ulimit -f 16 && exec "$0" --input-type=module -e "$1"', process.execPath, js], { encoding: 'utf8' });
    assert.match(r.stdout, /ERR WeightsFileError: .*last\.safetensors \[model\.w\]: write failed/, r.stdout + r.stderr);
    assert.ok(readFileSync(last).equals(before), 'previous checkpoint must be byte-identical');
    assert.deepEqual(readdirSync(dir), ['last.safetensors']);
    const back = loadCheckpoint(last);
    assert.equal(back.step, 3);
    assert.deepEqual(back.trainer, { note: 'old' });
    assert.deepEqual(vals(back.model.get('w')!), [1, 2, 3]);
    back.model.get('w')!.dispose();

    // A writer killed outright leaves its temp file; a torn file under a checkpoint name is unreadable.
    writeFileSync(join(dir, '.last.safetensors.999.deadbeef.tmp'), before.subarray(0, 40));
    writeFileSync(join(dir, 'step-000000009.safetensors'), before.subarray(0, before.length - 4));
    const latest = ck.latest()!;
    assert.equal(latest.name, 'last.safetensors');
    assert.equal(latest.step, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('listing picks the highest step; interrupted saves count; foreign files are rejected with a clear error', () => {
  const dir = tmp();
  try {
    const ck = new CheckpointDir(dir);
    const start = liveTensors();
    tidy(() => {
      ck.save({ step: 10, model: new Map([['w', tensor([1])]]) }, ['step', 'last']);
      ck.save({ step: 20, model: new Map([['w', tensor([2])]]) }, ['step']);
      ck.save({ step: 25, model: new Map([['w', tensor([3])]]) }, ['interrupted']);
    });
    assert.equal(liveTensors(), start);
    assert.deepEqual(ck.list().map((c) => [c.name, c.kind, c.step]).sort(), [
      ['interrupted.safetensors', 'interrupted', 25], ['last.safetensors', 'last', 10],
      ['step-000000010.safetensors', 'step', 10], ['step-000000020.safetensors', 'step', 20],
    ]);
    assert.deepEqual(ck.list().map((c) => c.step), [10, 10, 20, 25]);
    assert.equal(ck.latest()!.kind, 'interrupted');
    assert.ok(statSync(join(dir, 'step-000000020.safetensors')).size > 0);

    const plain = join(dir, 'weights.safetensors');
    tidy(() => writeSafetensors(plain, { w: tensor([1]) }));
    assert.throws(() => loadCheckpoint(plain), (e: Error) => e instanceof CheckpointError && /not an fmboost training checkpoint/.test(e.message));
    assert.throws(() => tidy(() => saveCheckpoint(join(dir, 'x.safetensors'), { step: 1, model: new Map(), rng: new Map([['g', tensor([1.5])]]) })), /rng state "g" must be a uint8 tensor/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
