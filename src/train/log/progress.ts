// Progress reporting: a throughput meter (it/s, samples/s, ETA) and a one-line formatter — a bar when
// writing to a terminal, a plain key=value line when writing to a log file.

export interface ProgressInfo {
  step: number;
  maxSteps: number;
  loss?: number;
  lr?: number;
  itPerSec?: number;
  samplesPerSec?: number;
  /** Seconds left; undefined when unknown. */
  etaSeconds?: number;
}

export function formatDuration(sec: number | undefined): string {
  if (sec === undefined || !Number.isFinite(sec) || sec < 0) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

function num(v: number | undefined, digits: number): string {
  if (v === undefined) return '?';
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5) ? v.toExponential(digits - 1) : v.toFixed(digits);
}

/** One progress line. tty: `[#####.....] 500/1000 50% loss 0.1234 …`; otherwise `step=500/1000 loss=0.1234 …`. */
export function formatProgress(p: ProgressInfo, opts: { tty?: boolean; barWidth?: number } = {}): string {
  const frac = p.maxSteps > 0 ? Math.min(1, p.step / p.maxSteps) : 0;
  const fields: [string, string][] = [];
  if (p.loss !== undefined) fields.push(['loss', num(p.loss, 4)]);
  if (p.lr !== undefined) fields.push(['lr', p.lr.toExponential(2)]);
  fields.push(['it/s', num(p.itPerSec, 2)]);
  fields.push(['samples/s', num(p.samplesPerSec, 1)]);
  fields.push(['eta', formatDuration(p.etaSeconds)]);
  if (opts.tty) {
    const w = opts.barWidth ?? 24;
    const filled = Math.round(frac * w);
    const bar = '█'.repeat(filled) + '░'.repeat(w - filled);
    return `${bar} ${p.step}/${p.maxSteps} ${(frac * 100).toFixed(0)}% ` + fields.map(([k, v]) => `${k} ${v}`).join(' │ ');
  }
  return [`step=${p.step}/${p.maxSteps}`, ...fields.map(([k, v]) => `${k}=${v}`)].join(' ');
}

/**
 * Measures throughput over a sliding window of recent steps (so a slow first step or a validation pause
 * fades out) and estimates the time left.
 */
export class ThroughputMeter {
  private readonly marks: { t: number; step: number; samples: number }[] = [];
  private samples = 0;

  constructor(private readonly window = 20, private readonly clock: () => number = () => performance.now() / 1000) {}

  /** Records that `step` has completed, having processed `batchSize` samples. */
  mark(step: number, batchSize: number): void {
    this.samples += batchSize;
    this.marks.push({ t: this.clock(), step, samples: this.samples });
    if (this.marks.length > this.window + 1) this.marks.shift();
  }

  /** Forget the timing history (e.g. after validation or checkpointing pauses). */
  reset(): void {
    this.marks.length = 0;
  }

  rates(): { itPerSec?: number; samplesPerSec?: number } {
    if (this.marks.length < 2) return {};
    const a = this.marks[0];
    const b = this.marks[this.marks.length - 1];
    const dt = b.t - a.t;
    if (dt <= 0) return {};
    return { itPerSec: (b.step - a.step) / dt, samplesPerSec: (b.samples - a.samples) / dt };
  }

  eta(step: number, maxSteps: number): number | undefined {
    const { itPerSec } = this.rates();
    return itPerSec ? Math.max(0, maxSteps - step) / itPerSec : undefined;
  }
}

/**
 * Prints progress to a stream: on a terminal one bar line redrawn in place (at most `ttyHz` times a
 * second); otherwise (a log file, a pipe) a plain line every `every` steps, so logs stay grep-able.
 */
export class ProgressPrinter {
  private lastDraw = -Infinity;
  private readonly tty: boolean;

  constructor(
    private readonly out: { write(s: string): unknown; isTTY?: boolean; columns?: number } = process.stderr,
    private readonly opts: { every?: number; ttyHz?: number; clock?: () => number } = {},
  ) {
    this.tty = Boolean(out.isTTY);
  }

  update(p: ProgressInfo, force = false): void {
    if (this.tty) {
      const now = (this.opts.clock ?? (() => performance.now() / 1000))();
      if (!force && now - this.lastDraw < 1 / (this.opts.ttyHz ?? 4) && p.step < p.maxSteps) return;
      this.lastDraw = now;
      const line = formatProgress(p, { tty: true });
      const width = this.out.columns ?? 120;
      this.out.write(`\r${line.slice(0, width - 1).padEnd(Math.min(width - 1, line.length))}\x1b[K`);
    } else if (force || p.step % (this.opts.every ?? 50) === 0 || p.step === p.maxSteps) {
      this.out.write(formatProgress(p) + '\n');
    }
  }

  /** A message on its own line (the bar is redrawn by the next update). */
  message(s: string): void {
    this.out.write((this.tty ? '\r\x1b[K' : '') + s + '\n');
  }

  done(): void {
    if (this.tty) this.out.write('\n');
  }
}
