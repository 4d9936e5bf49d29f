// Test double for the server's Upscaler: a sharp bicubic resize with progress events and a delay, so
// HTTP handling, queueing and streaming can be tested without a model. Records its own concurrency.
import sharp from 'sharp';
import type { Upscaler, UpscaleInput, UpscaleOutput } from '../../src/serve/upscaler.js';
import type { RunContext } from '../../src/serve/queue.js';

export class FakeUpscaler implements Upscaler {
  running = 0;
  maxRunning = 0;
  calls = 0;
  closed = false;
  /** Resolves the n-th call's wait when set; otherwise each step waits stepMs. */
  gate?: Promise<void>;

  constructor(readonly stepMs = 5, readonly steps = 4) {}

  async upscale(input: UpscaleInput, ctx: RunContext): Promise<UpscaleOutput> {
    this.calls++;
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      const scale = input.options.scale ?? 2;
      const total = input.options.steps ?? this.steps;
      if (this.gate) await this.gate;
      for (let i = 1; i <= total; i++) {
        if (ctx.signal.aborted) throw new Error('aborted');
        await new Promise((r) => setTimeout(r, this.stepMs));
        ctx.onProgress({ stage: 'flow', step: i, total });
      }
      const meta = await sharp(input.image).metadata();
      const width = meta.width! * scale, height = meta.height! * scale;
      const png = await sharp(input.image).resize(width, height, { kernel: 'cubic' }).png().toBuffer();
      return { encoded: png, width, height, info: { fake: true, steps: total } };
    } finally {
      this.running--;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A small test picture: a colour gradient, PNG-encoded. */
export async function gradientPng(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      raw[i] = Math.round((255 * x) / Math.max(1, width - 1));
      raw[i + 1] = Math.round((255 * y) / Math.max(1, height - 1));
      raw[i + 2] = (x * 7 + y * 13) % 256;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** Opens a server-sent event stream; `events()` reads it to its end: [{event, data}] in order.
 *  Once this resolves the server has subscribed the stream to the job (it does so before sending headers). */
export async function openEvents(url: string): Promise<{ events: () => Promise<{ event: string; data: any }[]> }> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`events: ${res.status} ${await res.text()}`);
  return {
    events: async () => {
      const text = await res.text(); // the server ends the stream when the job ends
      const out: { event: string; data: any }[] = [];
      for (const block of text.split('\n\n')) {
        let event = 'message';
        let data: string | undefined;
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data = line.slice(6);
        }
        if (data !== undefined) out.push({ event, data: JSON.parse(data) });
      }
      return out;
    },
  };
}

/** Reads a server-sent event stream to its end (events sent before it connected are not replayed). */
export async function readEvents(url: string): Promise<{ event: string; data: any }[]> {
  return (await openEvents(url)).events();
}
