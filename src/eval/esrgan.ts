// Optional ESRGAN baseline: @upscalerjs/esrgan-slim (an RDN, Keras weights shipped inside the npm package)
// run by @tensorflow/tfjs on its pure-JS CPU backend (no native binding, no download beyond the npm registry).
// Neither package is a dependency of fmboost: they are looked up at run time in `modulesDir` (or
// FMBOOST_ESRGAN_MODULES, or the package root), so the row costs nothing unless asked for. Install with
//   npm install --no-save @upscalerjs/esrgan-slim@1.0.0 @tensorflow/tfjs@4.11.0
// (esrgan-slim 1.0.0 declares the peer @tensorflow/tfjs ~4.11.0). Slow: ~20 s per 128² input on one core.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tensor, type Tensor } from '../tensor/index.js';
import { u8HWCToFloatCHW } from '../data/index.js';

export class EsrganUnavailableError extends Error {
  override name = 'EsrganUnavailableError';
}

const INSTALL = 'npm install --no-save @upscalerjs/esrgan-slim@1.0.0 @tensorflow/tfjs@4.11.0';
/** Package root (this file is dist/src/eval/esrgan.js). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface Esrgan {
  scale: number;
  /** 8-bit HWC RGB [h, w] → [3, h·scale, w·scale] float in [-1, 1] (8-bit levels). */
  upscale(u8: Uint8Array, h: number, w: number): Tensor;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
export async function loadEsrgan(scale: number, modulesDir?: string): Promise<Esrgan> {
  const base = resolve(modulesDir ?? process.env.FMBOOST_ESRGAN_MODULES ?? ROOT);
  const req = createRequire(join(base, 'package.json'));
  const dirs = req.resolve.paths('@upscalerjs/esrgan-slim') ?? [];
  const pkg = dirs.map((d) => join(d, '@upscalerjs', 'esrgan-slim')).find((d) => existsSync(join(d, 'models')));
  let tfPath: string | undefined;
  try { tfPath = req.resolve('@tensorflow/tfjs'); } catch { tfPath = undefined; }
  if (!pkg || !tfPath) throw new EsrganUnavailableError(`the esrgan row needs @upscalerjs/esrgan-slim and @tensorflow/tfjs, not found from ${base} (${INSTALL}, or point FMBOOST_ESRGAN_MODULES at a folder where they are installed)`);
  const dir = join(pkg, 'models', `x${scale}`);
  if (!existsSync(join(dir, 'model.json'))) throw new EsrganUnavailableError(`esrgan-slim has no ${scale}× model (it has 2×, 3×, 4×, 8×)`);
  const mod: any = await import(pathToFileURL(tfPath).href);
  const tf: any = mod.default?.loadLayersModel ? mod.default : mod;
  await tf.setBackend('cpu');
  const spec = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const specs = spec.weightsManifest.flatMap((g: any) => g.weights);
  const bins = spec.weightsManifest.flatMap((g: any) => g.paths.map((p: string) => readFileSync(join(dir, p))));
  const all = Buffer.concat(bins);
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: spec.modelTopology, weightSpecs: specs, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.length) }));
  return {
    scale,
    upscale(u8: Uint8Array, h: number, w: number): Tensor {
      // The model maps 0..255 to 0..255 (NHWC).
      const out: Float32Array = tf.tidy(() => model.predict(tf.tensor4d(Float32Array.from(u8), [1, h, w, 3])).clipByValue(0, 255).round().dataSync());
      const H = h * scale, W = w * scale;
      return tensor(u8HWCToFloatCHW(Uint8Array.from(out), H, W, 3), { shape: [3, H, W] });
    },
  };
}
