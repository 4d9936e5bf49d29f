// Latent files: the .npy reader against files NumPy wrote (float16/32/64, 3-D and 4-D; Fortran order and
// integer dtypes refused), our own writer, and safetensors latents with a `scaled` flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { tensor, liveTensors } from '../../src/tensor/index.js';
import { writeSafetensors } from '../../src/io/index.js';
import { readNpy, parseNpy, npyBytes, readLatentFile, PipelineError } from '../../src/pipeline/index.js';
import { ROOT, maxAbsDiff } from '../helpers.js';
import { tmpDir } from './tiny.js';

const FIX = join(ROOT, 'tests', 'fixtures', 'pipeline');
/** The closed form scripts/goldens/pipeline_npy.py used: v[i] = i / 8 − 1 (exact in float16 too for these i). */
const expected = (n: number) => Float32Array.from({ length: n }, (_, i) => i / 8 - 1);

test('readNpy: float32, float64 and float16 files from NumPy', () => {
  for (const name of ['latent_f4.npy', 'latent_f8.npy', 'latent_f2.npy']) {
    const t = readNpy(join(FIX, name));
    assert.deepEqual(t.shape, [2, 4, 3, 5], name);
    assert.equal(t.dtype, 'float32');
    assert.equal(maxAbsDiff(t, expected(120)), 0, name);
    t.dispose();
  }
  const chw = readNpy(join(FIX, 'latent_chw.npy'));
  assert.deepEqual(chw.shape, [4, 3, 5]);
  chw.dispose();
});

test('readNpy: clear errors for Fortran order, integer dtypes, bad magic, truncation', () => {
  assert.throws(() => readNpy(join(FIX, 'latent_fortran.npy')), (e: Error) => e instanceof PipelineError && /Fortran-order/.test(e.message));
  assert.throws(() => readNpy(join(FIX, 'latent_i4.npy')), /dtype '<i4' is not supported/);
  assert.throws(() => parseNpy(Buffer.from('not numpy at all')), /bad magic/);
  const ok = npyBytes(new Float32Array([1, 2, 3, 4]), [2, 2]);
  assert.throws(() => parseNpy(ok.subarray(0, ok.length - 4)), /data truncated/);
  assert.throws(() => readNpy('/nonexistent/x.npy'), /ENOENT/);
});

test('npyBytes round trip (header padded to 64 bytes as NumPy does)', () => {
  const data = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i));
  const buf = npyBytes(data, [1, 4, 2, 3]);
  assert.equal((10 + buf.readUInt16LE(8)) % 64, 0);
  const t = parseNpy(buf);
  assert.deepEqual(t.shape, [1, 4, 2, 3]);
  assert.equal(maxAbsDiff(t, data), 0);
  t.dispose();
});

test('readLatentFile: .npy and .safetensors ([C, h, w] → [1, C, h, w]), scaled flag from metadata', () => {
  const { dir, cleanup } = tmpDir();
  const live = liveTensors();
  try {
    const data = Float32Array.from({ length: 4 * 2 * 3 }, (_, i) => i / 10);
    writeFileSync(join(dir, 'a.npy'), npyBytes(data, [4, 2, 3]));
    const a = readLatentFile(join(dir, 'a.npy'));
    assert.deepEqual(a.latent.shape, [1, 4, 2, 3]);
    assert.equal(a.scaled, undefined);
    const t = tensor(data, { shape: [4, 2, 3] });
    writeSafetensors(join(dir, 'b.safetensors'), { latent: t, other: t }, { scaled: 'false' });
    writeSafetensors(join(dir, 'c.safetensors'), { z: t });
    writeSafetensors(join(dir, 'd.safetensors'), { x: t, y: t });
    const b = readLatentFile(join(dir, 'b.safetensors'));
    assert.equal(b.scaled, false);
    assert.equal(maxAbsDiff(b.latent, a.latent), 0);
    const c = readLatentFile(join(dir, 'c.safetensors'));
    assert.equal(c.scaled, undefined);
    assert.deepEqual(c.latent.shape, [1, 4, 2, 3]);
    assert.throws(() => readLatentFile(join(dir, 'd.safetensors')), /holds 2 tensors .*name the latent 'latent'/);
    for (const x of [a.latent, b.latent, c.latent, t]) x.dispose();
    assert.equal(liveTensors(), live);
  } finally {
    cleanup();
  }
});
