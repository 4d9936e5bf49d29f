// The fmboost training config: model (UNet with the reference's option names, VAE, flow), data, train.
// Defaults are the paper's settings where the paper has one (DESIGN.md §1), except precision (fp32:
// bf16 autocast only pays off on hardware with fast bf16).
import { arr, bool, int, nullable, num, obj, oneOf, str, type Infer } from '../../util/schema.js';
import { DEGRADATIONS } from '../../data/degradation_names.js';
import { NOISE_STEP_MAX, NOISE_STEP_MIN, SOLVER_NAMES } from '../../flow/sampling_options.js';
import { VAE_PRESET_NAMES } from '../../models/preset_names.js';
import { unetModelConfig as toUnetConfig, vaeModelOverrides as toVaeOverrides } from '../../artifacts/config_translation.js';

export const SOURCE_MODES = ['psu', 'lsu', 'identity', 'noise_upsampling', 'noise'] as const;
export const INTERPOLATIONS = ['nearest', 'bilinear', 'bicubic'] as const;

export const unetSpec = obj('EfficientUNet (reference option names)', {
  in_channels: int({ doc: 'input channels: x_t plus the concatenated context latent', default: 8, min: 1 }),
  model_channels: int({ doc: 'base channel count', default: 128, min: 1 }),
  out_channels: int({ doc: 'output channels (the velocity field)', default: 4, min: 1 }),
  num_res_blocks: int({ doc: 'residual blocks per resolution level', default: 3, min: 1 }),
  attention_resolutions: arr(int({ doc: 'downsampling factor', min: 1 }), { doc: 'downsampling factors (1, 2, 4, …) at which self-attention is used', default: [8, 16] }),
  dropout: num({ doc: 'dropout probability in residual blocks', default: 0, min: 0, lt: 1 }),
  channel_mult: arr(int({ doc: 'multiplier', min: 1 }), { doc: 'channel multiplier per level', default: [1, 2, 4, 8], minLength: 1 }),
  conv_resample: bool({ doc: 'learned convolutions for down/upsampling', default: true }),
  dim_head: int({ doc: 'attention head dimension', default: 64, min: 1 }),
  num_heads: int({ doc: 'attention heads', default: 4, min: 1 }),
  use_linear_attn: bool({ doc: 'linear attention in the encoder/decoder levels', default: false }),
  use_scale_shift_norm: bool({ doc: 'time embedding as scale and shift of the norm', default: true }),
  pool_factor: int({ doc: 'patchify factor for the input (≤ 1: none)', default: -1 }),
});

export const vaeSpec = obj('first stage (KL autoencoder, LDM key names)', {
  preset: oneOf(VAE_PRESET_NAMES, { doc: 'autoencoder architecture: sd (SD KL-f8, loads sd_ae.ckpt), vae_small (a CPU-trainable f8 VAE) or vae_f4c8 (the bundled model\'s f4 VAE with a linear shortcut)', default: 'sd' }),
  path: nullable(str({ doc: 'weights file' }), { doc: 'weights file (.safetensors, .ckpt, .pt); null = the bundled default' }),
  ch: nullable(int({ doc: 'base channels', min: 1 }), { doc: 'override the preset: base channels' }),
  ch_mult: nullable(arr(int({ doc: 'multiplier', min: 1 }), { doc: 'per level', minLength: 1 }), { doc: 'override the preset: channel multipliers' }),
  num_res_blocks: nullable(int({ doc: 'blocks', min: 1 }), { doc: 'override the preset: residual blocks per level' }),
  z_channels: nullable(int({ doc: 'latent channels', min: 1 }), { doc: 'override the preset: latent channels' }),
  embed_dim: nullable(int({ doc: 'embedding channels', min: 1 }), { doc: 'override the preset: embed_dim' }),
  attn_type: nullable(oneOf(['vanilla', 'none'] as const, { doc: 'attention' }), { doc: "override the preset: 'none' drops the mid-block attention (its cost is quadratic in the latent size)" }),
  shortcut: nullable(oneOf(['none', 'linear'] as const, { doc: 'shortcut' }), { doc: "override the preset: 'linear' adds a pixel-unshuffle 1×1-conv shortcut around the conv coder (PCA-initialised when trained from scratch)" }),
});

export const flowSpec = obj('coupling flow matching', {
  schedule: oneOf(['linear', 'gvp'] as const, { doc: 'probability path: linear (x_t = t x1 + (1−t) x0) or gvp (sin/cos)', default: 'linear' }),
  sigma_min: num({ doc: 'std of the Gaussian around the path (linear only)', default: 0, min: 0 }),
  noising_step: int({ doc: 'forward-diffusion step (of 1000, cosine schedule) used to noise x0; −1 disables', default: 400, min: NOISE_STEP_MIN, max: NOISE_STEP_MAX }),
  source: oneOf(SOURCE_MODES, { doc: 'how the low-res latent becomes x0 / context: psu (pixel-space upsampling, the paper), lsu (latent interpolation), identity, noise_upsampling; noise: no low-res input at all, x0 = N(0, I) and no context (an unconditional base model for `fmboost generate`; model.unet.in_channels = out_channels)', default: 'psu' }),
  lsu_interpolation: oneOf(INTERPOLATIONS, { doc: 'interpolation for source = lsu', default: 'bilinear' }),
  start_from_noise: bool({ doc: 'x0 = N(0, I) with the low-res latent as context (plain conditional FM) instead of the coupling', default: false }),
  scale_factor: num({ doc: 'latent scale (stored latents are unscaled VAE means)', default: 0.18215, gt: 0 }),
  t_zero_fraction: num({ doc: "share of training samples at t = 0 instead of t ~ U[0, 1) (0: the reference). With a deterministic coupling (x0 = the context, noise off) the field at t > 0 is (x_t − context) / t, read off the inputs; only v(context, 0) carries the upscaling, and uniform t trains it on almost no samples", default: 0, min: 0, max: 1 }),
  pixel_loss_weight: num({ doc: "weight of a pixel-space term added to the flow-matching loss (0: the reference's loss alone): the mean squared error between the frozen decoder's image of the one-step estimate x̂1 = x_t + (1 − t)·v(x_t, t) and the high-res image (image batches only). PSNR is measured in pixels; the latent MSE weighs every latent direction alike, however much it moves the pixels", default: 0, min: 0 }),
  scale_by_std: bool({ doc: "LDM's scale_by_std: at a fresh start, scale_factor = 1 / std of the first training batches' high-res latents (stored in the run's checkpoints: resume and export use that value)", default: false }),
});

export const sourceSpec = obj('a data source', {
  type: oneOf(['images', 'tar', 'latents'] as const, { doc: 'images: a folder of image files; tar: WebDataset-style tar shards; latents: precomputed latent shards' }),
  path: str({ doc: 'folder, file, or glob' }),
  weight: num({ doc: 'sampling weight relative to the other sources', default: 1, gt: 0 }),
});

export const dataSpec = obj('training data', {
  sources: arr(sourceSpec, { doc: 'where training samples come from', default: [] }),
  image_size: int({ doc: 'high-resolution image size (pixels, square crops)', default: 1024, min: 8 }),
  resize_shorter: nullable(int({ doc: 'pixels', min: 8 }), { doc: 'resize each image\'s shorter side to this before cropping image_size; null = image_size (whole images, rescaled). Set it to the images\' own size to train on native-scale patches' }),
  low_res_size: int({ doc: 'low-resolution size the model upsamples from (pixels)', default: 512, min: 8 }),
  degradations: arr(oneOf(DEGRADATIONS, { doc: 'degradation' }), { doc: `how the high-res image becomes the low-res input, drawn uniformly per sample (training; validation uses the first): ${DEGRADATIONS.join(', ')} (data/degradation_names.ts)`, default: ['bilinear'], minLength: 1 }),
  batch_size: int({ doc: 'samples per micro-batch on each process (as Lightning: a data-parallel run of W processes takes W × this per micro-batch)', default: 4, min: 1 }),
  global_batch_size: nullable(int({ doc: 'samples', min: 1 }), { doc: 'samples per micro-batch summed over all processes; when set, each of the W processes takes global_batch_size / W (W must divide it) and batch_size is ignored; null = batch_size per process' }),
  workers: int({ doc: 'data-loading worker threads', default: 2, min: 0 }),
  random_crop: bool({ doc: 'random (not center) crops', default: true }),
  random_flip: bool({ doc: 'random horizontal flips', default: true }),
  val_split: num({ doc: 'fraction of the samples held out for validation', default: 0.01, min: 0, lt: 1 }),
});

export const emaSpec = obj('EMA of the weights (reference rule: copy until update_after_step, then warmup decay)', {
  decay: num({ doc: 'maximum decay (the reference ema_rate)', default: 0.999, min: 0, max: 1 }),
  update_after_step: int({ doc: 'steps during which the EMA just copies the weights', default: 1000, min: 0 }),
  update_every: int({ doc: 'update the EMA every n optimizer steps', default: 1, min: 1 }),
  power: num({ doc: 'warmup exponent: d = 1 − (1 + e)^(−power)', default: 0.75, gt: 0 }),
  use_for_sampling: bool({ doc: 'validate and export with the EMA weights', default: true }),
});

export const valSpec = obj('validation', {
  every: int({ doc: 'validate every n optimizer steps (0 = never)', default: 5000, min: 0 }),
  solver: oneOf(SOLVER_NAMES, { doc: 'ODE solver for validation samples', default: 'rk4' }),
  num_steps: int({ doc: 'time-grid points (N points = N − 1 steps)', default: 40, min: 2 }),
  limit_batches: int({ doc: 'validation batches per run', default: 64, min: 1 }),
  num_crops: int({ doc: 'random crops per image for patch metrics', default: 4, min: 1 }),
  crop_size: int({ doc: 'crop size (pixels) for patch metrics', default: 512, min: 8 }),
  num_images: int({ doc: 'images in the HR | LR | prediction grid', default: 16, min: 0 }),
});

export const logSpec = obj('logging', {
  every: int({ doc: 'log scalars every n optimizer steps', default: 50, min: 1 }),
  csv: bool({ doc: 'metrics.csv in the experiment folder', default: true }),
  tensorboard: bool({ doc: 'TensorBoard event files in the experiment folder', default: true }),
  wandb: bool({ doc: 'Weights & Biases (needs the @wandb/sdk package and WANDB_API_KEY)', default: false }),
  wandb_project: str({ doc: 'W&B project', default: 'fmboost' }),
  grad_norm: bool({ doc: 'log the gradient norm', default: true }),
});

export const trainSpec = obj('optimization and the training loop', {
  optimizer: oneOf(['adam', 'adamw'] as const, { doc: 'optimizer (the reference uses Adam)', default: 'adam' }),
  lr: num({ doc: 'peak learning rate', default: 3e-5, gt: 0 }),
  weight_decay: num({ doc: 'weight decay (L2 for adam, decoupled for adamw)', default: 0, min: 0 }),
  betas: arr(num({ doc: 'beta', min: 0, lt: 1 }), { doc: 'Adam betas', default: [0.9, 0.999], minLength: 2, maxLength: 2 }),
  eps: num({ doc: 'Adam epsilon', default: 1e-8, gt: 0 }),
  lr_schedule: oneOf(['constant', 'constant_warmup', 'cosine_warmup'] as const, { doc: 'learning-rate schedule', default: 'constant_warmup' }),
  warmup_steps: int({ doc: 'linear warmup steps', default: 1000, min: 0 }),
  num_cycles: num({ doc: 'cosine waves after warmup (0.5 = decay to 0 once)', default: 0.5, gt: 0 }),
  grad_accum: int({ doc: 'micro-batches per optimizer step', default: 1, min: 1 }),
  grad_clip: nullable(num({ doc: 'max norm', gt: 0 }), { doc: 'clip the gradient norm to this value; null = no clipping (the reference)' }),
  ema: emaSpec,
  precision: oneOf(['fp32', 'bf16'] as const, { doc: 'fp32, or bf16 autocast (the reference: bf16-mixed)', default: 'fp32' }),
  max_steps: nullable(int({ doc: 'steps', min: 1 }), { doc: 'stop after this many optimizer steps; null = until interrupted', default: 100000 }),
  checkpoint_every: int({ doc: 'save step-N checkpoints every n optimizer steps (0 = only last)', default: 10000, min: 0 }),
  val: valSpec,
  log: logSpec,
  seed: int({ doc: 'random seed', default: 0, min: 0 }),
  distributed: obj('data-parallel training (`fmboost train --nproc N`, or torchrun-style RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT)', {
    backend: oneOf(['auto', 'gloo', 'nccl'] as const, { doc: 'c10d backend: gloo (CPU), nccl (CUDA); auto = nccl when the tensors are on CUDA, else gloo', default: 'auto' }),
    timeout_s: num({ doc: 'longest wait of the rendezvous, of any collective, and of the other ranks at a barrier while rank 0 saves or validates (seconds)', default: 600, gt: 0, max: 86400 }),
    devices: int({ doc: 'processes per machine when `fmboost train` is given no --nproc (the reference: trainer_params.devices)', default: 1, min: 1, max: 1024 }),
    num_nodes: int({ doc: 'machines when no --nnodes is given (the reference: trainer_params.num_nodes)', default: 1, min: 1, max: 1024 }),
  }),
  autoencoder: obj('mode = autoencoder: training the KL autoencoder itself', {
    rec_loss: oneOf(['l1', 'l2'] as const, { doc: 'pixel reconstruction loss (LDM: l1)', default: 'l1' }),
    kl_weight: num({ doc: 'weight of the KL term (LDM: 1e-6), relative to the per-pixel reconstruction loss', default: 1e-6, min: 0 }),
    sample_posterior: bool({ doc: 'decode a posterior sample (seeded) rather than the mean while training', default: true }),
    pca_batches: int({ doc: "batches of training crops whose f×f patches initialise a 'linear' shortcut by PCA at a fresh start (0 = keep the random init)", default: 32, min: 0 }),
  }),
});

export const configSpec = obj('fmboost training config', {
  name: nullable(str({ doc: 'name' }), { doc: 'experiment name (the folder under logs/); null = derived from the config file name' }),
  mode: oneOf(['flow', 'autoencoder'] as const, { doc: 'what `fmboost train` trains: flow (the UNet, coupling flow matching with a frozen VAE) or autoencoder (the KL VAE)', default: 'flow' }),
  model: obj('model', { unet: unetSpec, vae: vaeSpec, flow: flowSpec }),
  data: dataSpec,
  train: trainSpec,
});

export type FmboostConfig = Infer<typeof configSpec>;
export type UnetOptions = FmboostConfig['model']['unet'];
export type VaeOptions = FmboostConfig['model']['vae'];
export type FlowOptions = FmboostConfig['model']['flow'];
export type DataOptions = FmboostConfig['data'];
export type TrainOptions = FmboostConfig['train'];

/** UNet options as the constructor config of src/models (camelCase keys: in_channels → inChannels). */
export const unetModelConfig: (o: UnetOptions) => Record<string, unknown> = toUnetConfig;

/** VAE architecture overrides (non-null keys only) as src/models AutoencoderKL config keys (ch_mult → chMult). */
export const vaeModelOverrides: (o: VaeOptions) => Record<string, unknown> = toVaeOverrides;
