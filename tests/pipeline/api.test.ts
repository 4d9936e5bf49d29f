// The package surface: `import { Upsampler } from 'fmboost'` resolves (package self-reference through
// "exports") to the same class, and the published typings declare it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Upsampler } from '../../src/index.js';
import { ROOT } from '../helpers.js';

test("import { Upsampler } from 'fmboost' is the library class, with .d.ts typings", async () => {
  const pkg = (await import('fmboost' as string)) as { Upsampler: unknown; pipeline: Record<string, unknown> };
  assert.equal(pkg.Upsampler, Upsampler);
  assert.equal(typeof pkg.pipeline.writeBundle, 'function');
  const dts = readFileSync(join(ROOT, 'dist', 'src', 'index.d.ts'), 'utf8');
  assert.match(dts, /\bUpsampler\b/);
  assert.match(dts, /type UpsampleOptions/);
  const cls = readFileSync(join(ROOT, 'dist', 'src', 'pipeline', 'upsampler.d.ts'), 'utf8');
  assert.match(cls, /static load\(opts\?: UpsamplerLoadOptions/);
  assert.match(cls, /upsampleImage\(image: ImageInput, opts\?: UpsampleOptions\): Promise<UpsampleResult>/);
  assert.match(cls, /export type ImageInput = Tensor \| string \| Buffer \| Uint8Array \| SharpLike/);
});

test("two entry points: 'fmboost' is the upscaler API without the tensor library's names, 'fmboost/tensor' is the tensor library", async () => {
  const main = (await import('fmboost' as string)) as Record<string, unknown>;
  const lib = (await import('fmboost/tensor' as string)) as Record<string, unknown>;
  for (const k of ['randn', 'tidy', 'F', 'nn', 'Generator', 'manualSeed', 'readSafetensors']) {
    assert.equal(typeof lib[k] === 'function' || typeof lib[k] === 'object', true, `fmboost/tensor exports ${k}`);
    assert.equal(k in main, false, `fmboost does not export ${k}`);
  }
  assert.ok(Object.keys(main).length <= 20, `fmboost exports ${Object.keys(main).length} names: ${Object.keys(main).join(', ')}`);
  assert.ok(readFileSync(join(ROOT, 'dist', 'src', 'tensor_library.d.ts'), 'utf8').includes("export * as nn"));
});
