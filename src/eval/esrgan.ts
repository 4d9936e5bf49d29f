// Optional ESRGAN baselines: @upscalerjs/esrgan-slim and @upscalerjs/esrgan-medium (RDNs trained on DIV2K,
// Keras weights shipped inside the npm packages, MIT licence) run by @tensorflow/tfjs on its pure-JS CPU backend
// (no native binding, no download beyond the npm registry). Neither is a dependency of fmboost: they are looked
// up at run time in `modulesDir` (or FMBOOST_ESRGAN_MODULES, or the package root), so the rows cost nothing
// unless asked for. Install with
//   npm install --no-save @upscalerjs/esrgan-slim@1.0.0 @upscalerjs/esrgan-medium@1.0.0 @tensorflow/tfjs@4.11.0
// (both 1.0.0 packages declare the peer @tensorflow/tfjs ~4.11.0). Slow on one core: slim (RDN D2 G4)
// ~11–20 s per 128² input, medium (RDN D10 G64) several times that.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tensor, type Tensor } from '../tensor/index.js';
import { u8HWCToFloatCHW } from '../data/index.js';

export class EsrganUnavailableError extends Error {
  override name = 'EsrganUnavailableError';
}

export const ESRGAN_VARIANTS = ['slim', 'medium'] as const;
export type EsrganVariant = (typeof ESRGAN_VARIANTS)[number];

const TFJS = '@tensorflow/tfjs@4.11.0';
export const esrganPackage = (v: EsrganVariant) => `@upscalerjs/esrgan-${v}`;
export const esrganInstallCommand = (v: EsrganVariant) => `npm install --no-save ${esrganPackage(v)}@1.0.0 ${TFJS}`;

/** Package root (this file is dist/src/eval/esrgan.js). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface Esrgan {
  variant: EsrganVariant;
  /** Installed package version (part of the baseline cache key: new weights must not reuse old outputs). */
  version: string;
  scale: number;
  /** 8-bit HWC RGB [h, w] → [3, h·scale, w·scale] float in [-1, 1] (8-bit levels). */
  upscale(u8: Uint8Array, h: number, w: number): Tensor;
}

interface Located { pkg: string; version: string; tfPath: string }

/** Where the variant's package (with its models folder) and tfjs are installed, or why not. */
function locate(variant: EsrganVariant, modulesDir?: string): Located | string {
  const base = resolve(modulesDir ?? process.env.FMBOOST_ESRGAN_MODULES ?? ROOT);
  const req = createRequire(join(base, 'package.json'));
  const name = esrganPackage(variant);
  const dirs = req.resolve.paths(name) ?? [];
  const pkg = dirs.map((d) => join(d, name)).find((d) => existsSync(join(d, 'models')));
  let tfPath: string | undefined;
  try { tfPath = req.resolve('@tensorflow/tfjs'); } catch { tfPath = undefined; }
  if (!pkg || !tfPath) {
    return `the esrgan-${variant} row needs ${name} and @tensorflow/tfjs, not found from ${base} (${esrganInstallCommand(variant)}, or point FMBOOST_ESRGAN_MODULES at a folder where they are installed)`;
  }
  const version = String(JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version ?? 'unknown');
  return { pkg, version, tfPath };
}

/** Which variants are installed; `missing` maps the others to a message saying how to install them. */
export function installedEsrganVariants(modulesDir?: string): { installed: EsrganVariant[]; missing: Map<EsrganVariant, string> } {
  const installed: EsrganVariant[] = [];
  const missing = new Map<EsrganVariant, string>();
  for (const v of ESRGAN_VARIANTS) {
    const l = locate(v, modulesDir);
    if (typeof l === 'string') missing.set(v, l); else installed.push(v);
  }
  return { installed, missing };
}

/* eslint-disable @typescript-eslint/no-explicit-any */
export async function loadEsrgan(scale: number, modulesDir?: string, variant: EsrganVariant = 'slim'): Promise<Esrgan> {
  const l = locate(variant, modulesDir);
  if (typeof l === 'string') throw new EsrganUnavailableError(l);
  const dir = join(l.pkg, 'models', `x${scale}`);
  if (!existsSync(join(dir, 'model.json'))) throw new EsrganUnavailableError(`esrgan-${variant} has no ${scale}× model (it has 2×, 3×, 4×, 8×)`);
  const mod: any = await import(pathToFileURL(l.tfPath).href);
  const tf: any = mod.default?.loadLayersModel ? mod.default : mod;
  await tf.setBackend('cpu');
  const spec = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const specs = spec.weightsManifest.flatMap((g: any) => g.weights);
  const bins = spec.weightsManifest.flatMap((g: any) => g.paths.map((p: string) => readFileSync(join(dir, p))));
  const all = Buffer.concat(bins);
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: spec.modelTopology, weightSpecs: specs, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.length) }));
  return {
    variant,
    version: l.version,
    scale,
    upscale(u8: Uint8Array, h: number, w: number): Tensor {
      // Both RDN packages map 0..255 to 0..255 (NHWC).
      const out: Float32Array = tf.tidy(() => model.predict(tf.tensor4d(Float32Array.from(u8), [1, h, w, 3])).clipByValue(0, 255).round().dataSync());
      const H = h * scale, W = w * scale;
      return tensor(u8HWCToFloatCHW(Uint8Array.from(out), H, W, 3), { shape: [3, H, W] });
    },
  };
}
