// `fmboost precompute --config FILE --out DIR` or `fmboost precompute --images DIR --vae WEIGHTS --out DIR`:
// encodes every image's high-res and PSU latents once (posterior means, unscaled) into latent shards
// + manifest.json, for training with data.sources=[{type: latents, path: DIR}]. Resumes where it stopped.
import type { Command } from 'commander';
import { ImageFolderSource } from '../../data/index.js';
import { VAE_PRESETS, type AutoencoderKL } from '../../models/index.js';
import { openArtifact } from '../../artifacts/open.js';
import { loadConfig, vaeSpec, validate, type FmboostConfig, type VaeOptions } from '../../train/config/index.js';
import { openSources } from '../../train/loop/data.js';
import { buildVAE, isTrainingCheckpoint, loadVaeWeights } from '../../train/loop/models.js';
import { precomputeLatents } from '../../train/precompute.js';

interface Opts {
  config?: string;
  images?: string;
  vae?: string;
  vaePreset?: string;
  imageSize?: string;
  lowResSize?: string;
  out: string;
  batchSize: string;
  shardSize: string;
  workers?: string;
}

function int(name: string, v: string | undefined, dflt?: number): number {
  if (v === undefined) {
    if (dflt === undefined) throw new Error(`--${name} is required`);
    return dflt;
  }
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1) throw new Error(`--${name} must be a positive integer, got '${v}'`);
  return x;
}

/** VAE options for --vae FILE: an autoencoder training checkpoint carries its own architecture. */
function vaeOptionsFor(path: string, preset: string | undefined): VaeOptions {
  if (isTrainingCheckpoint(path) && preset === undefined) {
    const c = openArtifact(path).json('config') as unknown as FmboostConfig | undefined; // the header only
    if (c?.model?.vae) return { ...c.model.vae, path };
  }
  const p = preset ?? 'sd';
  if (!(p in VAE_PRESETS)) throw new Error(`--vae-preset ${p}: unknown (known: ${Object.keys(VAE_PRESETS).join(', ')})`);
  return validate(vaeSpec, { preset: p, path }, '--vae');
}

export function register(program: Command): void {
  program
    .command('precompute')
    .description('encode images once into latent shards (high-res + PSU latents, unscaled posterior means) + manifest.json; resumable')
    .argument('[overrides...]', 'config overrides key.path=value (with --config)')
    .option('-c, --config <file>', 'training config: data.sources, data.image_size, data.low_res_size, model.vae')
    .option('--images <dir>', 'image folder (instead of --config)')
    .option('--vae <file>', 'VAE weights (.safetensors/.ckpt/.pt, or an autoencoder training checkpoint); overrides model.vae.path')
    .option('--vae-preset <name>', `VAE architecture for --vae (${Object.keys(VAE_PRESETS).join(', ')}; default: the checkpoint's, else sd)`)
    .option('--image-size <px>', 'high-res crop size (with --images)')
    .option('--low-res-size <px>', 'low-res size (with --images)')
    .requiredOption('-o, --out <dir>', 'output folder (shards + manifest.json)')
    .option('--batch-size <n>', 'images per encoder batch', '8')
    .option('--shard-size <n>', 'items per shard', '1024')
    .option('--workers <n>', 'decode worker threads')
    .action(async (overrides: string[], o: Opts) => {
      let vaeOpts: VaeOptions;
      let source;
      let imageSize: number, lowResSize: number, workers: number | undefined;
      if (o.config) {
        const c = loadConfig(o.config, overrides).config;
        vaeOpts = o.vae ? { ...c.model.vae, path: o.vae } : c.model.vae;
        if (o.vaePreset) vaeOpts = { ...vaeOpts, preset: o.vaePreset as VaeOptions['preset'] };
        source = await openSources(c.data);
        imageSize = o.imageSize ? int('image-size', o.imageSize) : c.data.image_size;
        lowResSize = o.lowResSize ? int('low-res-size', o.lowResSize) : c.data.low_res_size;
        workers = c.data.workers;
      } else {
        if (!o.images) throw new Error('precompute needs --config FILE or --images DIR');
        if (!o.vae) throw new Error('precompute --images needs --vae WEIGHTS (no bundled VAE weights exist)');
        if (overrides.length) throw new Error(`config overrides (${overrides[0]}, …) need --config`);
        vaeOpts = vaeOptionsFor(o.vae, o.vaePreset);
        source = await ImageFolderSource.open(o.images);
        imageSize = int('image-size', o.imageSize);
        lowResSize = int('low-res-size', o.lowResSize);
      }
      if (o.workers !== undefined) workers = Number(o.workers);
      if (vaeOpts.path === null) throw new Error('no VAE weights: give --vae FILE or model.vae.path');
      let vae: AutoencoderKL | undefined;
      try {
        vae = buildVAE(vaeOpts);
        const vaeName = loadVaeWeights(vae, vaeOpts.path);
        vae.eval();
        vae.requiresGrad_(false);
        const ac = new AbortController();
        const stop = () => { process.stderr.write('precompute: stopping after the current batch (the next run resumes)\n'); ac.abort(); };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          const r = await precomputeLatents({
            source, vae, vaeName, outDir: o.out, imageSize, lowResSize, batchSize: int('batch-size', o.batchSize), shardSize: int('shard-size', o.shardSize), workers, signal: ac.signal,
          });
          if (!r.complete) process.exitCode = 130;
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      } finally {
        vae?.dispose();
      }
    });
}
