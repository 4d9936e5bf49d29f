import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, tensor, randn, arange, tidy, liveTensors, ALL_DTYPES, BYTES, readSafetensors, readSafetensorsHeader, writeSafetensors, WeightsFileError, type DType } from '../../src/tensor_library.js';
import { ROOT, PARITY_DIR } from '../helpers.js';

const FIX = join(ROOT, 'tests', 'fixtures', 'io');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'fmboost-io-'));

/** A small tensor of each dtype with values that exercise sign, range and specials. */
function sample(d: DType): Tensor {
  switch (d) {
    case 'float32': return tensor([1.5, -0, Infinity, NaN, 3.4e38, 1e-45]);
    case 'float64': return tensor(Float64Array.from([Math.PI, -1e300, 5e-324]));
    case 'float16': return randn([3, 2]).to('float16');
    case 'bfloat16': return randn([2, 3]).to('bfloat16');
    case 'int64': return tensor(BigInt64Array.from([0n, -1n, 2n ** 62n, -(2n ** 63n)]));
    case 'int32': return tensor(Int32Array.from([2 ** 31 - 1, -(2 ** 31), 7]));
    case 'int16': return tensor(Int16Array.from([-32768, 32767]));
    case 'int8': return tensor(Int8Array.from([-128, 127, 3]));
    case 'uint8': return tensor(Uint8Array.from([0, 255, 9])).reshape([3, 1]);
    case 'bool': return tensor([true, false, true, true]);
  }
}

test('safetensors: every dtype and __metadata__ round-trip bit-exactly', () => {
  const dir = tmp();
  try {
    tidy(() => {
      const src = new Map<string, Tensor>(ALL_DTYPES.map((d) => [`t.${d}`, sample(d)]));
      src.set('scalar', tensor(2.5).reshape([]));
      src.set('empty', randn([0, 4]));
      src.set('transposed', arange(0, 12).reshape([3, 4]).transpose(0, 1)); // non-contiguous input
      const file = join(dir, 'all.safetensors');
      writeSafetensors(file, src, { format: 'pt', b: 'x' });
      const { tensors, metadata } = readSafetensors(file);
      assert.deepEqual(metadata, { format: 'pt', b: 'x' });
      assert.deepEqual([...tensors.keys()].sort(), [...src.keys()].sort());
      for (const [k, t] of src) {
        const r = tensors.get(k)!;
        assert.equal(r.dtype, t.dtype, k);
        assert.deepEqual(r.shape, t.shape, k);
        assert.ok(r.bytes().equals(t.bytes()), `${k}: bytes differ`);
      }
      assert.deepEqual(tensors.get('transposed')!.tolist(), [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]);
      // Layout: header padded to 8 bytes; every tensor starts aligned to its element size.
      const raw = readFileSync(file);
      const n = Number(raw.readBigUInt64LE(0));
      assert.equal(n % 8, 0);
      const h = readSafetensorsHeader(file);
      assert.equal(h.dataStart, 8 + n);
      for (const [k, e] of h.tensors) assert.equal(e.dataOffsets[0] % BYTES[e.dtype], 0, `${k} misaligned`);
      assert.equal(h.dataStart + Math.max(...[...h.tensors.values()].map((e) => e.dataOffsets[1])), raw.length);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('safetensors: reads a reference file written by an independent (python) writer', () => {
  const exp = JSON.parse(readFileSync(join(FIX, 'reference_expected.json'), 'utf8')) as {
    metadata: Record<string, string>; tensors: Record<string, { dtype: DType; shape: number[]; values: (number | string | boolean)[] }>;
  };
  tidy(() => {
    const { tensors, metadata } = readSafetensors(join(FIX, 'reference.safetensors'));
    assert.deepEqual(metadata, exp.metadata);
    assert.deepEqual([...tensors.keys()].sort(), Object.keys(exp.tensors).sort());
    for (const [k, e] of Object.entries(exp.tensors)) {
      const t = tensors.get(k)!;
      assert.equal(t.dtype, e.dtype, k);
      assert.deepEqual(t.shape, e.shape, k);
      let got: (number | string | boolean)[];
      if (e.dtype === 'int64') got = Array.from(t.data() as BigInt64Array, String);
      else if (e.dtype === 'bool') got = [t.tolist()].flat(Infinity as 1) as boolean[];
      else if (e.dtype === 'float16' || e.dtype === 'bfloat16') got = Array.from(t.toFloat32Array());
      else got = Array.from(t.data() as Float64Array); // float32/float64/int32/int16/int8/uint8: exact
      assert.deepEqual(got, e.values, k);
    }
  });
});

test('safetensors: header-only read and key selection', () => {
  const file = join(FIX, 'reference.safetensors');
  const before = liveTensors();
  const h = readSafetensorsHeader(file);
  assert.equal(liveTensors(), before, 'header read must not allocate tensors');
  assert.deepEqual(h.tensors.get('i32'), { dtype: 'int32', tag: 'I32', shape: [2, 2], dataOffsets: h.tensors.get('i32')!.dataOffsets });
  assert.equal(h.tensors.get('m.bf16')!.tag, 'BF16');
  assert.equal(h.metadata.format, 'pt');
  tidy(() => {
    const a = readSafetensors(file, { keys: ['i16', 'scalar'] }).tensors;
    assert.deepEqual([...a.keys()].sort(), ['i16', 'scalar']);
    assert.deepEqual(a.get('i16')!.tolist(), [-32768, 32767, 5]);
    assert.equal(a.get('scalar')!.item(), 3.25);
    const b = readSafetensors(file, { keys: (k) => k.startsWith('i') }).tensors;
    assert.deepEqual([...b.keys()].sort(), ['i16', 'i32', 'i64', 'i8']);
  });
  assert.throws(() => readSafetensors(file, { keys: ['nope'] }), (e: Error) => e instanceof WeightsFileError && /\[nope\].*no such tensor/.test(e.message));
  assert.equal(liveTensors(), before, 'failed selective read must not leak');
});

/** A valid small file's bytes, and a helper to rewrite its header. */
function makeFile(dir: string): { file: string; bytes: Buffer; withHeader: (h: object, data?: Buffer) => Buffer } {
  const file = join(dir, 'ok.safetensors');
  tidy(() => writeSafetensors(file, { a: arange(0, 6).to('float32').reshape([2, 3]), b: tensor(Int32Array.from([1, 2])) }));
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const data = bytes.subarray(8 + n);
  const withHeader = (h: object, d: Buffer = data): Buffer => {
    const j = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(j.length));
    return Buffer.concat([len, j, d]);
  };
  return { file, bytes, withHeader };
}

test('safetensors: corrupt and truncated files give errors naming the file, key and problem', () => {
  const dir = tmp();
  try {
    const { bytes, withHeader } = makeFile(dir);
    const hdr = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString());
    const cases: [string, Buffer, RegExp][] = [
      ['tiny', Buffer.from([1, 2, 3]), /shorter than the 8-byte header length/],
      ['huge-header', Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0]), Buffer.alloc(16)]), /header length \d+ is larger than/],
      ['header-past-end', bytes.subarray(0, 20), /runs past the end of the \d+-byte file/],
      ['truncated-data', bytes.subarray(0, bytes.length - 4), /\[b\]: data_offsets \[24, 32\] run past the end of the data section/],
      ['bad-json', withHeader({}).fill(0x7b, 8, 10), /not valid JSON/],
      ['bad-dtype', withHeader({ ...hdr, a: { ...hdr.a, dtype: 'F8_E4M3' } }), /\[a\]: unsupported dtype "F8_E4M3"/],
      ['bad-count', withHeader({ ...hdr, a: { ...hdr.a, shape: [2, 2] } }), /\[a\]: data_offsets \[0, 24\] hold 24 bytes but F32\[2,2\] needs 16/],
      ['overlap', withHeader({ ...hdr, b: { ...hdr.b, data_offsets: [20, 28] } }), /\[b\]: data_offsets \[20,28\] overlap those of 'a'/],
      ['bad-shape', withHeader({ ...hdr, a: { ...hdr.a, shape: [-2, 3] } }), /\[a\]: shape \[-2,3\] is not a list/],
      ['bad-metadata', withHeader({ ...hdr, __metadata__: { x: 1 } }), /__metadata__\["x"\] is not a string/],
    ];
    const before = liveTensors();
    for (const [name, buf, re] of cases) {
      const f = join(dir, `${name}.safetensors`);
      writeFileSync(f, buf);
      assert.throws(() => readSafetensors(f), (e: Error) => {
        assert.ok(e instanceof WeightsFileError, `${name}: ${e}`);
        assert.ok(e.message.startsWith(f), `${name}: message should name the file: ${e.message}`);
        assert.match(e.message, re, name);
        return true;
      });
    }
    assert.equal(liveTensors(), before);
    assert.throws(() => readSafetensors(join(dir, 'missing.safetensors')), /missing\.safetensors: cannot open/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('safetensors: a failed write leaves the old file intact and no temp file behind', () => {
  const dir = tmp();
  try {
    const file = join(dir, 'w.safetensors');
    tidy(() => writeSafetensors(file, { old: arange(0, 4).to('float32') }));
    const old = readFileSync(file);
    // 1) invalid input: a disposed tensor (caught before anything is written)
    const gone = randn([3]);
    gone.dispose();
    tidy(() => assert.throws(() => writeSafetensors(file, { fine: randn([2]), gone }), /\[gone\]: tensor was disposed/));
    assert.ok(readFileSync(file).equals(old));
    assert.deepEqual(readdirSync(dir), ['w.safetensors']);
    // 2) the disk fills mid-way: a child process whose file-size limit (ulimit -f, 16 KiB) lets the
    //    header through but not the 400 KB tensor; write() then fails with EFBIG, like ENOSPC.
    const lib = join(ROOT, 'dist', 'src', 'tensor_library.js');
    const js = `import { randn, writeSafetensors } from ${JSON.stringify(lib)};
      try { writeSafetensors(${JSON.stringify(file)}, { small: randn([4]), big: randn([100000]) }); console.log('WROTE'); }
      catch (e) { console.log('ERR ' + e.name + ': ' + e.message); }`;
    const r = spawnSync('bash', ['-c', 'ulimit -f 16 && exec "$0" --input-type=module -e "$1"', process.execPath, js], { encoding: 'utf8' });
    assert.match(r.stdout, /ERR WeightsFileError: .*w\.safetensors \[big\]: write failed: .*(File too large|No space)/, r.stdout + r.stderr);
    assert.ok(readFileSync(file).equals(old), 'old file must be untouched');
    assert.deepEqual(readdirSync(dir), ['w.safetensors'], 'temp file must be removed');
    // 3) an unwritable location: nothing is created
    const nodir = join(dir, 'no', 'such', 'dir', 'x.safetensors');
    tidy(() => assert.throws(() => writeSafetensors(nodir, { a: randn([1]) }), /cannot create temp file/));
    assert.equal(existsSync(join(dir, 'no')), false);
    // and a good write replaces the file
    tidy(() => writeSafetensors(file, { fresh: tensor([7]) }));
    tidy(() => assert.deepEqual([...readSafetensors(file).tensors.keys()], ['fresh']));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('safetensors: the shared parity fixtures load with the expected keys and bytes', () => {
  const unetCfg = JSON.parse(readFileSync(join(PARITY_DIR, 'unet_tiny.json'), 'utf8')) as { params: number };
  for (const name of ['unet_tiny', 'vae_tiny']) {
    const file = join(PARITY_DIR, `${name}.safetensors`);
    tidy(() => {
      const { tensors } = readSafetensors(file);
      // Independent check of offsets: every tensor equals the bytes at its header's data_offsets.
      const raw = readFileSync(file);
      const n = Number(raw.readBigUInt64LE(0));
      const hdr = JSON.parse(raw.subarray(8, 8 + n).toString()) as Record<string, { data_offsets: [number, number] }>;
      delete hdr.__metadata__;
      assert.deepEqual([...tensors.keys()].sort(), Object.keys(hdr).sort());
      for (const [k, e] of Object.entries(hdr)) {
        assert.ok(tensors.get(k)!.bytes().equals(raw.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1])), k);
      }
      if (name === 'unet_tiny') {
        const params = [...tensors].filter(([k]) => k.startsWith('param.'));
        assert.equal(params.reduce((a, [, t]) => a + t.numel, 0), unetCfg.params);
        for (const k of ['input.x', 'input.t', 'input.context', 'output', 'param.time_embed.0.weight']) assert.ok(tensors.has(k), k);
        for (const [k, t] of params) {
          const g = tensors.get(`grad.${k.slice('param.'.length)}`);
          if (g) assert.deepEqual(g.shape, t.shape, k);
        }
      } else {
        for (const k of ['input.image', 'output.mean', 'output.logvar', 'output.decoded', 'output.latent_scaled']) assert.ok(tensors.has(k), k);
        // vae_tiny.json: latent_scaled = posterior.mode() * 0.18215, and the mode is the mean.
        const diff = tensors.get('output.mean')!.mul(0.18215).sub(tensors.get('output.latent_scaled')!).abs().max().item();
        assert.ok(diff < 1e-6, `latent_scaled vs mean*0.18215: ${diff}`);
      }
    });
  }
});
