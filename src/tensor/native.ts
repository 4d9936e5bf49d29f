// Loads the compiled addon on first use (so pure modules — names, presets, schemas — can import the engine's
// modules without loading libtorch); when that fails, says in plain words what to install.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { maxThreads } from './limits.js';

/** The addon's raw surface (handles are opaque Externals). */
export interface NativeAddon {
  op(name: string, overload: string): number;
  schema(id: number): string;
  call(id: number, args: unknown[]): unknown;
  dispose(h: unknown): void;
  isAlive(h: unknown): boolean;
  liveCount(): number;
  liveBytes(): number;
  collectedCount(): number;
  meta(h: unknown): [number[], number, string, boolean];
  shape(h: unknown): number[];
  strides(h: unknown): number[];
  dtype(h: unknown): number;
  device(h: unknown): string;
  isContiguous(h: unknown): boolean;
  dataPtr(h: unknown): number;
  sameTensor(a: unknown, b: unknown): boolean;
  item(h: unknown): number | boolean;
  fromBuffer(data: ArrayBufferView | ArrayBuffer, dtype: number, shape: number[], device?: string): unknown;
  toBuffer(h: unknown): ArrayBuffer;
  readFile(fd: number, offset: number, dtype: number, shape: number[]): unknown;
  writeFile(fd: number, h: unknown): number;
  toString(h: unknown): string;
  setRequiresGrad(h: unknown, b: boolean): void;
  grad(h: unknown): unknown;
  setGrad(h: unknown, g: unknown): void;
  isLeaf(h: unknown): boolean;
  hasGradFn(h: unknown): boolean;
  backward(outs: unknown[], grads: unknown[] | null, retain: boolean, create: boolean): void;
  autogradGrad(outs: unknown[], inputs: unknown[], grads: unknown[] | null, retain: boolean, create: boolean): unknown[];
  setGradEnabled(b: boolean): boolean;
  isGradEnabled(): boolean;
  enterInference(): void;
  exitInference(): void;
  isInference(): boolean;
  isInferenceTensor(h: unknown): boolean;
  setAutocastCpu(enabled: boolean, dtype?: number): boolean;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  info(): { torch: string; cuda: boolean; cudaDevices: number; mkldnn: boolean; threads: number; parallel: string; config: string };
  generatorNew(seed: number, device?: string): unknown;
  generatorSeed(g: unknown, seed: number): void;
  generatorGetState(g: unknown): unknown;
  generatorSetState(g: unknown, state: unknown): void;
  profilerStart(): void;
  /** [name, calls, self µs, total µs] per op name; backward nodes are prefixed 'backward: '. */
  profilerStop(): [string, number, number, number][];
  profilerActive(): boolean;
  groupNormSilu(x: unknown, groups: number, weight: unknown, bias: unknown, scale: unknown, shift: unknown, eps: number): unknown;
  // c10d (native/src/distributed.cc); rejections carry code 'EDIST', op and rank
  distBackends(): string[];
  distInit(opts: { backend: string; rank: number; worldSize: number; host: string; port: number; timeoutMs: number; prefix?: string }): Promise<unknown>;
  distAllReduce(group: unknown, t: unknown, op: string): Promise<void>;
  distBroadcast(group: unknown, ts: unknown[], root: number): Promise<void>;
  distBarrier(group: unknown): Promise<void>;
  distClose(group: unknown): void;
  distReducerNew(group: unknown, params: unknown[], bucketBytes: number, firstBucketBytes: number): { handle: unknown; buckets: number };
  distReducerPrepare(reducer: unknown): void;
  distReducerDispose(reducer: unknown): void;
}

function load(): NativeAddon {
  const require = createRequire(import.meta.url);
  // dist/src/tensor/native.js and src/tensor/native.ts both sit a fixed depth below the package root.
  let root = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(root, 'package.json'))) root = dirname(root);
  const file = join(root, 'native/build/Release/fmboost_native.node');
  if (!existsSync(file)) {
    throw new Error(`fmboost: the native addon is not built (${file} is missing). Run \`npm install\` in ${root}; ` +
      'it builds against libtorch. On Debian/Ubuntu install it first: sudo apt-get install -y libtorch-dev libopenblas-dev');
  }
  let addon: NativeAddon;
  try {
    addon = require(file) as NativeAddon;
  } catch (e) {
    const msg = (e as Error).message;
    const hint = /libtorch|libc10|cannot open shared object/.test(msg)
      ? 'libtorch cannot be loaded. On Debian/Ubuntu: sudo apt-get install -y libtorch-dev libopenblas-dev; ' +
        'with your own libtorch, set LIBTORCH=/path/to/libtorch and run `npm run build:native`.'
      : 'rebuild it with `npm run build:native`.';
    throw new Error(`fmboost: failed to load the native addon: ${msg}\n${hint}`);
  }
  // libtorch may start with one thread (OMP_NUM_THREADS or cgroup detection); the product default is all cores.
  const envThreads = Number(process.env.FMBOOST_THREADS ?? '');
  addon.setNumThreads(Number.isInteger(envThreads) && envThreads > 0 ? Math.min(envThreads, maxThreads()) : availableParallelism());
  return addon;
}

let loaded: NativeAddon | undefined;

/** True once something has used the addon (tests check that pure modules do not). */
export function nativeLoaded(): boolean {
  return loaded !== undefined;
}

/** The addon, loaded on the first property read; an ESM live binding, so later reads go straight to it. */
export let native: NativeAddon = new Proxy({} as NativeAddon, {
  get(_t, key) {
    loaded ??= load();
    native = loaded;
    return loaded[key as keyof NativeAddon];
  },
});
