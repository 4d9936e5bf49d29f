// Talks to `torch_baseline.py --serve`: one long-lived Python process, so our timings and torch's
// can alternate row by row (and round by round) in the same run, with the same environment.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import type { TimingOptions, Timed } from './timing.js';
import type { TorchCode } from './registry.js';

export const PYTHON = '/usr/bin/python3';

export interface TorchInfo {
  torch: string;
  python: string;
  threads: number;
  mkldnn: boolean;
  openblas_env: Record<string, string>;
}

export class TorchBaseline {
  private proc: ChildProcessWithoutNullStreams;
  private lines: Interface;
  private pending: ((line: string) => void)[] = [];
  private exited: string | null = null;

  constructor(script: string, threads: number) {
    // env is inherited untouched (OPENBLAS_* included), so both sides run under the same settings.
    this.proc = spawn(PYTHON, [script, '--serve', '--threads', String(threads)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr.on('data', (d) => process.stderr.write(`[torch] ${d}`));
    this.lines = createInterface({ input: this.proc.stdout });
    this.lines.on('line', (l) => this.pending.shift()?.(l));
    this.proc.on('exit', (code) => {
      this.exited = `torch_baseline.py exited with code ${code}`;
      for (const p of this.pending.splice(0)) p(JSON.stringify({ error: this.exited }));
    });
  }

  private request<T>(req: object): Promise<T> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise((resolve, reject) => {
      this.pending.push((line) => {
        const rep = JSON.parse(line);
        if (rep.error) reject(new Error(`torch: ${rep.error}`));
        else resolve(rep as T);
      });
      this.proc.stdin.write(JSON.stringify(req) + '\n');
    });
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }
  info(): Promise<TorchInfo> {
    return this.request({ cmd: 'info' });
  }
  async setup(id: string, code: TorchCode): Promise<void> {
    await this.request({ cmd: 'setup', id, setup: code.setup, step: code.step });
  }
  async time(id: string, opts: TimingOptions, skipWarmup = false): Promise<Timed> {
    const rep = await this.request<{ samples_ms: number[]; faults: number; cpu_ms: number }>({ cmd: 'time', id, opts, skipWarmup });
    return { samples: rep.samples_ms, faults: rep.faults, cpuMs: rep.cpu_ms };
  }
  async free(id: string): Promise<void> {
    await this.request({ cmd: 'free', id });
  }
  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.stdin.write(JSON.stringify({ cmd: 'quit' }) + '\n');
    this.proc.stdin.end();
    await done;
  }
}
