// Progress of a batch on stderr: on a TTY one rewritten line with the stage's bar and the batch's overall bar and
// ETA; otherwise plain lines, one per finished stage and one per image (with the batch's ETA).
import type { ProgressDetail, UpsampleStage } from '../../pipeline/types.js';

/** m:ss (or h:mm:ss) of a duration in seconds. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const t = Math.round(s), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

const bar = (frac: number, w: number) => {
  const filled = Math.round(Math.min(1, Math.max(0, frac)) * w);
  return '█'.repeat(filled) + '░'.repeat(w - filled);
};

export class BatchProgress {
  private readonly t0 = Date.now();
  private done = 0;
  private current = 0;
  /** `[i/n] name` of the current input. */
  prefix = '';
  private drawn = false;

  constructor(private readonly total: number, private readonly tty: boolean, private readonly quiet: boolean) {}

  /** The batch's progress in [0, 1] and the estimated seconds left. */
  overall(): { fraction: number; eta: number } {
    const fraction = this.total ? Math.min(1, (this.done + this.current) / this.total) : 1;
    const elapsed = (Date.now() - this.t0) / 1000;
    return { fraction, eta: fraction > 0 ? (elapsed * (1 - fraction)) / fraction : NaN };
  }

  /** Starts input `index` (0-based). */
  begin(index: number, name: string): void {
    this.current = 0;
    this.prefix = `[${index + 1}/${this.total}] ${name}`;
  }

  /** Ends the current input (done or failed), advancing the overall bar. */
  end(): void {
    this.done++;
    this.current = 0;
  }

  stage(stage: UpsampleStage, step: number, total: number, d?: ProgressDetail): void {
    this.current = d?.fraction ?? this.current;
    if (this.quiet) return;
    const pass = d && d.passes > 1 ? `pass ${d.pass + 1}/${d.passes} ` : '';
    if (this.tty) {
      const o = this.overall();
      const batch = this.total > 1 ? `  total ${bar(o.fraction, 10)} ${Math.round(o.fraction * 100)}% ETA ${formatDuration(o.eta)}` : '';
      process.stderr.write(`\r\x1b[2K${this.prefix} ${pass}${stage.padEnd(6)} ${bar(total > 0 ? step / total : 0, 20)} ${step}/${total}${batch}`);
      this.drawn = true;
    } else if (step === total && stage !== 'load' && stage !== 'resample') {
      process.stderr.write(`${this.prefix} ${pass}${stage} done (${total} ${stage === 'flow' ? 'steps' : 'tiles'})\n`);
    }
  }

  /** A finished input's line, with the batch's ETA when there are more to go. */
  result(text: string): void {
    const o = this.overall();
    this.line(this.total > 1 && this.done < this.total ? `${text} · ${this.done}/${this.total} done, ETA ${formatDuration(o.eta)}` : text);
  }

  /** A line of its own (errors always, the rest unless quiet). */
  line(text: string, error = false): void {
    if (this.quiet && !error) return;
    if (this.tty && this.drawn) process.stderr.write('\r\x1b[2K');
    this.drawn = false;
    process.stderr.write(`${text}\n`);
  }
}
