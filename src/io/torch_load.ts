// Reads PyTorch torch.save files (the zip format, torch >= 1.6): `<archive>/data.pkl` is a pickle
// whose tensors refer, through persistent ids, to raw storages stored as `<archive>/data/<key>`.
// Unpickling yields TensorRef descriptors; only the tensors actually selected are read, each
// storage once, straight into native memory, and views keep torch's offset/size/stride (tensors
// that shared a storage in Python share it here too).
import { closeSync, openSync } from 'node:fs';
import { native } from '../tensor/native.js';
import { Tensor } from '../tensor/tensor.js';
import { BYTES, dtypeCode, type DType } from '../tensor/dtype.js';
import { A } from '../tensor/ops/aten.js';
import { WeightsFileError } from './errors.js';
import { readAt, readZipDirectory, readZipEntry, zipEntryDataOffset, type ZipEntry } from './zip.js';
import { PyCallable, PyGlobal, PyObject, unpickle } from './unpickle.js';

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32', HalfStorage: 'float16', BFloat16Storage: 'bfloat16', DoubleStorage: 'float64',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8',
  BoolStorage: 'bool',
};
const TORCH_DTYPES: Record<string, DType> = {
  float32: 'float32', float: 'float32', float16: 'float16', half: 'float16', bfloat16: 'bfloat16', float64: 'float64',
  double: 'float64', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16',
  int8: 'int8', uint8: 'uint8', bool: 'bool',
};

/** A torch storage type (torch.FloatStorage, ...); dtype is null for types we cannot load. */
export class TorchStorageType {
  constructor(readonly name: string, readonly dtype: DType | null) {}
}

/** A storage referenced by the pickle: the archive's data/<key> entry. */
export class TorchStorageRef {
  constructor(readonly key: string, readonly type: TorchStorageType, readonly location: string, readonly declaredNumel: unknown) {}
}

/** A tensor as described in the pickle; `loadTorchCheckpoint` materializes the selected ones. */
export class TensorRef {
  constructor(
    readonly storage: TorchStorageRef,
    readonly storageOffset: number,
    readonly shape: number[],
    readonly stride: number[],
    readonly requiresGrad: boolean,
    /** dtype override (torch 2.x _rebuild_tensor_v3); else the storage type's. */
    readonly dtypeOverride: DType | null = null,
  ) {}
  get dtype(): DType | null { return this.dtypeOverride ?? this.storage.type.dtype; }
  toString(): string { return `TensorRef(${this.dtype}[${this.shape.join(',')}], storage ${this.storage.key})`; }
}

export interface TorchCheckpoint {
  /** Flattened tensors: the state_dict (Lightning: the `state_dict` entry), nested dicts as dotted keys. */
  tensors: Map<string, Tensor>;
  /** The whole unpickled object: dicts as Map, tensors as TensorRef, unknown classes as PyObject. */
  raw: unknown;
}

export interface LoadTorchOptions {
  /** Load only these flattened keys (each must exist) or the ones this predicate accepts. */
  keys?: readonly string[] | ((key: string) => boolean);
}

function ints(v: unknown, what: string, file: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x))) {
    throw new WeightsFileError(file, undefined, `tensor ${what} ${String(v)} is not a tuple of integers`);
  }
  return v as number[];
}

function torchResolver(file: string): (module: string, name: string) => unknown {
  const rebuild = (args: unknown[], dtype: DType | null = null): TensorRef => {
    const [storage, offset, size, stride, requiresGrad] = args;
    if (!(storage instanceof TorchStorageRef)) throw new WeightsFileError(file, undefined, 'tensor rebuild without a storage');
    return new TensorRef(storage, Number(offset), ints(size, 'size', file), ints(stride, 'stride', file), requiresGrad === true, dtype);
  };
  return (module, name) => {
    if (module === 'torch._utils') {
      if (name === '_rebuild_tensor_v2' || name === '_rebuild_tensor') return new PyCallable(module, name, (a) => rebuild(a));
      if (name === '_rebuild_tensor_v3') {
        return new PyCallable(module, name, (a) => rebuild(a, a[6] instanceof PyGlobal ? TORCH_DTYPES[a[6].name] ?? null : null));
      }
      // Parameters: the data tensor is what a weight loader wants.
      if (name === '_rebuild_parameter' || name === '_rebuild_parameter_with_state') return new PyCallable(module, name, (a) => a[0]);
    }
    if (module === 'torch._tensor' && name === '_rebuild_from_type_v2') {
      return new PyCallable(module, name, (a) => {
        const [fn, , args] = a;
        return fn instanceof PyCallable ? fn.call(args as unknown[]) : a;
      });
    }
    if (module === 'torch' && name === 'Size') return new PyCallable(module, name, (a) => [...((a[0] as unknown[]) ?? [])]);
    if (module === 'torch' && name.endsWith('Storage')) return new TorchStorageType(name, STORAGE_DTYPES[name] ?? null);
    return undefined;
  };
}

function isDict(v: unknown): v is Map<unknown, unknown> {
  return v instanceof Map;
}

/** Bounds of the checkpoint walk: a state dict is a shallow tree of a few thousand entries. A hostile pickle can
 *  share one dict at every level (2^depth paths from a kilobyte) or refer to itself. */
export const CHECKPOINT_WALK_LIMITS = { maxDepth: 100, maxVisits: 1_000_000 };

/** Dotted keys for every TensorRef in nested dicts and pickled modules (a Lightning checkpoint: only its state_dict).
 *  A cycle, nesting deeper than maxDepth or more than maxVisits containers and values is a WeightsFileError naming
 *  `file` and the key where it happened, in bounded time and stack. */
export function flattenCheckpoint(raw: unknown, file = 'checkpoint', limits = CHECKPOINT_WALK_LIMITS): Map<string, TensorRef> {
  const out = new Map<string, TensorRef>();
  let root = raw;
  if (isDict(root) && isDict(root.get('state_dict'))) root = root.get('state_dict');
  const onPath = new Set<unknown>();
  let visits = 0;
  const walk = (v: unknown, prefix: string, depth: number): void => {
    if (++visits > limits.maxVisits) {
      throw new WeightsFileError(file, prefix || undefined, `more than ${limits.maxVisits.toLocaleString('en-US')} entries to walk (containers shared at many levels?): not a state dict this reader takes`);
    }
    if (v instanceof TensorRef) { out.set(prefix, v); return; }
    const container = isDict(v) || (v instanceof PyObject && isDict(v.state) && isDict(v.state.get('_modules')));
    if (!container) return;
    if (depth > limits.maxDepth) throw new WeightsFileError(file, prefix || undefined, `nested more than ${limits.maxDepth} levels deep: not a state dict this reader takes`);
    if (onPath.has(v)) throw new WeightsFileError(file, prefix || undefined, 'the structure contains itself (a cycle): not a state dict');
    onPath.add(v);
    try {
      if (isDict(v)) {
        for (const [k, x] of v) if (typeof k === 'string' || typeof k === 'number') walk(x, join(prefix, k), depth + 1);
      } else {
        // A pickled nn.Module (torch.save(model)): the keys its state_dict() would have, in that order.
        const st = (v as PyObject).state as Map<unknown, unknown>;
        const skip = st.get('_non_persistent_buffers_set');
        for (const [k, x] of (st.get('_parameters') as Map<unknown, unknown> | undefined) ?? []) walk(x, join(prefix, k), depth + 1);
        for (const [k, x] of (st.get('_buffers') as Map<unknown, unknown> | undefined) ?? []) {
          if (!(skip instanceof Set && skip.has(k))) walk(x, join(prefix, k), depth + 1);
        }
        for (const [k, x] of st.get('_modules') as Map<unknown, unknown>) walk(x, join(prefix, k), depth + 1);
      }
    } finally {
      onPath.delete(v);
    }
  };
  const join = (prefix: string, k: unknown): string => (prefix ? `${prefix}.${String(k)}` : String(k));
  walk(root, '', 0);
  return out;
}

const ZIP_MAGIC = 0x04034b50;

/** Reads the archive's pickle; tensors come back as TensorRef (no tensor data is read). */
export function readTorchPickle(path: string): { raw: unknown; entries: Map<string, ZipEntry>; prefix: string } {
  const fd = openFile(path);
  try {
    return readPickle(fd, path);
  } finally {
    closeSync(fd);
  }
}

function openFile(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw new WeightsFileError(path, undefined, `cannot open: ${(e as Error).message}`);
  }
}

function readPickle(fd: number, file: string): { raw: unknown; entries: Map<string, ZipEntry>; prefix: string } {
  const head = readAt(fd, 0, 4);
  if (head.length < 4 || head.readUInt32LE(0) !== ZIP_MAGIC) {
    if (head[0] === 0x80) {
      throw new WeightsFileError(file, undefined, 'this is a legacy (pre-1.6, non-zip) torch.save file, which is not supported; ' +
        're-save it with a newer torch: torch.save(torch.load(path), new_path)');
    }
    throw new WeightsFileError(file, undefined, 'not a torch.save zip archive (no zip signature at the start)');
  }
  const entries = readZipDirectory(fd, file);
  const pkls = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1) {
    const hint = [...entries.keys()].some((n) => n.endsWith('constants.pkl')) ? ' (this looks like a TorchScript archive from torch.jit.save; save a state_dict instead)' : '';
    throw new WeightsFileError(file, undefined, `expected exactly one <archive>/data.pkl entry, found ${pkls.length}${hint}`);
  }
  const prefix = pkls[0].slice(0, -'data.pkl'.length);
  const order = entries.get(`${prefix}byteorder`);
  if (order && readZipEntry(fd, order, file).toString('latin1').trim() !== 'little') {
    throw new WeightsFileError(file, undefined, 'big-endian torch archive: not supported');
  }
  const storages = new Map<string, TorchStorageRef>();
  const persistentLoad = (pid: unknown): unknown => {
    if (!Array.isArray(pid) || pid[0] !== 'storage') throw new WeightsFileError(file, undefined, `unsupported persistent id ${JSON.stringify(pid)}`);
    const [, type, key, location, numel] = pid as [string, unknown, unknown, unknown, unknown];
    if (!(type instanceof TorchStorageType)) throw new WeightsFileError(file, undefined, `persistent id names a storage type ${String(type)} that is not a torch storage`);
    const k = String(key);
    let s = storages.get(k);
    if (!s) storages.set(k, (s = new TorchStorageRef(k, type, String(location), numel)));
    return s;
  };
  let raw: unknown;
  try {
    raw = unpickle(readZipEntry(fd, entries.get(pkls[0])!, file), { findClass: torchResolver(file), persistentLoad });
  } catch (e) {
    if (e instanceof WeightsFileError) throw e;
    throw new WeightsFileError(file, pkls[0], (e as Error).message);
  }
  return { raw, entries, prefix };
}

/**
 * Loads a torch.save checkpoint. `tensors` holds the flattened state_dict (see flattenCheckpoint);
 * tensors elsewhere (optimizer state, ...) stay TensorRef descriptors in `raw` and are not read.
 * requires_grad flags are not restored (these are weights to load, not autograd leaves).
 */
export function loadTorchCheckpoint(path: string, opts: LoadTorchOptions = {}): TorchCheckpoint {
  const fd = openFile(path);
  const out = new Map<string, Tensor>();
  const bases = new Map<string, Tensor>();
  try {
    const { raw, entries, prefix } = readPickle(fd, path);
    const refs = flattenCheckpoint(raw, path);
    let want: (k: string) => boolean = () => true;
    if (Array.isArray(opts.keys)) {
      const set = new Set(opts.keys as string[]);
      for (const k of set) if (!refs.has(k)) throw new WeightsFileError(path, k, 'no such tensor in this checkpoint');
      want = (k) => set.has(k);
    } else if (typeof opts.keys === 'function') want = opts.keys;

    for (const [key, ref] of refs) {
      if (!want(key)) continue;
      const st = ref.storage;
      const dtype = ref.dtype;
      if (!dtype) throw new WeightsFileError(path, key, `storage type torch.${st.type.name} is not supported`);
      let base = bases.get(st.key);
      if (!base) {
        const entry = entries.get(`${prefix}data/${st.key}`);
        if (!entry) throw new WeightsFileError(path, key, `storage ${prefix}data/${st.key} is missing from the archive`);
        const size = BYTES[dtype];
        if (entry.size % size !== 0) throw new WeightsFileError(path, key, `storage ${st.key} has ${entry.size} bytes, not a multiple of ${dtype}'s ${size}`);
        const off = zipEntryDataOffset(fd, entry, path);
        try {
          base = Tensor.fromHandle(native.readFile(fd, off, dtypeCode(dtype), [entry.size / size]));
        } catch (e) {
          throw new WeightsFileError(path, key, (e as Error).message);
        }
        bases.set(st.key, base);
      }
      const storageNumel = base.shape[0];
      const { shape, stride, storageOffset } = ref;
      if (shape.length !== stride.length) throw new WeightsFileError(path, key, `size [${shape}] and stride [${stride}] differ in length`);
      if (shape.some((s) => s < 0) || stride.some((s) => s < 0) || storageOffset < 0) {
        throw new WeightsFileError(path, key, `negative size/stride/offset (size [${shape}], stride [${stride}], offset ${storageOffset})`);
      }
      const numel = shape.reduce((a, b) => a * b, 1);
      const last = storageOffset + shape.reduce((a, s, i) => a + (s - 1) * stride[i], 0);
      if (numel > 0 && last >= storageNumel) {
        throw new WeightsFileError(path, key, `view (offset ${storageOffset}, size [${shape}], stride [${stride}]) reaches element ${last} of a ${storageNumel}-element storage`);
      }
      // more elements than the storage holds: a broadcast (stride-0) view, which torch.save keeps as it is; as a
      // weight it would claim a model far larger than the file (a 1 KB file inferring a 9 GB VAE)
      if (numel > storageNumel) {
        throw new WeightsFileError(path, key, `view of ${numel.toLocaleString('en-US')} elements (size [${shape}], stride [${stride}]) over a ${storageNumel.toLocaleString('en-US')}-element storage: a broadcast (stride-0) view, not a weight tensor`);
      }
      out.set(key, A.asStrided(base, shape, stride, storageOffset) as Tensor);
    }
    return { tensors: out, raw };
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  } finally {
    // The views hold the storages alive; the base handles are no longer needed.
    for (const b of bases.values()) b.dispose();
    closeSync(fd);
  }
}
