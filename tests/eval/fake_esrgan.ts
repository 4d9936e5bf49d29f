// A stand-in install of the ESRGAN packages for tests: node_modules with @upscalerjs/esrgan-{slim,medium}
// (package.json, models/x2/model.json + weights file) and a @tensorflow/tfjs stub whose "model" enlarges by
// nearest neighbour and adds the model's offset (different per variant, so the rows differ). It exercises
// fmboost's package lookup, row selection, cache and grid without the real (slow, optional) packages.
// globalThis.__fakeEsrganPredicts counts predict calls.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { floatCHWToU8HWC, u8HWCToFloatCHW } from '../../src/data/index.js';
import { tensor, type Tensor } from '../../src/tensor/index.js';

export const FAKE_OFFSET = { slim: 6, medium: -9 } as const;

const TFJS_STUB = `// test stub of @tensorflow/tfjs (tests/eval/fake_esrgan.ts)
function T(data, shape) {
  return { data, shape,
    clipByValue(lo, hi) { return T(this.data.map((v) => Math.min(hi, Math.max(lo, v))), this.shape); },
    round() { return T(this.data.map(Math.round), this.shape); },
    dataSync() { return this.data; } };
}
module.exports = {
  setBackend: async () => true,
  io: { fromMemory: (artifacts) => artifacts },
  tidy: (f) => f(),
  tensor4d: (data, shape) => T(Float32Array.from(data), shape),
  loadLayersModel: async (a) => {
    const { scale, offset } = a.modelTopology;
    return { predict(x) {
      globalThis.__fakeEsrganPredicts = (globalThis.__fakeEsrganPredicts || 0) + 1;
      const [n, h, w, c] = x.shape, H = h * scale, W = w * scale, out = new Float32Array(H * W * c);
      for (let Y = 0; Y < H; Y++) for (let X = 0; X < W; X++) for (let k = 0; k < c; k++)
        out[(Y * W + X) * c + k] = x.data[(Math.floor(Y / scale) * w + Math.floor(X / scale)) * c + k] + offset;
      return T(out, [n, H, W, c]);
    } };
  },
};
`;

/** Writes node_modules under dir with tfjs and the given variants; returns dir (pass as esrganModules). */
export function writeFakeEsrgan(dir: string, variants: ('slim' | 'medium')[]): string {
  const nm = join(dir, 'node_modules');
  const tf = join(nm, '@tensorflow', 'tfjs');
  mkdirSync(tf, { recursive: true });
  writeFileSync(join(tf, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs', version: '4.11.0', main: 'index.cjs' }));
  writeFileSync(join(tf, 'index.cjs'), TFJS_STUB);
  for (const v of variants) {
    const pkg = join(nm, '@upscalerjs', `esrgan-${v}`);
    const m = join(pkg, 'models', 'x2');
    mkdirSync(m, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: `@upscalerjs/esrgan-${v}`, version: '1.0.0' }));
    writeFileSync(join(m, 'model.json'), JSON.stringify({ modelTopology: { scale: 2, offset: FAKE_OFFSET[v] }, weightsManifest: [{ paths: ['w.bin'], weights: [] }] }));
    writeFileSync(join(m, 'w.bin'), Buffer.alloc(4));
  }
  return dir;
}

export const fakePredicts = (): number => (globalThis as { __fakeEsrganPredicts?: number }).__fakeEsrganPredicts ?? 0;

/** What the stub outputs for an 8-bit low-res image [3, h, w] (values in [-1, 1]): [3, 2h, 2w]. */
export function fakeEsrganOutput(lo: Tensor, v: 'slim' | 'medium'): Tensor {
  const [, h, w] = lo.shape;
  const u8 = floatCHWToU8HWC(lo.toFloat32Array(), 3, h, w);
  const H = 2 * h, W = 2 * w, out = new Uint8Array(H * W * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let k = 0; k < 3; k++) {
    out[(y * W + x) * 3 + k] = Math.min(255, Math.max(0, u8[((y >> 1) * w + (x >> 1)) * 3 + k] + FAKE_OFFSET[v]));
  }
  return tensor(u8HWCToFloatCHW(out, H, W, 3), { shape: [3, H, W] });
}
