// Stable Diffusion 1.x and LCM-distilled SD1.x as the paper's base model: CLIP text encoder → UNet sampled by DDIM /
// Euler / Euler ancestral with classifier-free guidance (or, for an LCM UNet with the guidance-embedding projection,
// LCM multistep with the embedding and no CFG) → the base latent in its VAE's space, decoded by its KL VAE.
// Loads what users have: a diffusers folder (model_index.json, unet/ text_encoder/ tokenizer/ vae/ scheduler/) or
// one original checkpoint (.safetensors / .ckpt: model.diffusion_model.*, cond_stage_model.transformer.*,
// first_stage_model.*), which carries no tokenizer (give opts.tokenizer). Epsilon prediction only; fp32 on the CPU.
import { existsSync, statSync } from 'node:fs';
import { camelKeys } from '../util/case.js';
import { basename, join } from 'node:path';
import { Generator, Tensor, dispose, noGrad, randn, tensor, tidy } from '../tensor/index.js';
import { loadWeights } from '../io/index.js';
import { SDUNet, loadSDUNetWeights, type SDUNetConfig, type ResolvedSDUNetConfig } from '../models/sd/index.js';
import { CLIPTextModel, CLIPTokenizer, loadCLIPTextModel } from '../models/clip/index.js';
import { AutoencoderKL } from '../models/vae/index.js';
import { loadVae, ModelLoadError } from '../models/load.js';
import {
  ddpmSchedule, sampleDDIM, sampleEuler, sampleEulerAncestral, sampleLCM, lcmGuidanceEmbedding, classifierFreeGuidance,
  type DdpmSchedule, type EpsModel, type SamplerOptions, type SampleResult,
} from '../diffusion/index.js';
import type { BaseModel, BaseSampleOptions } from './base_model.js';
import { fileShapes, inferSDUNetConfig, readJson, readSchedulerConfig, unetConfigFromDiffusers, weightsIn, type LcmSettings } from './sd_config.js';

export { inferSDUNetConfig, readSchedulerConfig, unetConfigFromDiffusers } from './sd_config.js';

export const SD_SAMPLERS = ['ddim', 'euler', 'euler_a'] as const;
export const LCM_SAMPLERS = ['lcm'] as const;

export interface SDBaseLoadOptions {
  /** Tokenizer folder (vocab.json + merges.txt, or a diffusers folder with tokenizer/); required for a single checkpoint. */
  tokenizer?: string;
  /** UNet options laid over the file's (diffusers config.json, or the shapes of a single file), e.g. {numHeads, normGroups}. */
  unet?: Partial<SDUNetConfig> | Record<string, unknown>;
  /** VAE options laid over the file's, e.g. {normGroups}. */
  vae?: Record<string, unknown>;
  /** Name in messages and metadata (default: the folder's or file's name). */
  name?: string;
}

/** The parts of an SD base; SDBase.load builds them from files, tests may build them in memory. */
export interface SDBaseParts {
  name: string;
  unet: SDUNet;
  text: CLIPTextModel;
  tokenizer: CLIPTokenizer;
  vae: AutoencoderKL;
  schedule?: DdpmSchedule;
  /** Multiplies the VAE latent into the UNet's space (default: the VAE config's scaleFactor, SD's 0.18215). */
  scaleFactor?: number;
  /** LCM scheduler settings. */
  lcm?: LcmSettings;
}

export class SDBase implements BaseModel {
  readonly name: string;
  readonly kind: 'sd' | 'lcm';
  readonly defaultSize: [number, number];
  readonly samplers: readonly string[];
  readonly needsPrompt = true;
  readonly unet: SDUNet;
  readonly text: CLIPTextModel;
  readonly tokenizer: CLIPTokenizer;
  readonly vae: AutoencoderKL;
  readonly schedule: DdpmSchedule;
  readonly scaleFactor: number;
  /** Pixels per latent pixel (the VAE's downsampling). */
  readonly vaeFactor: number;
  private readonly lcm: NonNullable<SDBaseParts['lcm']>;
  private disposed = false;

  constructor(p: SDBaseParts) {
    this.name = p.name;
    this.unet = p.unet;
    this.text = p.text;
    this.tokenizer = p.tokenizer;
    this.vae = p.vae;
    this.schedule = p.schedule ?? ddpmSchedule();
    this.scaleFactor = p.scaleFactor ?? p.vae.config.scaleFactor;
    this.lcm = p.lcm ?? {};
    const u = p.unet.config;
    if (u.inChannels !== p.vae.config.embedDim) throw new RangeError(`SDBase ${p.name}: the UNet takes ${u.inChannels} latent channels but the VAE's latent has ${p.vae.config.embedDim}`);
    if (u.contextDim !== p.text.config.width) throw new RangeError(`SDBase ${p.name}: the UNet's cross-attention takes ${u.contextDim} channels but the text encoder gives ${p.text.config.width}`);
    this.kind = u.timeCondProjDim !== null ? 'lcm' : 'sd';
    this.samplers = this.kind === 'lcm' ? LCM_SAMPLERS : SD_SAMPLERS;
    this.vaeFactor = 2 ** (p.vae.config.chMult.length - 1);
    // SD 1.5's UNets sample 64² latents (512 px); smaller test models say nothing: 8 latent pixels per size multiple.
    const side = (u.modelChannels >= 320 ? 64 : Math.max(8, this.unet.sizeMultiple)) * this.vaeFactor;
    this.defaultSize = [side, side];
  }

  get vaeConfig(): Readonly<Record<string, unknown>> {
    return this.vae.config as unknown as Record<string, unknown>;
  }

  /**
   * From a diffusers folder (model_index.json at its root) or one original checkpoint (.safetensors / .ckpt). Every
   * failure names the file (and key) at fault.
   */
  static load(path: string, opts: SDBaseLoadOptions = {}): SDBase {
    if (!existsSync(path)) throw new ModelLoadError(path, null, 'does not exist (give a diffusers folder with model_index.json, or an SD 1.x .safetensors / .ckpt)');
    return statSync(path).isDirectory() ? loadDiffusers(path, opts) : loadSingleFile(path, opts);
  }

  private check(): void {
    if (this.disposed) throw new Error(`SDBase ${this.name}: disposed`);
  }

  /** CLIP last hidden states [1, 77, width] of a text. */
  encodeText(text: string): Tensor {
    this.check();
    const ids = this.tokenizer.call(text, { maxLength: this.text.config.maxPositions });
    return noGrad(() => tidy(() => this.text.forward(tensor(ids, { dtype: 'int64' }))));
  }

  /** Steps, guidance and sampler after defaults, validated (names the option at fault). */
  resolveOptions(o: BaseSampleOptions): { steps: number; guidance: number; sampler: string; size: [number, number]; seed: number } {
    const sampler = o.sampler ?? this.samplers[0];
    if (!this.samplers.includes(sampler)) {
      throw new RangeError(`base ${this.name}: unknown sampler '${sampler}' for ${this.kind === 'lcm' ? 'an LCM' : 'an SD'} model (available: ${this.samplers.join(', ')})`);
    }
    const steps = o.steps ?? (this.kind === 'lcm' ? 4 : 25);
    const maxSteps = this.kind === 'lcm' ? (this.lcm.originalInferenceSteps ?? 50) : this.schedule.config.numTrainTimesteps;
    if (!Number.isInteger(steps) || steps < 1 || steps > maxSteps) throw new RangeError(`base ${this.name}: steps must be an integer from 1 to ${maxSteps}, got ${steps}`);
    const guidance = o.guidance ?? (this.kind === 'lcm' ? 8.5 : 7.5);
    if (typeof guidance !== 'number' || !Number.isFinite(guidance) || guidance < 0) throw new RangeError(`base ${this.name}: guidance must be a finite number ≥ 0, got ${guidance}`);
    const size = o.size ?? this.defaultSize;
    const mult = this.vaeFactor * this.unet.sizeMultiple;
    if (!Array.isArray(size) || size.length !== 2 || size.some((v) => !Number.isInteger(v) || v < mult || v % mult)) {
      throw new RangeError(`base ${this.name}: size must be [height, width] in pixels, multiples of ${mult} (VAE ×${this.vaeFactor} · UNet ×${this.unet.sizeMultiple}), got ${JSON.stringify(size)}`);
    }
    const seed = o.seed ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`base ${this.name}: seed must be an integer ≥ 0, got ${seed}`);
    return { steps, guidance, sampler, size: [size[0], size[1]], seed };
  }

  /** The sampled latent in the VAE's space (unscaled): sampler output / scaleFactor. */
  async sample(o: BaseSampleOptions = {}): Promise<Tensor> {
    this.check();
    if (typeof o.prompt !== 'string') throw new RangeError(`base ${this.name} needs a prompt (it is a text-to-image model)`);
    const { steps, guidance, sampler, size, seed } = this.resolveOptions(o);
    const generator = new Generator(seed);
    const c = this.unet.config;
    const xT = randn([1, c.inChannels, size[0] / this.vaeFactor, size[1] / this.vaeFactor], { generator });
    const cond = this.encodeText(o.prompt);
    const held: Tensor[] = [xT, cond];
    try {
      const common: SamplerOptions = {
        steps, schedule: this.schedule, generator, signal: o.signal,
        onStep: o.onStep && ((info) => o.onStep!(info.step, info.steps)),
      };
      let r: SampleResult;
      await Promise.resolve(); // sampling is synchronous native work: let pending I/O (progress, signals) run first
      if (this.kind === 'lcm') {
        // LCM: guidance enters through the embedding of w = g − 1 (timestep_cond); one UNet call per step, no CFG.
        const w = lcmGuidanceEmbedding(guidance, 1, c.timeCondProjDim!);
        held.push(w);
        const model: EpsModel = (x, t) => this.unet.forward(x, t, cond, w);
        r = noGrad(() => sampleLCM(model, xT, { ...common, ...this.lcm }));
      } else {
        const uncond = this.encodeText(o.negativePrompt ?? '');
        held.push(uncond);
        const model = classifierFreeGuidance((x, t, ctx) => this.unet.forward(x, t, ctx), { cond, uncond, scale: guidance });
        const fn = sampler === 'ddim' ? sampleDDIM : sampler === 'euler' ? sampleEuler : sampleEulerAncestral;
        r = noGrad(() => fn(model, xT, common));
      }
      try {
        return tidy(() => r.x.div(this.scaleFactor));
      } finally {
        r.x.dispose();
      }
    } finally {
      dispose(held);
    }
  }

  decode(latent: Tensor): Tensor {
    this.check();
    return noGrad(() => tidy(() => this.vae.decode(latent).clamp(-1, 1)));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.unet.dispose();
    this.text.dispose();
    this.vae.dispose();
  }
}

/** Builds the parts, disposing what was built when a later part fails. */
function assemble(name: string, build: { unet: () => SDUNet; text: () => CLIPTextModel; tokenizer: () => CLIPTokenizer; vae: () => AutoencoderKL },
  rest: Omit<SDBaseParts, 'name' | 'unet' | 'text' | 'tokenizer' | 'vae'>): SDBase {
  const made: { dispose(): void }[] = [];
  try {
    const tokenizer = build.tokenizer(); // cheapest first: a missing tokenizer fails before any weights are read
    const vae = build.vae();
    made.push(vae);
    const text = build.text();
    made.push(text);
    const unet = build.unet();
    made.push(unet);
    return new SDBase({ name, unet, text, tokenizer, vae, ...rest });
  } catch (e) {
    for (const m of made) m.dispose();
    throw e;
  }
}

function buildUnet(file: string, config: SDUNetConfig | ResolvedSDUNetConfig, sd: () => Map<string, Tensor>): SDUNet {
  let unet: SDUNet;
  try {
    unet = new SDUNet(config as SDUNetConfig);
  } catch (e) {
    throw new ModelLoadError(file, null, `UNet config: ${(e as Error).message}`, { cause: e });
  }
  const weights = sd();
  try {
    loadSDUNetWeights(unet, weights);
    return unet.eval();
  } catch (e) {
    unet.dispose();
    throw new ModelLoadError(file, null, (e as Error).message, { cause: e });
  } finally {
    dispose(weights);
  }
}

function tokenizerFrom(dir: string, what: string): CLIPTokenizer {
  try {
    return CLIPTokenizer.fromFolder(dir);
  } catch (e) {
    throw new ModelLoadError(dir, null, `${what}: ${(e as Error).message}`, { cause: e });
  }
}

function loadDiffusers(dir: string, opts: SDBaseLoadOptions): SDBase {
  const index = join(dir, 'model_index.json');
  if (!existsSync(index)) throw new ModelLoadError(dir, null, 'is a folder without model_index.json: give a diffusers Stable Diffusion folder, or a single .safetensors / .ckpt');
  readJson(index);
  for (const sub of ['unet', 'text_encoder', 'vae']) {
    if (!existsSync(join(dir, sub, 'config.json'))) throw new ModelLoadError(join(dir, sub), 'diffusers', 'missing (or without config.json)');
  }
  const schedFile = join(dir, 'scheduler', 'scheduler_config.json');
  const sched = existsSync(schedFile) ? readSchedulerConfig(schedFile) : { schedule: ddpmSchedule(), lcm: {} };
  const unetCfgFile = join(dir, 'unet', 'config.json');
  const unetCfg = { ...unetConfigFromDiffusers(readJson(unetCfgFile), unetCfgFile), ...camelKeys((opts.unet ?? {}) as Record<string, unknown>) } as SDUNetConfig;
  const unetFile = weightsIn(join(dir, 'unet'), ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.bin']);
  const vaeCfgFile = join(dir, 'vae', 'config.json');
  const vaeCfg = readJson(vaeCfgFile);
  if (vaeCfg.shift_factor !== undefined && vaeCfg.shift_factor !== null) throw new ModelLoadError(vaeCfgFile, 'diffusers', `shift_factor is set (${JSON.stringify(vaeCfg.shift_factor)}): not an SD 1.x VAE`);
  if (vaeCfg.use_quant_conv === false || vaeCfg.use_post_quant_conv === false) throw new ModelLoadError(vaeCfgFile, 'diffusers', 'a VAE without quant convs is not an SD 1.x VAE');
  const vaeFile = weightsIn(join(dir, 'vae'), ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.bin']);
  // The VAE's architecture is read off its weights (loadVae infers it); config.json adds what shapes cannot show.
  const vaeOver: Record<string, unknown> = {
    ...(vaeCfg.norm_num_groups !== undefined ? { normGroups: vaeCfg.norm_num_groups } : {}),
    ...(vaeCfg.scaling_factor !== undefined ? { scaleFactor: vaeCfg.scaling_factor } : {}),
    ...camelKeys(opts.vae ?? {}),
  };
  return assemble(opts.name ?? basename(dir), {
    tokenizer: () => tokenizerFrom(opts.tokenizer ?? dir, 'tokenizer'),
    vae: () => loadVae(vaeFile, { config: vaeOver }),
    text: () => loadCLIPTextModel(dir),
    unet: () => buildUnet(unetFile, unetCfg, () => loadWeights(unetFile)),
  }, { schedule: sched.schedule, lcm: sched.lcm });
}

function loadSingleFile(file: string, opts: SDBaseLoadOptions): SDBase {
  if (!opts.tokenizer) {
    throw new Error(`${file} is a single checkpoint and holds no tokenizer: give the CLIP tokenizer folder (vocab.json + merges.txt, e.g. a diffusers SD 1.5 folder's tokenizer/) with --tokenizer DIR`);
  }
  const prefix = 'model.diffusion_model.';
  const shapes = fileShapes(file, prefix);
  if (!shapes.size) throw new ModelLoadError(file, 'ldm-checkpoint', `no '${prefix}*' keys: not an original Stable Diffusion checkpoint (a diffusers folder needs its model_index.json)`);
  const config = inferSDUNetConfig(shapes, (opts.unet ?? {}) as Record<string, unknown>, file);
  return assemble(opts.name ?? basename(file).replace(/\.(safetensors|ckpt|pt|pth|bin)$/i, ''), {
    tokenizer: () => tokenizerFrom(opts.tokenizer!, '--tokenizer'),
    vae: () => loadVae(file, { config: camelKeys(opts.vae ?? {}) }),
    text: () => loadCLIPTextModel(file),
    unet: () => buildUnet(file, config, () => loadWeights(file, { keys: (k: string) => k.startsWith(prefix) })),
  }, {});
}
