// Weights & Biases logging through the optional `@wandb/sdk` package. Asking for W&B without a usable
// client is an error at start — never a silent no-op that loses a run's metrics.
import type { Logger } from './logger.js';
import type { RgbImage } from '../../util/png.js';

export class WandbUnavailableError extends Error {
  override name = 'WandbUnavailableError';
}

export interface WandbOptions {
  project: string;
  name?: string;
  config?: Record<string, unknown>;
  dir?: string;
  /** Module to load (tests point this at a missing or fake module). */
  moduleName?: string;
}

interface WandbClient {
  init(o: Record<string, unknown>): Promise<unknown> | unknown;
  log(data: Record<string, unknown>, o?: { step?: number }): void;
  finish(): Promise<void> | void;
}

export class WandbLogger implements Logger {
  private constructor(private readonly client: WandbClient) {}

  /** Loads the client and starts a run; throws WandbUnavailableError if the client is missing or needs a key. */
  static async start(opts: WandbOptions): Promise<WandbLogger> {
    const mod = opts.moduleName ?? '@wandb/sdk';
    let client: WandbClient | undefined;
    try {
      const m = (await import(mod)) as { default?: WandbClient } & Partial<WandbClient>;
      client = (m.default && typeof m.default.log === 'function' ? m.default : m) as WandbClient;
    } catch (e) {
      throw new WandbUnavailableError(
        `W&B logging was requested but the W&B client "${mod}" cannot be loaded (${(e as Error).message.split('\n')[0]}). ` +
          `Install it with \`npm install ${mod}\` and set WANDB_API_KEY, or drop the W&B option (CSV and TensorBoard logs are always written).`,
      );
    }
    if (typeof client.init !== 'function' || typeof client.log !== 'function') {
      throw new WandbUnavailableError(`W&B client "${mod}" has no init()/log(): unsupported version`);
    }
    try {
      await client.init({ project: opts.project, name: opts.name, config: opts.config, dir: opts.dir });
    } catch (e) {
      throw new WandbUnavailableError(`W&B run could not start: ${(e as Error).message} (is WANDB_API_KEY set?)`);
    }
    return new WandbLogger(client);
  }

  logScalars(step: number, values: Record<string, number>): void {
    this.client.log(values, { step });
  }

  /** Only scalars go to W&B; images are in the TensorBoard log written beside it. */
  logImage(_tag: string, _step: number, _img: RgbImage): void {}

  flush(): void {}

  async close(): Promise<void> {
    await this.client.finish();
  }
}
