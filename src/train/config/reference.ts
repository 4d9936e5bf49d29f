// Adapter for the reference's config layout (CompVis/fm-boosting configs/*.yaml): `target:` class
// paths with `params:` blocks, Lightning trainer/checkpoint sections. Each reference key is mapped onto
// our native layout; each `target:` must be one we implement (or one that only configures Lightning
// behaviour we have built in). Anything else is an error naming the key or target, with a suggestion.
import { ConfigError, unknownKeyMessage, type Issue } from '../../util/schema.js';

/** Reference class paths → what implements them here. */
export const REFERENCE_TARGETS: Record<string, string> = {
  'fmboost.trainer.TrainerFMBoost': 'fmboost train (src/train)',
  'fmboost.trainer.TrainerModuleLatentFlow': 'fmboost train (src/train)',
  'fmboost.flow.FlowModel': 'src/flow (flow matcher)',
  'fmboost.models.unet.model.EfficientUNet': 'src/models/unet EfficientUNet',
  'fmboost.models.unet.EfficientUNet': 'src/models/unet EfficientUNet',
  'fmboost.kl_autoencoder.AutoencoderKL': 'src/models/vae AutoencoderKL',
  'fmboost.metrics.ImageMetricTracker': 'src/eval (PSNR, SSIM, patch metrics)',
  'fmboost.lr_schedulers.get_constant_schedule_with_warmup': 'src/train/lr.ts constant_warmup',
  'fmboost.lr_schedulers.get_cosine_schedule_with_warmup': 'src/train/lr.ts cosine_warmup',
  'pytorch_lightning.callbacks.LearningRateMonitor': 'built in (the learning rate is always logged)',
  'lightning.pytorch.callbacks.LearningRateMonitor': 'built in (the learning rate is always logged)',
};

/** The reference's placeholder data module: "bring your own data"; we take data.* keys instead. */
const PLACEHOLDER_DATA_TARGETS = new Set(['YourDataModuleFromConfig']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** True when a parsed YAML document uses the reference layout (a `model.target`). */
export function isReferenceLayout(doc: unknown): boolean {
  return isObj(doc) && isObj(doc.model) && typeof doc.model.target === 'string';
}

export interface AdaptResult {
  /** Native-layout config (not yet validated; defaults are filled later). */
  config: Obj;
  /** Things accepted but without effect here, said out loud. */
  warnings: string[];
}

class Ctx {
  issues: Issue[] = [];
  warnings: string[] = [];
  err(path: string, message: string): void {
    this.issues.push({ path, message });
  }
  /** Checks `v` is a {target, params} block with a known target among `allowed`; returns its params. */
  block(v: unknown, path: string, allowed: string[]): { target: string; params: Obj } | undefined {
    if (!isObj(v)) { this.err(path, `expected a {target, params} block, got ${JSON.stringify(v)}`); return undefined; }
    for (const k of Object.keys(v)) if (k !== 'target' && k !== 'params') this.err(`${path}.${k}`, unknownKeyMessage(k, ['target', 'params']));
    const target = v.target;
    if (typeof target !== 'string') { this.err(`${path}.target`, 'missing target class path'); return undefined; }
    if (!allowed.includes(target)) {
      const known = target in REFERENCE_TARGETS;
      this.err(`${path}.target`, known
        ? `target "${target}" is not valid here (expected ${allowed.join(' or ')})`
        : `unknown target "${target}": fmboost has no implementation of it (supported here: ${allowed.join(', ')})`);
      return undefined;
    }
    const params = v.params ?? {};
    if (!isObj(params)) { this.err(`${path}.params`, 'expected a mapping'); return undefined; }
    return { target, params };
  }
  /** Reports params keys outside `known`. */
  known(params: Obj, path: string, known: string[]): void {
    for (const k of Object.keys(params)) if (!known.includes(k)) this.err(`${path}.${k}`, unknownKeyMessage(k, known));
  }
}

function set(o: Obj, path: string, v: unknown): void {
  const ks = path.split('.');
  let cur = o;
  for (const k of ks.slice(0, -1)) cur = (cur[k] ??= {}) as Obj;
  cur[ks[ks.length - 1]] = v;
}

const UNET_KEYS = ['in_channels', 'model_channels', 'out_channels', 'num_res_blocks', 'attention_resolutions', 'dropout', 'channel_mult', 'conv_resample', 'dim_head', 'num_heads', 'use_linear_attn', 'use_scale_shift_norm', 'pool_factor'];
const TRAINER_KEYS = ['fm_cfg', 'low_res_size', 'high_res_size', 'upsampling_mode', 'upsampling_mode_context', 'upsampling_mode_ca_context', 'start_from_noise', 'noising_step', 'concat_context', 'ca_context', 'first_stage_cfg', 'scale_factor', 'lr', 'weight_decay', 'n_images_to_vis', 'ema_rate', 'ema_update_every', 'ema_update_after_step', 'use_ema_for_sampling', 'metric_tracker_cfg', 'lr_scheduler_cfg', 'log_grad_norm'];
const LSU_MODES = ['nearest', 'bilinear', 'bicubic'];
/** The reference's AutoencoderKL default ddconfig (SD KL-f8): keys we accept only at these values. */
const FIXED_DDCONFIG: Obj = { double_z: true, in_channels: 3, out_ch: 3, attn_resolutions: [], dropout: 0 };

function adaptModel(ctx: Ctx, model: unknown, out: Obj): void {
  const trainer = ctx.block(model, 'model', ['fmboost.trainer.TrainerFMBoost', 'fmboost.trainer.TrainerModuleLatentFlow']);
  if (!trainer) return;
  const p = trainer.params;
  const P = 'model.params';
  ctx.known(p, P, TRAINER_KEYS);

  // --- flow model and network
  if (p.fm_cfg === undefined) ctx.err(`${P}.fm_cfg`, 'required: the flow model block');
  else {
    const fm = ctx.block(p.fm_cfg, `${P}.fm_cfg`, ['fmboost.flow.FlowModel']);
    if (fm) {
      const fp = `${P}.fm_cfg.params`;
      ctx.known(fm.params, fp, ['net_cfg', 'schedule', 'sigma_min']);
      if (fm.params.schedule !== undefined) set(out, 'model.flow.schedule', fm.params.schedule);
      if (fm.params.sigma_min !== undefined) set(out, 'model.flow.sigma_min', fm.params.sigma_min);
      const net = ctx.block(fm.params.net_cfg, `${fp}.net_cfg`, ['fmboost.models.unet.model.EfficientUNet', 'fmboost.models.unet.EfficientUNet']);
      if (net) {
        ctx.known(net.params, `${fp}.net_cfg.params`, UNET_KEYS);
        for (const k of UNET_KEYS) if (net.params[k] !== undefined) set(out, `model.unet.${k}`, net.params[k]);
      }
    }
  }

  // --- data geometry and the source/context construction
  if (p.low_res_size !== undefined) set(out, 'data.low_res_size', p.low_res_size);
  if (p.high_res_size !== undefined) set(out, 'data.image_size', p.high_res_size);
  const mode = p.upsampling_mode ?? 'bilinear'; // the reference's default
  if (typeof mode === 'string' && LSU_MODES.includes(mode)) {
    set(out, 'model.flow.source', 'lsu');
    set(out, 'model.flow.lsu_interpolation', mode);
  } else if (mode !== undefined) set(out, 'model.flow.source', mode);
  if (p.upsampling_mode_context != null && p.upsampling_mode_context !== mode) {
    ctx.err(`${P}.upsampling_mode_context`, `a context upsampled differently from the source ("${p.upsampling_mode_context}" vs "${mode}") is not supported`);
  }
  if (p.ca_context === true) ctx.err(`${P}.ca_context`, 'cross-attention context is not supported (the reference UNet does not implement it either)');
  if (p.concat_context === false && p.start_from_noise !== true) {
    ctx.err(`${P}.concat_context`, 'concat_context: False is not supported: the network always receives the low-res latent as context');
  }
  if (p.start_from_noise !== undefined) set(out, 'model.flow.start_from_noise', p.start_from_noise);
  // reference default: -1 (no noising)
  set(out, 'model.flow.noising_step', p.noising_step ?? -1);

  // --- first stage
  if (p.first_stage_cfg == null) {
    ctx.err(`${P}.first_stage_cfg`, 'a pixel-space model (no first stage) is not supported; give an AutoencoderKL block');
  } else {
    const fs = ctx.block(p.first_stage_cfg, `${P}.first_stage_cfg`, ['fmboost.kl_autoencoder.AutoencoderKL']);
    if (fs) {
      const fp = `${P}.first_stage_cfg.params`;
      ctx.known(fs.params, fp, ['ckpt_path', 'ddconfig', 'embed_dim', 'use_null_attention']);
      set(out, 'model.vae.preset', 'sd');
      if (fs.params.ckpt_path != null) set(out, 'model.vae.path', fs.params.ckpt_path);
      if (fs.params.embed_dim !== undefined) set(out, 'model.vae.embed_dim', fs.params.embed_dim);
      if (fs.params.use_null_attention === true) ctx.err(`${fp}.use_null_attention`, 'null attention is not supported');
      const dd = fs.params.ddconfig;
      if (dd !== undefined) {
        if (!isObj(dd)) ctx.err(`${fp}.ddconfig`, 'expected a mapping');
        else {
          const mapped = ['ch', 'ch_mult', 'num_res_blocks', 'z_channels'];
          ctx.known(dd, `${fp}.ddconfig`, [...mapped, ...Object.keys(FIXED_DDCONFIG), 'resolution']);
          for (const k of mapped) if (dd[k] !== undefined) set(out, `model.vae.${k}`, dd[k]);
          for (const [k, v] of Object.entries(FIXED_DDCONFIG)) {
            if (dd[k] !== undefined && JSON.stringify(dd[k]) !== JSON.stringify(v)) ctx.err(`${fp}.ddconfig.${k}`, `only ${JSON.stringify(v)} is supported, got ${JSON.stringify(dd[k])}`);
          }
          if (dd.resolution !== undefined) ctx.warnings.push(`${fp}.ddconfig.resolution has no effect (the autoencoder is fully convolutional)`);
        }
      }
    }
  }
  if (p.scale_factor !== undefined) set(out, 'model.flow.scale_factor', p.scale_factor);

  // --- optimization
  set(out, 'train.optimizer', 'adam');
  if (p.lr !== undefined) set(out, 'train.lr', p.lr);
  if (p.weight_decay !== undefined) set(out, 'train.weight_decay', p.weight_decay);
  if (p.ema_rate !== undefined) set(out, 'train.ema.decay', p.ema_rate);
  if (p.ema_update_every !== undefined) set(out, 'train.ema.update_every', p.ema_update_every);
  if (p.ema_update_after_step !== undefined) set(out, 'train.ema.update_after_step', p.ema_update_after_step);
  if (p.use_ema_for_sampling !== undefined) set(out, 'train.ema.use_for_sampling', p.use_ema_for_sampling);
  if (p.log_grad_norm !== undefined) set(out, 'train.log.grad_norm', p.log_grad_norm);
  if (p.n_images_to_vis !== undefined) set(out, 'train.val.num_images', p.n_images_to_vis);
  if (p.metric_tracker_cfg != null) {
    const mt = ctx.block(p.metric_tracker_cfg, `${P}.metric_tracker_cfg`, ['fmboost.metrics.ImageMetricTracker']);
    if (mt) {
      ctx.known(mt.params, `${P}.metric_tracker_cfg.params`, ['num_crops', 'crop_size']);
      if (mt.params.num_crops !== undefined) set(out, 'train.val.num_crops', mt.params.num_crops);
      if (mt.params.crop_size !== undefined) set(out, 'train.val.crop_size', mt.params.crop_size);
    }
  }
  if (p.lr_scheduler_cfg == null) set(out, 'train.lr_schedule', 'constant');
  else {
    const ls = ctx.block(p.lr_scheduler_cfg, `${P}.lr_scheduler_cfg`, ['fmboost.lr_schedulers.get_constant_schedule_with_warmup', 'fmboost.lr_schedulers.get_cosine_schedule_with_warmup']);
    if (ls) {
      const lp = `${P}.lr_scheduler_cfg.params`;
      if (ls.target.endsWith('get_constant_schedule_with_warmup')) {
        ctx.known(ls.params, lp, ['num_warmup_steps']);
        set(out, 'train.lr_schedule', 'constant_warmup');
      } else {
        ctx.known(ls.params, lp, ['num_warmup_steps', 'num_training_steps', 'num_cycles']);
        set(out, 'train.lr_schedule', 'cosine_warmup');
        if (ls.params.num_training_steps !== undefined) set(out, 'train.max_steps', ls.params.num_training_steps);
        if (ls.params.num_cycles !== undefined) set(out, 'train.num_cycles', ls.params.num_cycles);
      }
      if (ls.params.num_warmup_steps === undefined) ctx.err(`${lp}.num_warmup_steps`, 'required');
      else set(out, 'train.warmup_steps', ls.params.num_warmup_steps);
    }
  }
}

function adaptData(ctx: Ctx, data: unknown, out: Obj): void {
  if (data === undefined || data === null) return;
  if (!isObj(data)) { ctx.err('data', 'expected a mapping'); return; }
  if (data.target === undefined) {
    // Native data keys inside a reference-layout file are allowed.
    for (const [k, v] of Object.entries(data)) set(out, `data.${k}`, v);
    return;
  }
  for (const k of Object.keys(data)) if (!['name', 'target', 'params'].includes(k)) ctx.err(`data.${k}`, unknownKeyMessage(k, ['name', 'target', 'params']));
  if (typeof data.target === 'string' && PLACEHOLDER_DATA_TARGETS.has(data.target)) {
    ctx.warnings.push(`data.target "${data.target}" is the reference's placeholder; give the data with data.sources (e.g. data.sources='[{type: images, path: ./photos}]')`);
    return;
  }
  ctx.err('data.target', `unknown target "${String(data.target)}": Python data modules cannot be used; describe the data with data.sources, data.image_size, data.batch_size …`);
}

const CKPT_KEYS = ['every_n_train_steps', 'save_top_k', 'verbose', 'save_last', 'auto_insert_metric_name', 'dirpath', 'filename'];
const TRAINER_PARAM_KEYS = ['max_epochs', 'max_steps', 'num_sanity_val_steps', 'accumulate_grad_batches', 'log_every_n_steps', 'limit_val_batches', 'val_check_interval', 'precision', 'gradient_clip_val', 'benchmark', 'deterministic', 'enable_progress_bar', 'devices', 'num_nodes', 'strategy', 'accelerator'];

/** Lightning's devices / num_nodes / strategy: data-parallel (DDP) processes per machine and machines. */
function adaptDistributed(ctx: Ctx, tp: Obj, out: Obj): void {
  const P = 'train.trainer_params';
  const count = (k: 'devices' | 'num_nodes'): number | undefined => {
    const v = tp[k];
    if (v === undefined || v === null || v === 'auto') return undefined;
    if (Array.isArray(v)) return v.length; // a list of device ids: one process each
    if (Number.isInteger(v) && (v as number) >= 1) return v as number;
    if (v === -1) { ctx.warnings.push(`${P}.${k}: -1 (all devices) means one process here; pass --nproc N`); return undefined; }
    ctx.err(`${P}.${k}`, `expected a positive integer, a list of device ids or "auto", got ${JSON.stringify(v)}`);
    return undefined;
  };
  const devices = count('devices'), nodes = count('num_nodes');
  if (devices !== undefined) set(out, 'train.distributed.devices', devices);
  if (nodes !== undefined) set(out, 'train.distributed.num_nodes', nodes);
  const st = tp.strategy;
  if (st !== undefined && st !== null) {
    const name = typeof st === 'string' ? st : '';
    if (!['ddp', 'ddp_spawn', 'ddp_find_unused_parameters_false', 'ddp_find_unused_parameters_true', 'auto'].includes(name)) {
      ctx.err(`${P}.strategy`, `strategy ${JSON.stringify(st)} is not supported: fmboost trains data-parallel (ddp) only`);
    }
  }
  if (tp.accelerator !== undefined && !['cpu', 'gpu', 'cuda', 'auto'].includes(String(tp.accelerator))) ctx.err(`${P}.accelerator`, `accelerator ${JSON.stringify(tp.accelerator)} is not supported (cpu, gpu, cuda or auto)`);
}

function adaptTrain(ctx: Ctx, train: unknown, out: Obj): void {
  if (train === undefined || train === null) return;
  if (!isObj(train)) { ctx.err('train', 'expected a mapping'); return; }
  ctx.known(train, 'train', ['checkpoint_callback_params', 'trainer_params', 'callbacks']);
  const ck = train.checkpoint_callback_params;
  if (ck !== undefined) {
    if (!isObj(ck)) ctx.err('train.checkpoint_callback_params', 'expected a mapping');
    else {
      ctx.known(ck, 'train.checkpoint_callback_params', CKPT_KEYS);
      if (ck.every_n_train_steps !== undefined) set(out, 'train.checkpoint_every', ck.every_n_train_steps);
      if (ck.save_last === false) ctx.warnings.push('train.checkpoint_callback_params.save_last: False — fmboost always keeps last.safetensors (needed to resume)');
      if (ck.save_top_k !== undefined && ck.save_top_k !== -1) ctx.warnings.push('train.checkpoint_callback_params.save_top_k: every step-N checkpoint is kept');
      if (ck.dirpath !== undefined || ck.filename !== undefined) ctx.warnings.push('checkpoint dirpath/filename: checkpoints go to <experiment>/checkpoints/');
    }
  }
  const tp = train.trainer_params;
  if (tp !== undefined) {
    if (!isObj(tp)) ctx.err('train.trainer_params', 'expected a mapping');
    else {
      const P = 'train.trainer_params';
      ctx.known(tp, P, TRAINER_PARAM_KEYS);
      if (tp.max_steps !== undefined && tp.max_steps !== -1) set(out, 'train.max_steps', tp.max_steps);
      else if (tp.max_epochs === -1 || tp.max_epochs === undefined) set(out, 'train.max_steps', (out.train as Obj | undefined)?.max_steps ?? null);
      else ctx.err(`${P}.max_epochs`, `epoch limits are not supported; give train.max_steps instead (got max_epochs ${JSON.stringify(tp.max_epochs)})`);
      if (tp.accumulate_grad_batches !== undefined) set(out, 'train.grad_accum', tp.accumulate_grad_batches);
      if (tp.log_every_n_steps !== undefined) set(out, 'train.log.every', tp.log_every_n_steps);
      if (tp.limit_val_batches !== undefined) set(out, 'train.val.limit_batches', tp.limit_val_batches);
      if (tp.val_check_interval !== undefined) set(out, 'train.val.every', tp.val_check_interval);
      if (tp.gradient_clip_val !== undefined) set(out, 'train.grad_clip', tp.gradient_clip_val === 0 ? null : tp.gradient_clip_val);
      if (tp.precision !== undefined) {
        const prec = String(tp.precision);
        if (['bf16-mixed', 'bf16', 'bf16-true'].includes(prec)) set(out, 'train.precision', 'bf16');
        else if (['32', '32-true'].includes(prec)) set(out, 'train.precision', 'fp32');
        else ctx.err(`${P}.precision`, `precision "${prec}" is not supported (use 32 or bf16-mixed)`);
      }
      adaptDistributed(ctx, tp, out);
      if (tp.num_sanity_val_steps !== undefined && tp.num_sanity_val_steps !== 0) ctx.warnings.push(`${P}.num_sanity_val_steps: no sanity validation is run`);
    }
  }
  const cbs = train.callbacks;
  if (cbs !== undefined) {
    if (!Array.isArray(cbs)) ctx.err('train.callbacks', 'expected a list');
    else cbs.forEach((cb, i) => {
      const b = ctx.block(cb, `train.callbacks[${i}]`, ['pytorch_lightning.callbacks.LearningRateMonitor', 'lightning.pytorch.callbacks.LearningRateMonitor']);
      if (b) ctx.known(b.params, `train.callbacks[${i}].params`, ['logging_interval', 'log_momentum']);
    });
  }
}

/** Maps a reference-layout document onto the native layout; throws a ConfigError naming every problem. */
export function adaptReferenceConfig(doc: unknown, source?: string): AdaptResult {
  const ctx = new Ctx();
  const out: Obj = {};
  if (!isObj(doc)) throw new ConfigError([{ path: '', message: 'expected a mapping at the top level' }], source);
  ctx.known(doc, '', ['model', 'data', 'train', 'lightning', 'name']);
  if (doc.name !== undefined) out.name = doc.name;
  if (doc.lightning !== undefined) ctx.warnings.push('the "lightning" section has no effect');
  adaptModel(ctx, doc.model, out);
  adaptData(ctx, doc.data, out);
  adaptTrain(ctx, doc.train, out);
  if (ctx.issues.length) throw new ConfigError(ctx.issues.map((i) => ({ path: i.path.replace(/^\./, ''), message: i.message })), source);
  return { config: out, warnings: ctx.warnings };
}
