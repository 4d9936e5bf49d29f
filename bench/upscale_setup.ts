// What the upscaling rows (bench/rows/upscale.ts) and their memory probe's child (bench/upscale_child.ts) run on:
// the model bundle, the input image and the pipeline's cost per image.
import { existsSync, statSync } from 'node:fs';
import { F, Generator, rand, tidy, type Tensor } from '../src/tensor/index.js';
import { readSafetensorsHeader } from '../src/io/index.js';
import { resolveUNetConfig, resolveVAEConfig, unetMacs, vaeMacs, type ResolvedUNetConfig, type ResolvedVAEConfig } from '../src/models/index.js';
import { BUNDLE_FORMAT, defaultModelPath, planTiles, resolveFlowConfig, type FlowBundleConfig } from '../src/pipeline/index.js';

/** The bundle the rows measure: FMBOOST_BENCH_MODEL, else the bundled default model. */
export function benchModelPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.FMBOOST_BENCH_MODEL || defaultModelPath();
}

export interface BundleInfo {
  unet: ResolvedUNetConfig;
  vae: ResolvedVAEConfig;
  flow: FlowBundleConfig;
}

/**
 * The bundle's configs (header only, no weights), or why the rows cannot use it. Both sides must read it:
 * the PyTorch side (bench/torch_upscale.py) reads bundles, not training checkpoints.
 */
export function inspectBundle(path: string): { info: BundleInfo } | { skip: string } {
  if (!existsSync(path)) {
    return { skip: `model bundle ${path} is missing (the bundled default model is still being trained; FMBOOST_BENCH_MODEL=PATH measures another bundle)` };
  }
  if (statSync(path).isDirectory()) return { skip: `${path} is a directory, not a model bundle (.safetensors)` };
  try {
    const md = readSafetensorsHeader(path).metadata;
    if (md.format !== BUNDLE_FORMAT) {
      return { skip: `${path} is not an fmboost model bundle (metadata format ${JSON.stringify(md.format)}); the PyTorch side reads bundles only (exportBundle turns a training checkpoint into one)` };
    }
    const flow = resolveFlowConfig(JSON.parse(md.flow ?? 'null') ?? {}, path);
    if (flow.source !== 'psu') return { skip: `${path}: flow.source is '${flow.source}'; the rows measure the PSU pipeline` };
    return { info: { unet: resolveUNetConfig(JSON.parse(md.unet)), vae: resolveVAEConfig(JSON.parse(md.vae)), flow } };
  } catch (e) {
    return { skip: `${path} is not a readable model bundle: ${(e as Error).message}` };
  }
}

/**
 * A smooth [3, size, size] image in [−1, 1]: bicubic-upsampled uniform noise from Generator(seed). The torch side
 * (torch_upscale.test_image) draws the same numbers from torch.Generator().manual_seed(seed).
 */
export function testImage(size: number, seed = 0): Tensor {
  const g = new Generator(seed);
  const low = Math.max(1, Math.floor(size / 8));
  return tidy(() => F.interpolate(rand([1, 3, low, low], { generator: g }), { size: [size, size], mode: 'bicubic', alignCorners: false })
    .mul(2).sub(1).clamp(-1, 1).squeeze(0));
}

/**
 * FLOPs (2 × MACs, src/models/flops.ts) of one PSU pass from a size² image: VAE encode at the output size,
 * `nfe` UNet evaluations (on every tile when tiled: overlaps are computed twice), VAE decode. Exact VAE tiling
 * does the untiled VAE's work (the attention too, in query chunks).
 */
export function pipelineFlops(b: BundleInfo, size: number, nfe: number, tilePx?: number): number {
  const out = size * b.flow.factor;
  const f = 2 ** (b.vae.chMult.length - 1);
  const lat = out / f;
  const vae = vaeMacs(b.vae, out);
  const mult = 2 ** (b.unet.channelMult.length - 1) * (b.unet.poolFactor > 1 ? b.unet.poolFactor : 1);
  const tile = tilePx ? Math.floor(tilePx / f / mult) * mult : null;
  const plan = planTiles(lat, lat, tile, undefined, mult);
  const unet = plan.tiles.reduce((a, t) => a + unetMacs(b.unet, t.h, t.w), 0);
  return 2 * (vae.encode + nfe * unet + vae.decode);
}
