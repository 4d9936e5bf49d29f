// The logging interface the trainer talks to; CSV, TensorBoard and W&B implement it.
import type { RgbImage } from '../../util/png.js';

export interface Logger {
  /** Scalars for one step, e.g. { 'train/loss': 0.12, 'train/lr': 3e-5 }. */
  logScalars(step: number, values: Record<string, number>): void;
  /** An image (e.g. the HR | LR | prediction grid). Loggers that cannot show images ignore it. */
  logImage(tag: string, step: number, img: RgbImage): void;
  flush(): void;
  close(): void | Promise<void>;
}

/** Fans out to several loggers. */
export class MultiLogger implements Logger {
  constructor(readonly loggers: Logger[]) {}
  logScalars(step: number, values: Record<string, number>): void {
    for (const l of this.loggers) l.logScalars(step, values);
  }
  logImage(tag: string, step: number, img: RgbImage): void {
    for (const l of this.loggers) l.logImage(tag, step, img);
  }
  flush(): void {
    for (const l of this.loggers) l.flush();
  }
  async close(): Promise<void> {
    for (const l of this.loggers) await l.close();
  }
}
