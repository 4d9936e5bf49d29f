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
