import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, tidy, liveTensors, loadTorchCheckpoint, loadWeights, saveWeights, detectWeightsFormat, readSafetensors, unpickle, PyObject, PyGlobal, TensorRef, WeightsFileError, type DType } from '../../src/tensor_library.js';
import { flattenCheckpoint } from '../../src/io/index.js';
import { ROOT, golden } from '../helpers.js';

const FIX = join(ROOT, 'tests', 'fixtures', 'io');
type Expected = Record<string, Record<string, { dtype: DType; shape: number[]; stride: number[]; storage_offset: number; values: (number | string | boolean)[] }>>;
const EXP = JSON.parse(readFileSync(join(FIX, 'torch_expected.json'), 'utf8')) as Expected;

function values(t: Tensor): (number | string | boolean)[] {
  switch (t.dtype) {
    case 'int64': return Array.from(t.data() as BigInt64Array, String);
    case 'bool': return Array.from(t.data() as Uint8Array, (v) => v !== 0);
    case 'float16': case 'bfloat16': return Array.from(t.toFloat32Array());
    default: return Array.from(t.data() as Float64Array); // exact for float32/64 and the small ints
  }
}

for (const file of Object.keys(EXP)) {
  test(`torch.load: ${file} reproduces torch's keys, dtypes, shapes, strides and values exactly`, () => {
    tidy(() => {
      const { tensors } = loadTorchCheckpoint(join(FIX, file));
      assert.deepEqual([...tensors.keys()], Object.keys(EXP[file]), 'keys (in order)');
      for (const [k, e] of Object.entries(EXP[file])) {
        const t = tensors.get(k)!;
        assert.equal(t.dtype, e.dtype, k);
        assert.deepEqual(t.shape, e.shape, k);
        if (e.values.length > 0) assert.deepEqual(t.strides, e.stride, `${k} strides`);
        assert.deepEqual(values(t), e.values, k);
      }
    });
  });
}

test('torch.load: views of one storage share memory, as in torch', () => {
  tidy(() => {
    const { tensors } = loadTorchCheckpoint(join(FIX, 'views.pt'));
    const base = tensors.get('base')!, tr = tensors.get('transposed')!, sl = tensors.get('slice')!;
    assert.equal(sl.isContiguous(), false);
    base.mul_(2); // in place on the base: every view sees it
    assert.deepEqual(tr.tolist(), (EXP['views.pt'].transposed.values as number[]).reduce<number[][]>((rows, v, i) => {
      (rows[Math.floor(i / 4)] ??= []).push(v * 2);
      return rows;
    }, []));
    assert.deepEqual(sl.tolist(), [[16, 18, 20], [28, 30, 32]]);
    // nested dicts flatten to dotted keys; the separate storage is untouched
    assert.deepEqual(tensors.get('nested.inner.w')!.tolist(), EXP['views.pt']['nested.inner.w'].values);
  });
});

test('torch.load: Lightning checkpoint — state_dict flattened, extras kept as inert placeholders', () => {
  const before = liveTensors();
  tidy(() => {
    const { tensors, raw } = loadTorchCheckpoint(join(FIX, 'lightning.ckpt'));
    assert.deepEqual([...tensors.keys()], ['model.weight', 'model.bias', 'ema.num_updates']);
    assert.equal(tensors.get('ema.num_updates')!.item(), 7);
    const r = raw as Map<string, any>;
    assert.equal(r.get('epoch'), 3);
    assert.equal(r.get('pytorch-lightning_version'), '1.9.0');
    const hp = r.get('hyper_parameters') as Map<string, any>;
    const cfg = hp.get('cfg') as PyObject;
    assert.ok(cfg instanceof PyObject);
    assert.equal(String(cfg.cls), '__main__.HParams');
    assert.deepEqual([...(cfg.state as Map<string, unknown>)], [['lr', 1e-4], ['name', 'fm']]);
    assert.equal(String((hp.get('path') as PyObject).cls), 'pathlib.PosixPath');
    assert.deepEqual((hp.get('path') as PyObject).args, ['/', 'tmp', 'run']);
    assert.ok(hp.get('np_scalar') instanceof PyObject);
    assert.deepEqual(hp.get('betas'), [0.9, 0.999]);
    assert.equal(hp.get('big'), 2n ** 70n);
    assert.equal(hp.get('neg'), -5);
    assert.deepEqual([...hp.get('blob')], [0, 255]);
    // optimizer tensors are described, not read
    const st = r.get('optimizer_states')[0].get('state').get(0);
    assert.equal(st.get('step'), 10);
    assert.ok(st.get('exp_avg') instanceof TensorRef);
    assert.deepEqual((st.get('exp_avg') as TensorRef).shape, [2, 2]);
    assert.equal(liveTensors(), before + 3, 'only the three state_dict tensors are materialized');
  });
  assert.equal(liveTensors(), before);
});

test('torch.load: key selection', () => {
  tidy(() => {
    const a = loadTorchCheckpoint(join(FIX, 'dtypes.pt'), { keys: ['bf16', 'bool'] }).tensors;
    assert.deepEqual([...a.keys()], ['bf16', 'bool']);
    const b = loadTorchCheckpoint(join(FIX, 'plain_state_dict.pt'), { keys: (k) => k.endsWith('.bias') }).tensors;
    assert.deepEqual([...b.keys()], ['0.bias', '2.bias', '3.bias']);
  });
  assert.throws(() => loadTorchCheckpoint(join(FIX, 'dtypes.pt'), { keys: ['nope'] }), /\[nope\]: no such tensor/);
});

test('torch.load: unsupported or damaged files give clear errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-pt-'));
  const before = liveTensors();
  try {
    assert.throws(() => loadTorchCheckpoint(join(FIX, 'legacy.pt')), (e: Error) =>
      e instanceof WeightsFileError && /legacy \(pre-1\.6, non-zip\).*re-save it with a newer torch/.test(e.message));
    assert.throws(() => loadTorchCheckpoint(join(FIX, 'compressed.pt')), (e: Error) =>
      e instanceof WeightsFileError && /\[archive\/data\.pkl\]: zip entry is compressed \(method 8\)/.test(e.message));
    const good = readFileSync(join(FIX, 'views.pt'));
    const cut = join(dir, 'cut.pt');
    writeFileSync(cut, good.subarray(0, good.length - 100));
    assert.throws(() => loadTorchCheckpoint(cut), /cut\.pt: zip: (no end-of-central-directory|central directory .* runs past)/);
    const junk = join(dir, 'junk.pt');
    writeFileSync(junk, 'hello world, not a checkpoint');
    assert.throws(() => loadTorchCheckpoint(junk), /not a torch\.save zip archive/);
    assert.throws(() => loadWeights(junk), /unrecognized weights format/);
    // stride-0 views claiming a huge VAE over one-element storages (scripts/goldens/io_broadcast_fixture.py): refused
    // at read, before any config is inferred or model allocated
    const rss = process.memoryUsage.rss();
    assert.throws(() => loadTorchCheckpoint(join(FIX, 'broadcast.ckpt')), (e: Error) =>
      e instanceof WeightsFileError && /first_stage_model\.encoder\..*view of [\d,]+ elements .* over a 1-element storage: a broadcast \(stride-0\) view/.test(e.message));
    assert.ok(process.memoryUsage.rss() - rss < 256 * 2 ** 20);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(liveTensors(), before);
});

test('loadWeights picks the format by magic bytes; saveWeights converts a checkpoint to safetensors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-w-'));
  try {
    assert.equal(detectWeightsFormat(join(FIX, 'dtypes.pt')), 'torch');
    assert.equal(detectWeightsFormat(join(FIX, 'reference.safetensors')), 'safetensors');
    tidy(() => {
      const pt = loadWeights(join(FIX, 'views.pt'));
      const out = join(dir, 'views.bin'); // the extension does not matter
      saveWeights(out, pt, { source: 'views.pt' });
      assert.equal(detectWeightsFormat(out), 'safetensors');
      const back = loadWeights(out);
      assert.deepEqual([...back.keys()].sort(), [...pt.keys()].sort());
      for (const [k, t] of pt) assert.deepEqual(back.get(k)!.tolist(), t.tolist(), k);
      assert.deepEqual(readSafetensors(out).metadata, { source: 'views.pt' });
      assert.deepEqual(loadWeights(join(FIX, 'reference.safetensors'), { keys: ['i8'] }).get('i8')!.tolist(), [-1, 1]);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Maps → plain objects, for comparing with JSON. */
function plain(v: unknown): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), plain(x)]));
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

test('unpickle: protocols 0–5 of one object match python', () => {
  const g = golden<{ expected: unknown; pickles: Record<string, string> }>('io_pickles.json');
  assert.deepEqual(Object.keys(g.pickles), ['0', '1', '2', '3', '4', '5']);
  for (const [p, b64] of Object.entries(g.pickles)) {
    const v = unpickle(Buffer.from(b64, 'base64')) as Map<string, unknown>;
    assert.deepEqual(plain(v), g.expected, `protocol ${p}`);
    const memo = v.get('memo') as unknown[];
    assert.equal(memo[0], memo[1], `protocol ${p}: a memoized object comes back as the same object`);
  }
});

test('unpickle: unknown globals become placeholders; bad data is an error, not a crash', () => {
  // protocol 2: GLOBAL 'mod\nCls\n', EMPTY_TUPLE, NEWOBJ, EMPTY_DICT, BUILD, STOP
  const p = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('cmod\nCls\n', 'latin1'), Buffer.from([0x29, 0x81, 0x7d, 0x62, 0x2e])]);
  const o = unpickle(p) as PyObject;
  assert.ok(o instanceof PyObject && o.cls instanceof PyGlobal);
  assert.equal(String(o.cls), 'mod.Cls');
  assert.throws(() => unpickle(Buffer.from([0x80, 0x02, 0x4a, 0x01])), /pickle data ends early/);
  assert.throws(() => unpickle(Buffer.from([0x80, 0x02, 0xff])), /unsupported pickle opcode 0xff at offset 2/);
  assert.throws(() => unpickle(Buffer.from([0x80, 0x02, 0x2e])), /stack underflow/);
  assert.throws(() => unpickle(Buffer.from([0x80, 0x02, 0x68, 0x05, 0x2e])), /memo key 5 was never stored/);
});

test('flattenCheckpoint: a dict shared at 60 levels, a cycle and 1,000 levels of nesting are errors naming the file, in bounded time', () => {
  let shared: Map<string, unknown> = new Map([['w', 1]]);
  for (let i = 0; i < 60; i++) shared = new Map([['a', shared], ['b', shared]]);
  const t0 = performance.now();
  assert.throws(() => flattenCheckpoint(shared, 'bomb.ckpt'), (e: Error) => e instanceof WeightsFileError && /^bomb\.ckpt \[[ab.]+\]: more than 1,000,000 entries/.test(e.message));
  const cyc = new Map<string, unknown>([['x', 1]]);
  cyc.set('self', new Map([['back', cyc]]));
  assert.throws(() => flattenCheckpoint(cyc, 'cycle.ckpt'), /cycle\.ckpt \[self\.back\]: the structure contains itself/);
  let deep: Map<string, unknown> = new Map();
  for (let i = 0; i < 1000; i++) deep = new Map([['d', deep]]);
  assert.throws(() => flattenCheckpoint(deep, 'deep.ckpt'), /deep\.ckpt \[d(\.d)+\]: nested more than 100 levels/);
  assert.ok(performance.now() - t0 < 5000, `took ${performance.now() - t0} ms`);
  // one dict reached by two paths (not a cycle) is walked under both
  const leaf = new Map([['n', 1]]);
  assert.equal(flattenCheckpoint(new Map([['a', leaf], ['b', leaf]]), 'ok.ckpt').size, 0);
});
