// The config files of a Stable Diffusion 1.x base, read into our configs: diffusers' unet/config.json and
// scheduler/scheduler_config.json, or (for a single original checkpoint) the UNet config inferred from its weight
// shapes. Settings SD 1.x never uses are refused, naming the file and key.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { camelKeys } from '../util/case.js';
import { dispose } from '../tensor/index.js';
import { readSafetensorsHeader, detectWeightsFormat, loadTorchCheckpoint } from '../io/index.js';
import { resolveSDUNetConfig, type SDUNetConfig, type ResolvedSDUNetConfig } from '../models/sd/index.js';
import { ModelLoadError } from '../models/load.js';
import { ddpmSchedule, type DdpmSchedule, type DdpmScheduleConfig } from '../diffusion/index.js';

/** LCM scheduler settings (original_inference_steps, timestep_scaling). */
export interface LcmSettings { originalInferenceSteps?: number; timestepScaling?: number }

export function readJson(path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ModelLoadError(path, 'diffusers', `not valid JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ModelLoadError(path, 'diffusers', 'must hold a JSON object');
  return v as Record<string, unknown>;
}

/** The first of `names` that exists in dir, or an error naming them all. */
export function weightsIn(dir: string, names: string[]): string {
  const f = names.map((n) => join(dir, n)).find((p) => existsSync(p));
  if (!f) throw new ModelLoadError(dir, 'diffusers', `no weights: expected one of ${names.join(', ')}`);
  return f;
}

const int = (file: string, c: Record<string, unknown>, key: string, dflt?: number): number => {
  const v = c[key] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ModelLoadError(file, 'diffusers', `'${key}' must be a positive integer, got ${JSON.stringify(c[key])}`);
  return v;
};

/** diffusers' UNet2DConditionModel config.json → SDUNet options (SD 1.x shapes; anything else refused by name). */
export function unetConfigFromDiffusers(c: Record<string, unknown>, file = 'unet/config.json'): SDUNetConfig {
  const bad = (msg: string): never => { throw new ModelLoadError(file, 'diffusers', msg); };
  for (const k of ['class_embed_type', 'addition_embed_type', 'encoder_hid_dim']) if (c[k] !== undefined && c[k] !== null) bad(`'${k}' is set (${JSON.stringify(c[k])}): only SD 1.x-style UNets are supported`);
  if (c.use_linear_projection === true) bad('use_linear_projection is true (SD 2.x / SDXL): only SD 1.x-style UNets (conv proj_in) are supported');
  const boc = c.block_out_channels;
  if (!Array.isArray(boc) || !boc.length || !boc.every((v) => Number.isInteger(v) && v > 0)) bad(`'block_out_channels' must be a list of positive integers, got ${JSON.stringify(boc)}`);
  const widths = boc as number[];
  const mc = widths[0];
  if (widths.some((w) => w % mc)) bad(`'block_out_channels' ${JSON.stringify(widths)} are not multiples of the first`);
  const down = c.down_block_types;
  if (!Array.isArray(down) || down.length !== widths.length) bad(`'down_block_types' must list ${widths.length} blocks, got ${JSON.stringify(down)}`);
  const attn = (down as string[]).map((t, i) => (/^CrossAttn/.test(String(t)) ? 2 ** i : 0)).filter((v) => v > 0);
  // diffusers' naming quirk: for SD 1.x attention_head_dim is the number of heads (num_attention_heads wins if set).
  const headsRaw = c.num_attention_heads ?? c.attention_head_dim ?? 8;
  const headsList = Array.isArray(headsRaw) ? headsRaw : [headsRaw];
  if (!headsList.every((h) => Number.isInteger(h) && (h as number) > 0)) bad(`'attention_head_dim' must be a positive integer or a list of them, got ${JSON.stringify(headsRaw)}`);
  if (new Set(headsList).size !== 1) bad(`per-block head counts ${JSON.stringify(headsRaw)} are not supported (SD 1.x has one count for every block)`);
  const depthRaw = c.transformer_layers_per_block ?? 1;
  if (Array.isArray(depthRaw) ? new Set(depthRaw).size !== 1 : !Number.isInteger(depthRaw)) bad(`'transformer_layers_per_block' ${JSON.stringify(depthRaw)}: one depth for every block is supported`);
  const lpb = c.layers_per_block ?? 2;
  if (!Number.isInteger(lpb)) bad(`'layers_per_block' must be one integer, got ${JSON.stringify(lpb)}`);
  return {
    inChannels: int(file, c, 'in_channels', 4), outChannels: int(file, c, 'out_channels', 4), modelChannels: mc,
    channelMult: widths.map((w) => w / mc), numResBlocks: lpb as number, attentionResolutions: attn,
    numHeads: headsList[0] as number, transformerDepth: Array.isArray(depthRaw) ? (depthRaw[0] as number) : (depthRaw as number),
    contextDim: int(file, c, 'cross_attention_dim', 768), normGroups: int(file, c, 'norm_num_groups', 32),
    timeCondProjDim: c.time_cond_proj_dim === undefined || c.time_cond_proj_dim === null ? null : int(file, c, 'time_cond_proj_dim'),
  };
}

/**
 * SDUNet options read off an original (LDM-named) state dict's shapes. Heads and GroupNorm groups do not show in
 * shapes: SD 1.x's 8 heads and 32 groups unless `over` says otherwise.
 */
export function inferSDUNetConfig(shapes: Map<string, number[]>, over: Record<string, unknown> = {}, file = 'checkpoint'): ResolvedSDUNetConfig {
  const shape = (k: string): number[] => {
    const s = shapes.get(k);
    if (!s) throw new ModelLoadError(file, 'ldm-checkpoint', `cannot infer the UNet config: no '${k}'`);
    return s;
  };
  const [mc, inChannels] = shape('input_blocks.0.0.weight');
  const [outChannels] = shape('out.2.weight');
  let R = 0;
  while (shapes.has(`input_blocks.${R + 1}.0.in_layers.0.weight`)) R++;
  let n = 1;
  while ([...shapes.keys()].some((k) => k.startsWith(`input_blocks.${n}.`))) n++;
  if (!R || n % (R + 1) !== 0) throw new ModelLoadError(file, 'ldm-checkpoint', `cannot infer the UNet config: ${n} input blocks do not form levels of ${R} res blocks + a downsample`);
  const L = n / (R + 1);
  const channelMult: number[] = [], attentionResolutions: number[] = [];
  let contextDim = 0;
  for (let i = 0; i < L; i++) {
    const b = 1 + i * (R + 1);
    channelMult.push(shape(`input_blocks.${b}.0.out_layers.3.weight`)[0] / mc);
    const proj = shapes.get(`input_blocks.${b}.1.proj_in.weight`);
    if (proj) {
      if (proj.length !== 4) throw new ModelLoadError(file, 'ldm-checkpoint', `input_blocks.${b}.1.proj_in.weight is a Linear (SD 2.x's linear projection): only SD 1.x-style UNets are supported`);
      attentionResolutions.push(2 ** i);
      contextDim ||= shape(`input_blocks.${b}.1.transformer_blocks.0.attn2.to_k.weight`)[1];
    }
  }
  contextDim ||= shape('middle_block.1.transformer_blocks.0.attn2.to_k.weight')[1];
  let transformerDepth = 0;
  while (shapes.has(`middle_block.1.transformer_blocks.${transformerDepth}.attn1.to_q.weight`)) transformerDepth++;
  const cond = shapes.get('time_embed.cond_proj.weight');
  const inferred: SDUNetConfig = {
    inChannels, outChannels, modelChannels: mc, numResBlocks: R, channelMult, attentionResolutions, contextDim,
    transformerDepth: transformerDepth || 1, numHeads: 8, normGroups: 32, timeCondProjDim: cond ? cond[1] : null,
    convResample: shapes.has(`input_blocks.${R + 1}.0.op.weight`) || L === 1,
  };
  try {
    const ov = camelKeys(over);
    const o = { ...inferred, ...ov } as Record<string, unknown>;
    if ('numHeadChannels' in ov) delete o.numHeads;
    return resolveSDUNetConfig(o);
  } catch (e) {
    throw new ModelLoadError(file, 'ldm-checkpoint', (e as Error).message, { cause: e });
  }
}

/** Shapes of a weights file's tensors (from the header; a torch checkpoint is read). */
export function fileShapes(path: string, prefix: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (detectWeightsFormat(path) === 'safetensors') {
    for (const [k, v] of readSafetensorsHeader(path).tensors) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), [...v.shape]);
    return out;
  }
  const sd = loadTorchCheckpoint(path, { keys: (k: string) => k.startsWith(prefix) }).tensors;
  for (const [k, v] of sd) out.set(k.slice(prefix.length), [...v.shape]);
  dispose(sd);
  return out;
}

/** scheduler/scheduler_config.json → the DDPM schedule and LCM settings; v-prediction and unknown betas refused. */
export function readSchedulerConfig(file: string): { schedule: DdpmSchedule; lcm: LcmSettings; className: string } {
  const c = readJson(file);
  const pred = c.prediction_type ?? 'epsilon';
  if (pred !== 'epsilon') {
    throw new ModelLoadError(file, 'diffusers', `prediction_type '${String(pred)}' is not supported: only epsilon-prediction models (SD 1.x, LCM-SD1.5) can be a base (v-prediction, e.g. SD 2.x 768, is not implemented)`);
  }
  const bs = c.beta_schedule ?? 'scaled_linear';
  if (bs !== 'scaled_linear' && bs !== 'linear') throw new ModelLoadError(file, 'diffusers', `beta_schedule '${String(bs)}' is not supported (scaled_linear or linear)`);
  if (c.trained_betas !== undefined && c.trained_betas !== null) throw new ModelLoadError(file, 'diffusers', 'trained_betas is not supported');
  const cfg: DdpmScheduleConfig = { betaSchedule: bs };
  if (c.num_train_timesteps !== undefined) cfg.numTrainTimesteps = c.num_train_timesteps as number;
  if (c.beta_start !== undefined) cfg.betaStart = c.beta_start as number;
  if (c.beta_end !== undefined) cfg.betaEnd = c.beta_end as number;
  let schedule: DdpmSchedule;
  try {
    schedule = ddpmSchedule(cfg);
  } catch (e) {
    throw new ModelLoadError(file, 'diffusers', (e as Error).message, { cause: e });
  }
  const lcm: LcmSettings = {};
  if (typeof c.original_inference_steps === 'number') lcm.originalInferenceSteps = c.original_inference_steps;
  if (typeof c.timestep_scaling === 'number') lcm.timestepScaling = c.timestep_scaling;
  return { schedule, lcm, className: String(c._class_name ?? '') };
}
