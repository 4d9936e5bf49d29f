// --load-weights: start a run from another file's weights, non-strictly. The file may be a training checkpoint
// (ours or the reference's Lightning one), a CFM bundle or converted weights; what fits is copied, the rest is
// reported, and a file that fills none (or less than --min-match) of the model is refused.
import { loadWeights } from '../io/index.js';
import { unetStateDictFromCheckpoint, toLdmVaeStateDict, type AutoencoderKL } from '../models/index.js';
import type { LoadReport } from '../nn/index.js';
import type { Tensor } from '../tensor/index.js';
import { TrainerSetupError } from './errors.js';
import type { TrainTask } from './loop/task.js';

/** "loaded 10 of the model's 12 tensors; kept initial values for 2 missing: …" */
export function reportLoad(r: LoadReport): string {
  const list = (xs: string[]) => xs.slice(0, 8).join(', ') + (xs.length > 8 ? `, … (${xs.length})` : '');
  const of = r.loaded.length + r.missing.length;
  const parts = [`loaded ${r.loaded.length} of the model's ${of} tensors`];
  if (r.missing.length) parts.push(`kept initial values for ${r.missing.length} missing: ${list(r.missing)}`);
  if (r.unexpected.length) parts.push(`skipped ${r.unexpected.length} unexpected: ${list(r.unexpected)}`);
  if (r.mismatched.length) parts.push(`skipped ${r.mismatched.length} with other shapes: ${list(r.mismatched)}`);
  return parts.join('; ');
}

/** Copies the fitting tensors of `path` into the task's model (and its EMA when the file has EMA weights);
 *  returns the report lines. */
export function loadInitialWeights(task: TrainTask, path: string, minMatch = 0): string[] {
  const raw = loadWeights(path);
  const lines: string[] = [];
  try {
    let online: Map<string, Tensor>, ema: Map<string, Tensor> | undefined;
    if (task.mode === 'flow') {
      const has = (p: string) => [...raw.keys()].some((k) => k.startsWith(p));
      const pick = (w: 'online' | 'ema') => { try { return unetStateDictFromCheckpoint(raw, w); } catch { return undefined; } };
      online = (has('model.') ? pick('online') : undefined) ?? unetStateDictFromCheckpoint(raw, 'auto');
      ema = has('ema.') || has('ema_model.') ? pick('ema') : undefined;
    } else {
      const levels = (task.model as AutoencoderKL).config.chMult.length;
      const sub = (prefix: string) => new Map([...raw].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
      const isCk = [...raw.keys()].some((k) => k.startsWith('model.encoder.'));
      online = isCk ? sub('model.') : toLdmVaeStateDict(raw, levels);
      ema = isCk && [...raw.keys()].some((k) => k.startsWith('ema.')) ? sub('ema.') : undefined;
    }
    const rep = task.model.loadStateDict(online, { strict: false });
    // a file with none of the model's keys is the wrong file, not a fine-tuning start
    if (!rep.loaded.length) throw new TrainerSetupError(`--load-weights ${path}: none of its ${online.size} tensors fits the ${task.mode === 'flow' ? 'UNet' : 'autoencoder'} (${reportLoad(rep)})`);
    const frac = rep.loaded.length / (rep.loaded.length + rep.missing.length);
    if (frac < minMatch) throw new TrainerSetupError(`--load-weights ${path}: it fills ${(100 * frac).toFixed(0)}% of the model's tensors, below --min-match ${minMatch} (${reportLoad(rep)})`);
    lines.push(`--load-weights ${path}: model: ${reportLoad(rep)}`);
    // The EMA starts from the loaded EMA weights when the file has them; otherwise it copies the
    // online weights at its first updates (update_after_step) anyway.
    if (ema) lines.push(`--load-weights ${path}: EMA: ${reportLoad(task.emaModel.loadStateDict(ema, { strict: false }))}`);
  } finally {
    for (const t of raw.values()) t.dispose();
  }
  return lines;
}
