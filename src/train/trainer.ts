// The training loop behind `fmboost train`: flow (the paper's CFM UNet) or autoencoder mode, with
// Adam/AdamW, the LR schedule, gradient accumulation and clipping, EMA, optional bf16 autocast,
// validation with EMA weights, loggers, checkpoints with everything needed for an exact resume,
// and signal handling. Validation (validation.ts), --load-weights (initial_weights.ts) and the charts
// (run_charts.ts) are modules of their own.
//
// Call order per optimizer step k (0-based), as the reference (Lightning runs training_step, where
// the reference steps its scheduler and its EMA, inside the optimizer closure, before the update):
//   forward/backward of every micro-batch → grad norm (and clipping) → lr = base·factor(k + 1) →
//   EMA update (averages the weights as they were before update k) → optimizer step.
// Unlike the reference, with grad_accum > 1 the schedule advances once per optimizer step, not per
// micro-batch.
//
// Determinism: one master seed (train.seed) gives the data order (the loader's own keyed streams) and
// four torch Generators (t sampling, noise augmentation, posterior samples, dropout). Their states,
// the loader position, the optimizer, the EMA and the step are saved in every checkpoint, so a
// resumed run computes the same losses and weights as an uninterrupted one (bit-exact on CPU with
// the same thread count). Validation uses its own generator, fresh at every validation, so it does
// not shift the training streams.
//
// Data-parallel (data_parallel.ts): with WORLD_SIZE > 1 in the environment (`fmboost train --nproc N`
// or torchrun), each process trains on its shard with gradients averaged in backward; rank 0 alone
// writes the experiment folder. A resume may use any world size.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldNow } from 'node:timers/promises';
import { type Batch, DataLoader, Rng, type DataSource } from '../data/index.js';
import { cleanStaleTemps } from '../io/index.js';
import { Adam, AdamW, clipGradNorm, gradNorm } from '../nn/index.js';
import { Generator, getNumThreads, liveTensors, manualSeed, tensor, tidy } from '../tensor/index.js';
import { worldFromEnv, type World } from '../distributed/index.js';
import { encodePng } from '../util/png.js';
import { CheckpointDir, loadCheckpoint, type CheckpointKind, type LoadedCheckpoint } from '../artifacts/checkpoint.js';
import { saveResolvedConfig, type FmboostConfig } from './config/index.js';
import { EMA } from './ema.js';
import { TrainerSetupError, TrainingDivergedError } from './errors.js';
import { loadInitialWeights } from './initial_weights.js';
import { createLoggers } from './log/create.js';
import { MultiLogger } from './log/logger.js';
import { ProgressPrinter, ThroughputMeter } from './log/progress.js';
import { lrFactorFn } from './lr.js';
import { AutoencoderTask } from './loop/ae_task.js';
import { openSources, splitSource, trainLoader } from './loop/data.js';
import { FlowTask } from './loop/flow_task.js';
import { seedDropout } from './loop/models.js';
import { StepProfiler } from './step_profiler.js';
import { DataParallel, perRankBatch, STOP_CODES } from './data_parallel.js';
import { runValidation } from './validation.js';
import { writeRunCharts } from './run_charts.js';
import { captureRunState, restoreRunState, type RunParts } from './run_state.js';
import { type Streams, type TrainTask } from './loop/task.js';

export { TrainerSetupError, TrainingDivergedError } from './errors.js';

export interface TrainerOptions {
  config: FmboostConfig;
  /** Experiment folder (logs/NAME). */
  expDir: string;
  /** Continue exactly from this checkpoint (everything restored). */
  resumeCheckpoint?: string;
  /** Initialise the model's weights from this file, non-strictly (reports what it skipped). */
  loadWeights?: string;
  /** With loadWeights: the least fraction of the model's tensors the file must fill (default: at least one). */
  minMatch?: number;
  useWandb?: boolean;
  /** Where progress and messages go (default stderr). */
  out?: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Install SIGINT/SIGTERM/SIGUSR1 handlers (default true). */
  handleSignals?: boolean;
  /** Time every op of the optimizer steps (op profiler) from the third step of this run; printed and saved as profile.json at the end. */
  profile?: boolean;
  /** Test hook: make the loss NaN at this optimizer step (1-based). Also FMBOOST_INJECT_NAN_STEP. */
  injectNanAtStep?: number;
  /** This process's place in a data-parallel run (default: from RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT). */
  world?: World;
}

export interface TrainResult {
  status: 'finished' | 'interrupted';
  /** Optimizer steps done. */
  step: number;
  signal?: NodeJS.Signals;
  lastCheckpoint?: string;
  /** Checkpoint saves that failed (each reported when it happened). */
  saveFailures: number;
  lastVal?: Record<string, number>;
}

/** A seed for stream `k` of a run, from the master seed. */
export function deriveSeed(seed: number, k: number): number {
  return new Rng(seed, 0x5eed5, k).nextU32();
}

/** A checkpoint file, or for an experiment or checkpoints folder its latest checkpoint. */
export function resolveCheckpointPath(p: string): string {
  if (!existsSync(p) || !statSync(p).isDirectory()) return p;
  const latest = new CheckpointDir(existsSync(join(p, 'checkpoints')) ? join(p, 'checkpoints') : p).latest();
  if (!latest) throw new TrainerSetupError(`no checkpoint found in ${p}`);
  return latest.path;
}

/** The run's generators; in a data-parallel run each draws this rank's rows of the global batch's draw. */
function makeStreams(seed: number, world: World): Streams {
  const g = (k: number) => new Generator(deriveSeed(seed, k)).shardBatch(world.rank, world.worldSize);
  return { time: g(1), noise: g(2), posterior: g(3), dropout: g(4) };
}

export class Trainer {
  readonly config: FmboostConfig;
  readonly expDir: string;
  readonly ckpt: CheckpointDir;
  private readonly out: NonNullable<TrainerOptions['out']>;
  private readonly progress: ProgressPrinter;
  private task!: TrainTask;
  private streams!: Streams;
  private loader!: DataLoader;
  private trainSrc!: DataSource;
  private valSrc: DataSource | null = null;
  private optimizer!: Adam;
  private ema!: EMA;
  private loggers!: MultiLogger;
  private step = 0;
  private lastCheckpoint: string | undefined;
  private saveFailures = 0;
  private pendingSignal: NodeJS.Signals | undefined;
  private lastVal: Record<string, number> | undefined;
  private skippedReported = 0;
  private prof: StepProfiler | undefined;
  readonly world: World;
  private dp: DataParallel | undefined;
  /** Rank 0 (or the only process): writes checkpoints, logs, validation and messages. */
  private readonly main: boolean;

  constructor(readonly opts: TrainerOptions) {
    this.config = opts.config;
    this.expDir = opts.expDir;
    this.ckpt = new CheckpointDir(join(opts.expDir, 'checkpoints'));
    this.world = opts.world ?? worldFromEnv();
    this.main = this.world.rank === 0;
    this.out = this.main ? opts.out ?? process.stderr : { write: () => true };
    this.progress = new ProgressPrinter(this.out, { every: this.config.train.log.every });
    if (opts.resumeCheckpoint && opts.loadWeights) throw new TrainerSetupError('--resume-checkpoint and --load-weights cannot be used together (resume restores the weights already)');
    // a killed run leaves its half-written checkpoint temp files (.NAME.PID.RANDOM.tmp); their writer is gone
    const stale = this.main ? cleanStaleTemps(join(opts.expDir, 'checkpoints'), 0) : [];
    if (stale.length) this.say(`removed ${stale.length} temp file(s) a killed run left in checkpoints/: ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}`);
  }

  private say(s: string): void {
    this.progress.message(s);
  }

  /** Builds everything, trains until max_steps or a stop signal, and cleans up. */
  async run(): Promise<TrainResult> {
    const c = this.config;
    const signals: [NodeJS.Signals, () => void][] = [];
    let result: TrainResult | undefined;
    try {
      await this.setup();
      if (this.opts.handleSignals ?? true) {
        for (const sig of ['SIGINT', 'SIGTERM', 'SIGUSR1'] as NodeJS.Signals[]) {
          const h = () => {
            // A second SIGINT/SIGTERM while the first is pending: stop now, without saving.
            if (this.pendingSignal && sig !== 'SIGUSR1' && this.pendingSignal !== 'SIGUSR1') {
              this.say(`${sig} again: exiting without saving`);
              process.exit(sig === 'SIGINT' ? 130 : 143);
            }
            this.pendingSignal = sig;
            this.say(`${sig} received: saving ${this.ckpt.pathFor('interrupted')} after the current step${sig === 'SIGUSR1' ? ' and continuing' : ', then stopping'}`);
          };
          process.on(sig, h);
          signals.push([sig, h]);
        }
      }
      result = await this.loop();
      return result;
    } finally {
      for (const [sig, h] of signals) process.off(sig, h);
      await this.teardown(result !== undefined && c.train.val.every > 0);
    }
  }

  private async setup(): Promise<void> {
    const c = this.config;
    const W = this.world.worldSize;
    if (W > 1) {
      this.dp = await DataParallel.join(this.world, { backend: c.train.distributed.backend, timeoutMs: c.train.distributed.timeout_s * 1000 });
    }
    c.data.batch_size = perRankBatch(c.data, W);
    if (this.main) mkdirSync(this.expDir, { recursive: true });
    let resumed: LoadedCheckpoint | undefined;
    if (this.opts.resumeCheckpoint) {
      const p = resolveCheckpointPath(this.opts.resumeCheckpoint);
      resumed = loadCheckpoint(p);
      const mode = (resumed.config as { mode?: string } | undefined)?.mode ?? 'flow';
      if (mode !== c.mode) throw new TrainerSetupError(`${p} is a ${mode} checkpoint, but the config's mode is ${c.mode}`);
      // scale_by_std measured the scale at the run's start: a resume keeps that value.
      const stored = (resumed.config as { model?: { flow?: { scale_factor?: unknown } } } | undefined)?.model?.flow?.scale_factor;
      if (c.mode === 'flow' && c.model.flow.scale_by_std && typeof stored === 'number') c.model.flow.scale_factor = stored;
    }
    if (this.main) saveResolvedConfig(join(this.expDir, 'config.yaml'), c);

    // Weight init draws from libtorch's default generator: seed it so a fresh run is reproducible.
    manualSeed(deriveSeed(c.train.seed, 0));
    this.task = c.mode === 'autoencoder' ? new AutoencoderTask(c) : new FlowTask(c);
    this.task.model.train();
    this.streams = makeStreams(c.train.seed, this.world);
    const nDrop = seedDropout(this.task.model, this.streams.dropout);

    const all = await openSources(c.data);
    if (c.data.sources.some((s) => s.weight !== 1)) this.say('data: source weights are not supported yet: the sources are concatenated (each item once per epoch)');
    const split = splitSource(all, c.data.val_split, c.train.seed);
    this.trainSrc = split.train;
    this.valSrc = split.val;
    this.loader = trainLoader(this.trainSrc, c.data, c.train.seed, { rank: this.world.rank, worldSize: W });
    let prepared: string | null = null;
    if (!resumed && this.task.prepare && this.main) {
      // Its own loader (seed + 1), so the training data order is the same with or without it; the global
      // batch, on rank 0 only (its weights reach the other ranks below, and scale_by_std's value with them).
      const init = trainLoader(this.trainSrc, { ...c.data, batch_size: c.data.batch_size * W }, c.train.seed + 1);
      try { prepared = await this.task.prepare(() => init.next(), { loadWeights: Boolean(this.opts.loadWeights) }); } finally { await init.close(); }
      if (prepared) saveResolvedConfig(join(this.expDir, 'config.yaml'), c); // scale_by_std may have set a value
    }

    const t = c.train;
    // bf16 runs oneDNN's NHWC kernels: channels_last weights (and so activations) avoid a reorder per conv.
    // Before the optimizer, whose state takes its parameters' layout. fp32 keeps NCHW (bit-exact resume).
    if (t.precision === 'bf16') for (const m of [this.task.model, this.task.emaModel]) m.toMemoryFormat('channels_last');
    const params = this.task.model.parameters().filter((p) => p.requiresGrad);
    const hyper = { lr: t.lr, betas: [t.betas[0], t.betas[1]] as [number, number], eps: t.eps, weightDecay: t.weight_decay };
    this.optimizer = t.optimizer === 'adamw' ? new AdamW(params, hyper) : new Adam(params, hyper);
    this.ema = new EMA(this.task.model, {
      shadow: this.task.emaModel, maxDecay: t.ema.decay, updateAfterStep: t.ema.update_after_step, updateEvery: t.ema.update_every, power: t.ema.power,
    });

    if (resumed) {
      this.step = restoreRunState(this.parts, resumed);
      this.lastCheckpoint = resumed.path;
    }
    else if (this.opts.loadWeights) for (const line of loadInitialWeights(this.task, this.opts.loadWeights, this.opts.minMatch ?? 0)) this.say(line);
    let dpLine = '';
    if (this.dp) {
      await this.syncFromRankZero();
      const buckets = this.dp.attach(params);
      dpLine = `, data-parallel: ${W} processes (rank 0 writes logs/checkpoints), ${this.dp.group.backend}, gradients all-reduced in ${buckets} bucket(s) during backward`;
    }

    this.loggers = this.main
      ? await createLoggers(this.expDir, { ...t.log, wandb: t.log.wandb || Boolean(this.opts.useWandb) }, { runName: c.name ?? undefined, config: c as unknown as Record<string, unknown>, resumeStep: this.step })
      : new MultiLogger([]);

    const nParams = params.reduce((a, p) => a + p.numel, 0);
    this.say(`fmboost train: mode ${c.mode}, ${nParams.toLocaleString('en-US')} trainable parameters${nDrop ? `, ${nDrop} seeded dropout layers` : ''}; experiment ${this.expDir}`);
    for (const line of this.task.describe({ resumed: Boolean(resumed) })) this.say(line);
    if (prepared) this.say(prepared);
    const batchText = W > 1 ? `batch ${c.data.batch_size} per process × ${W} processes = ${c.data.batch_size * W}` : `batch ${c.data.batch_size}`;
    this.say(`data: ${all.name}: ${all.length} usable items (train ${this.trainSrc.length}, validation ${this.valSrc?.length ?? 0}), ${batchText} × accumulate ${t.grad_accum}${dpLine}`);
    this.reportSkipped();
    if (resumed) {
      this.say(`resumed from ${resumed.path} at step ${this.step}`);
      const was = resumed.trainer as { world_size?: number; global_batch?: number };
      const now = c.data.batch_size * W;
      if (typeof was.global_batch === 'number' && was.global_batch !== now) {
        this.say(`note: the checkpoint's run took ${was.global_batch} samples per micro-batch (${was.world_size ?? 1} process(es)); this one takes ${now} (${W} × ${c.data.batch_size}); set data.global_batch_size=${was.global_batch} to keep the run's batch`);
      }
    }
  }

  /**
   * Every rank takes rank 0's weights, EMA and flow scale_factor (a fresh init, a PCA or scale_by_std
   * prepare, --load-weights or a resume all end the same everywhere). The optimizer state and the
   * streams come from the checkpoint each rank read (a resume needs the file on every machine).
   */
  private async syncFromRankZero(): Promise<void> {
    const dp = this.dp!;
    const f = this.config.model.flow;
    const sf = tensor(Float64Array.of(f.scale_factor));
    try {
      await dp.fromRankZero([...this.task.model.stateDict().values(), ...this.ema.averaged().values()], 'the weights and the EMA');
      await dp.fromRankZero([sf], 'model.flow.scale_factor');
      f.scale_factor = (sf.data() as Float64Array)[0];
    } finally { sf.dispose(); }
  }

  private reportSkipped(): void {
    const skipped = this.trainSrc.skipped;
    if (skipped.length > this.skippedReported) {
      for (const s of skipped.slice(this.skippedReported, this.skippedReported + 10)) this.say(`data: skipped ${s.name}: ${s.reason}`);
      if (skipped.length - this.skippedReported > 10) this.say(`data: … and ${skipped.length - this.skippedReported - 10} more`);
      this.say(`data: ${skipped.length} item(s) skipped so far (unreadable or corrupt)`);
      this.skippedReported = skipped.length;
    }
  }

  private get parts(): RunParts {
    return { task: this.task, ema: this.ema, optimizer: this.optimizer, streams: this.streams, loader: this.loader };
  }

  /** Saves a checkpoint under the given names. A failure is reported and counted, never fatal here. */
  private save(kinds: CheckpointKind[]): string | undefined {
    if (!this.main) return undefined;
    let state: ReturnType<typeof captureRunState> | undefined;
    try {
      state = captureRunState(this.parts, this.step, this.config, this.world.worldSize);
      const paths = this.ckpt.save(state, kinds);
      this.lastCheckpoint = paths[0];
      return paths[0];
    } catch (e) {
      this.saveFailures++;
      this.say(`checkpoint save FAILED at step ${this.step} (${kinds.join(', ')}): ${(e as Error).message}; earlier checkpoints are intact${this.lastCheckpoint ? ` (last good: ${this.lastCheckpoint})` : ''}`);
      return undefined;
    } finally {
      if (state) for (const t of state.rng.values()) t.dispose();
    }
  }

  private injectNanStep(): number | undefined {
    const env = Number(process.env.FMBOOST_INJECT_NAN_STEP ?? '');
    return this.opts.injectNanAtStep ?? (Number.isInteger(env) && env > 0 ? env : undefined);
  }

  /** Forward and backward of one micro-batch; `last` arms the data-parallel gradient all-reduce. */
  private microStep(batch: Batch, stepNo: number, nanStep: number | undefined, last: boolean): { value: number; terms?: Record<string, number> } {
    const accum = this.config.train.grad_accum;
    return tidy(() => {
      const r = this.task.loss(batch, this.streams);
      let loss = r.loss;
      if (stepNo === nanStep) loss = loss.mul(Number.NaN);
      const value = loss.item();
      if (!Number.isFinite(value)) throw new TrainingDivergedError(stepNo, 'the loss', value, this.lastCheckpoint);
      if (last) this.dp?.armBackward(); // earlier micro-batches accumulate locally (DDP's no_sync)
      try {
        (accum > 1 ? loss.div(accum) : loss).backward();
      } catch (e) { throw last && this.dp ? this.dp.backwardError(e) : e; }
      return { value, terms: r.terms };
    });
  }

  private async loop(): Promise<TrainResult> {
    const c = this.config;
    const t = c.train;
    const maxSteps = t.max_steps ?? Infinity;
    const lrFactor = lrFactorFn({ name: t.lr_schedule, warmupSteps: t.warmup_steps, totalSteps: t.max_steps ?? undefined, numCycles: t.num_cycles });
    const params = this.optimizer.paramGroups.flatMap((g) => g.params);
    const nanStep = this.injectNanStep();
    const meter = new ThroughputMeter();
    const dp = this.dp;
    const samplesPerStep = c.data.batch_size * t.grad_accum * this.world.worldSize;
    let acc = { loss: 0, gradNorm: 0, n: 0, waitMs: 0, stepMs: 0, terms: {} as Record<string, number> };
    let savedAt = -1;
    meter.mark(this.step, 0);
    // --profile: the steps only (the first two of the run warm up oneDNN's kernels; saves and validation paused)
    const prof = (this.prof = this.opts.profile ? new StepProfiler(this.step + 2) : undefined);

    while (this.step < maxSteps) {
      prof?.resume(this.step);
      const t0 = performance.now();
      this.optimizer.zeroGrad();
      let lossValue = 0;
      let waitMs = 0;
      let stepTerms: Record<string, number> = {};
      const stepNo = this.step + 1;
      for (let micro = 0; micro < t.grad_accum; micro++) {
        // data time = the whole next() call: decode waits plus synchronous reads (latent shards)
        const tData = performance.now();
        const batch: Batch = await this.loader.next();
        waitMs += performance.now() - tData;
        try {
          const { value, terms } = this.microStep(batch, stepNo, nanStep, micro === t.grad_accum - 1);
          lossValue += value / t.grad_accum;
          for (const [k, v] of Object.entries(terms ?? {})) stepTerms[k] = (stepTerms[k] ?? 0) + v / t.grad_accum;
        } finally {
          batch.dispose();
        }
      }
      const gn = t.grad_clip !== null ? clipGradNorm(params, t.grad_clip) : t.log.grad_norm ? gradNorm(params) : 0;
      if (!Number.isFinite(gn)) throw new TrainingDivergedError(stepNo, 'the gradient norm', gn, this.lastCheckpoint);
      const lr = t.lr * lrFactor(this.step + 1);
      for (const g of this.optimizer.paramGroups) g.lr = lr;
      this.ema.update();
      this.optimizer.step();
      this.step = stepNo;
      // data-parallel: the logged loss is the mean over ranks, and every rank stops (or saves) at the same step, the
      // one agreed here; a single process reads its own pending signal after the event-loop turn below
      let sig: NodeJS.Signals | undefined;
      if (dp) {
        const own = this.pendingSignal;
        const agreed = await dp.endOfStep(lossValue, stepTerms, own ? STOP_CODES[own as keyof typeof STOP_CODES] ?? 0 : 0);
        lossValue = agreed.loss;
        stepTerms = agreed.terms;
        sig = agreed.signal;
      }
      for (const [k, v] of Object.entries(stepTerms)) acc.terms[k] = (acc.terms[k] ?? 0) + v;

      prof?.pause(this.step);
      const stepMs = performance.now() - t0;
      meter.mark(this.step, samplesPerStep);
      acc.loss += lossValue; acc.gradNorm += gn; acc.n++; acc.waitMs += waitMs; acc.stepMs += stepMs;
      const rates = meter.rates();
      this.progress.update({ step: this.step, maxSteps: t.max_steps ?? 0, loss: lossValue, lr, ...rates, etaSeconds: t.max_steps ? meter.eta(this.step, t.max_steps) : undefined });
      if (this.step % t.log.every === 0 || this.step === maxSteps) {
        const row: Record<string, number> = { 'train/loss': acc.loss / acc.n, 'train/lr': lr, 'train/ema_decay': this.ema.lastDecay, epoch: this.loader.state().epoch };
        if (t.log.grad_norm || t.grad_clip !== null) row['train/grad_norm'] = acc.gradNorm / acc.n;
        for (const [k, v] of Object.entries(acc.terms)) row[k] = v / acc.n;
        if (rates.itPerSec) { row['perf/it_per_s'] = rates.itPerSec; row['perf/samples_per_s'] = rates.samplesPerSec ?? 0; }
        row['perf/data_wait_frac'] = acc.stepMs > 0 ? acc.waitMs / acc.stepMs : 0;
        row['data/skipped'] = this.trainSrc.skipped.length;
        row['mem/live_tensors'] = liveTensors(); // flat across steps when nothing leaks
        row['mem/rss_mb'] = process.memoryUsage.rss() / 2 ** 20;
        this.loggers.logScalars(this.step, row);
        acc = { loss: 0, gradNorm: 0, n: 0, waitMs: 0, stepMs: 0, terms: {} };
        this.reportSkipped();
      }
      if (t.checkpoint_every > 0 && this.step % t.checkpoint_every === 0) {
        if (this.save(['step', 'last'])) savedAt = this.step;
        await dp?.barrier(`rank 0 saving the step-${this.step} checkpoint`);
      }
      if (t.val.every > 0 && this.step % t.val.every === 0) {
        if (this.main) await this.validate();
        await dp?.barrier(`rank 0 validating at step ${this.step}`);
        meter.reset();
        meter.mark(this.step, 0);
      }
      await yieldNow(); // lets signal handlers run
      if (!dp) sig = this.pendingSignal;
      if (sig) {
        this.pendingSignal = undefined;
        const p = this.save(['interrupted']);
        if (p) this.say(`saved ${p} at step ${this.step}`);
        await dp?.barrier(`rank 0 saving the interrupted checkpoint at step ${this.step}`);
        if (sig !== 'SIGUSR1') {
          this.progress.done();
          return { status: 'interrupted', step: this.step, signal: sig, lastCheckpoint: this.lastCheckpoint, saveFailures: this.saveFailures, lastVal: this.lastVal };
        }
      }
    }
    if (savedAt !== this.step) this.save(['last']);
    await dp?.barrier('rank 0 saving the last checkpoint');
    this.progress.done();
    if (prof) this.reportProfile(prof);
    this.say(`finished ${this.step} steps; last checkpoint ${this.lastCheckpoint ?? '(none saved)'}`);
    return { status: 'finished', step: this.step, lastCheckpoint: this.lastCheckpoint, saveFailures: this.saveFailures, lastVal: this.lastVal };
  }

  private reportProfile(prof: StepProfiler): void {
    const p = prof.result(`fmboost train --profile: ${this.config.mode} step, train.precision ${this.config.train.precision}, ${getNumThreads()} threads`);
    if (!p) { this.say('--profile: the run had no step past the 2 warm-up steps to profile'); return; }
    this.say(p.profile.format({ per: p.steps, perLabel: 'step', top: 20 }) + `\n(${p.steps} steps profiled)`);
    writeFileSync(join(this.expDir, 'profile.json'), JSON.stringify({ steps: p.steps, ...p.profile.toJSON() }, null, 1));
  }

  /** Samples held-out items with the EMA weights, logs PSNR/SSIM/MSE and writes the image grid. */
  async validate(): Promise<Record<string, number>> {
    const r = await runValidation(this.config, this.task, this.valSrc ?? this.trainSrc, deriveSeed(this.config.train.seed, 99));
    const m = r.metrics;
    this.loggers.logScalars(this.step, { ...m, 'val/images': r.images });
    if (r.grid) {
      const dir = join(this.expDir, 'samples');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `step-${String(this.step).padStart(9, '0')}.png`), encodePng(r.grid));
      this.loggers.logImage('val/hr_lr_pred', this.step, r.grid);
    }
    this.loggers.flush();
    await this.writeLossPlot();
    this.lastVal = m;
    const what = m['val/swd'] !== undefined
      ? `SWD×1e3 ${m['val/swd'].toFixed(1)} (samples against the held-out images)`
      : `PSNR ${m['val/psnr'].toFixed(2)} dB, SSIM ${m['val/ssim'].toFixed(4)}, MSE ${m['val/mse'].toExponential(3)}, colour shift ${m['val/colour_shift'].toFixed(2)}/255`;
    this.say(`validation at step ${this.step}: ${what} on ${r.images} images (${r.seconds.toFixed(1)} s)`);
    return m;
  }

  private async writeLossPlot(): Promise<void> {
    const problem = await writeRunCharts(this.expDir, this.config.name ?? 'run', this.task.mode);
    if (problem) this.say(`could not draw loss.png: ${problem}`);
  }

  private async teardown(plot: boolean): Promise<void> {
    this.prof?.result(''); // a step that threw may have left the op profiler on
    try { this.loggers?.flush(); } catch { /* reported elsewhere */ }
    if (this.loggers) await this.loggers.close();
    if (this.main && (plot || existsSync(join(this.expDir, 'metrics.csv')))) await this.writeLossPlot();
    if (this.loader) await this.loader.close();
    this.ema?.dispose();
    this.optimizer?.zeroGrad();
    this.optimizer?.dispose();
    this.task?.dispose();
    this.dp?.close();
  }
}
