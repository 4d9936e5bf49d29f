// What the SD UNet probes (bench/rows/sd_unet.ts) and their children (bench/sd_unet_child.ts, bench/torch_sd_unet.py)
// share: the seeded random weights file both sides load (written once per run under the bench's temp dir, removed at
// exit), the streaming loader, the inputs, and the peak RSS of a process. The cost per sample is src/models/flops.ts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Generator, full, noGrad, randn, tidy, type Tensor } from '../src/tensor/index.js';
import { readSafetensors, readSafetensorsHeader } from '../src/io/index.js';
import { SDUNet, resolveSDUNetConfig, type ResolvedSDUNetConfig, type SDUNetConfig } from '../src/models/sd/index.js';
import { PYTHON } from './torch_client.js';

/** A DDIM step of SD's 50-step schedule (the first: 981); any step costs the same. */
export const TIMESTEP = 981;

/** The resolved config in the reference's snake_case (what torch_sd_unet.py's SDUNet takes). */
export function sdConfigToSnake(c: ResolvedSDUNetConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) out[k.replace(/[A-Z]/g, (m) => '_' + m.toLowerCase())] = v;
  return out;
}

/**
 * Seeded random weights for every parameter (the same file feeds both sides): ≥ 2-D weights N(0, 1/fan_in), norm
 * weights 1 + N(0, 0.1²), biases N(0, 0.1²). Not the constructor's init: its zero-initialised output convs would
 * make whole subnetworks compute nothing visible, and the tiny smoke test compares the two sides' outputs.
 */
export function randomizeSDUNet(net: SDUNet, seed: number): void {
  const g = new Generator(seed);
  noGrad(() => {
    for (const [name, p] of net.stateDict()) {
      tidy(() => {
        const z = randn(p.shape, { generator: g });
        if (p.ndim >= 2) p.copy_(z.div(Math.sqrt(p.numel / p.shape[0])));
        else if (name.endsWith('.weight')) p.copy_(z.mul(0.1).add(1));
        else p.copy_(z.mul(0.1));
      });
    }
  });
}

/**
 * Loads a safetensors file into the UNet's parameters a chunk of tensors at a time (≤ chunkBytes read at once), so the
 * load peaks at the weights plus one chunk, not twice the weights. Keys and shapes must match exactly.
 */
export function loadSDUNetStreaming(net: SDUNet, path: string, chunkBytes = 256 * 2 ** 20): void {
  const head = readSafetensorsHeader(path);
  const own = net.stateDict();
  const bad: string[] = [];
  for (const [k, t] of own) {
    const e = head.tensors.get(k);
    if (!e) bad.push(`missing ${k}`);
    else if (e.shape.join(',') !== t.shape.join(',')) bad.push(`${k}: [${e.shape}] vs [${t.shape}]`);
  }
  for (const k of head.tensors.keys()) if (!own.has(k)) bad.push(`unexpected ${k}`);
  if (bad.length) throw new Error(`sd bench: ${path} does not fit the UNet: ${bad.slice(0, 5).join('; ')}${bad.length > 5 ? ` (+${bad.length - 5})` : ''}`);
  const chunks: string[][] = [[]];
  let bytes = 0;
  for (const [k, e] of head.tensors) {
    const n = e.dataOffsets[1] - e.dataOffsets[0];
    if (bytes + n > chunkBytes && chunks[chunks.length - 1].length) { chunks.push([]); bytes = 0; }
    chunks[chunks.length - 1].push(k);
    bytes += n;
  }
  noGrad(() => {
    for (const keys of chunks) {
      const { tensors } = readSafetensors(path, { keys });
      for (const [k, t] of tensors) { own.get(k)!.copy_(t); t.dispose(); }
    }
  });
}

/** The step's inputs, seeded: x [B, in, S, S] then context [B, ctxLen, contextDim] from Generator(seed), t = 981. torch_sd_unet.py draws the same. */
export function sdInputs(c: ResolvedSDUNetConfig, batch: number, size: number, ctxLen: number, seed: number): { x: Tensor; t: Tensor; context: Tensor } {
  const g = new Generator(seed);
  const x = randn([batch, c.inChannels, size, size], { generator: g });
  const context = randn([batch, ctxLen, c.contextDim], { generator: g });
  return { x, t: full([batch], TIMESTEP), context };
}

/** A field of /proc/self/status in MB (VmHWM: peak resident set; VmRSS: current). */
export function procStatusMB(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error(`sd bench: /proc/self/status has no ${field} line`);
  return Number(m[1]) / 1024;
}

// ------------------------------------------------------------------------------------------ temp weights files

const TMP_PREFIX = 'fmboost-bench-sd-';
let tmp: string | null = null;
const weights = new Map<string, Promise<string>>();

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** This run's temp dir for weights files (under os.tmpdir(), removed at exit); dirs left by dead runs are removed first. */
function benchTmp(): string {
  if (tmp) return tmp;
  for (const d of readdirSync(tmpdir())) {
    const pid = Number(d.slice(TMP_PREFIX.length).split('-')[0]);
    if (d.startsWith(TMP_PREFIX) && Number.isInteger(pid) && pid > 0 && !alive(pid)) rmSync(join(tmpdir(), d), { recursive: true, force: true });
  }
  tmp = mkdtempSync(join(tmpdir(), `${TMP_PREFIX}${process.pid}-`));
  process.once('exit', removeWeights);
  return tmp;
}

/** Removes this run's weights files (also done at exit). */
export function removeWeights(): void {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = null;
  weights.clear();
}

export const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'sd_unet_child.js');
// dist/bench → repository root (the Python sources are not compiled into dist/).
export const TORCH_CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'torch_sd_unet.py');

/** Runs a child to completion; resolves to the last line of its stdout parsed as JSON. */
export function runJsonChild<T>(cmd: string, args: string[], what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`${what} exited with ${signal ?? `code ${code}`}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? ''));
      } catch {
        reject(new Error(`${what} printed no JSON result: ${out.slice(-200)}`));
      }
    });
  });
}

/** The path of the seeded weights file for this config (written by a child process on first use in this run). */
export function weightsFile(config: SDUNetConfig | Record<string, unknown>, seed: number): Promise<string> {
  const c = resolveSDUNetConfig(config);
  const key = JSON.stringify([c, seed]);
  let p = weights.get(key);
  if (!p) {
    const path = join(benchTmp(), `sd-unet-${weights.size}-seed${seed}.safetensors`);
    p = runJsonChild<{ path: string }>(process.execPath, [CHILD, '--write-weights', path, '--config', JSON.stringify(c), '--seed', String(seed)], 'sd_unet_child.js --write-weights')
      .then((r) => { if (!existsSync(r.path)) throw new Error(`sd bench: ${r.path} was not written`); return r.path; });
    p.catch(() => weights.delete(key));
    weights.set(key, p);
  }
  return p;
}

const torchChecks = new Map<string, string | false>();
/** Why `python` (default /usr/bin/python3) cannot run the PyTorch side (false: it can). */
export function torchMissing(python = PYTHON): string | false {
  let r = torchChecks.get(python);
  if (r === undefined) {
    const p = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
    r = p.status === 0 ? false : `${python} cannot import torch${p.error ? ` (${p.error.message})` : `: ${(p.stderr ?? '').trim().split('\n').pop()}`}`;
    torchChecks.set(python, r);
  }
  return r;
}
