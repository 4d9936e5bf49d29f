// Latents from a base model: NumPy .npy files (a minimal reader: little-endian float16/32/64, C order)
// and safetensors (the tensor named `latent`, or the only tensor; metadata `scaled` = "true"/"false").
import { readFileSync } from 'node:fs';
import { tensor, type Tensor } from '../tensor/index.js';
import { readSafetensors, readSafetensorsHeader } from '../io/index.js';
import { PipelineError } from './errors.js';

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** Parses a .npy file's bytes to a float32 tensor (float16 / float64 data are converted). */
export function parseNpy(buf: Buffer, name = '<npy>'): Tensor {
  const fail = (d: string) => new PipelineError('readNpy', `${name}: ${d}`);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(NPY_MAGIC)) throw fail('not a .npy file (bad magic)');
  const major = buf[6];
  let hlen: number, start: number;
  if (major === 1) { hlen = buf.readUInt16LE(8); start = 10; }
  else if (major === 2 || major === 3) { hlen = buf.readUInt32LE(8); start = 12; }
  else throw fail(`unsupported .npy version ${major}`);
  if (start + hlen > buf.length) throw fail('truncated header');
  const header = buf.subarray(start, start + hlen).toString('latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw fail(`cannot parse header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True') throw fail('Fortran-order arrays are not supported (save with np.ascontiguousarray)');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw fail(`bad shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const sizes: Record<string, number> = { '<f2': 2, '<f4': 4, '<f8': 8, '|f2': 2 };
  const size = sizes[descr];
  if (!size) throw fail(`dtype '${descr}' is not supported (little-endian float16/float32/float64)`);
  const dataStart = start + hlen;
  if (buf.length - dataStart < count * size) throw fail(`data truncated: ${buf.length - dataStart} bytes for ${count} × ${size}`);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const o = dataStart + i * size;
    out[i] = size === 4 ? buf.readFloatLE(o) : size === 8 ? buf.readDoubleLE(o) : halfToFloat(buf.readUInt16LE(o));
  }
  return tensor(out, { shape });
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

export function readNpy(path: string): Tensor {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new PipelineError('readNpy', `${path}: ${(e as Error).message}`);
  }
  return parseNpy(buf, path);
}

/** Writes a float32 tensor as .npy (version 1.0, C order): for tests and exports. */
export function npyBytes(data: Float32Array, shape: number[]): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + dict.length + 1) % 64);
  const header = Buffer.from(dict + ' '.repeat(pad % 64) + '\n', 'latin1');
  const pre = Buffer.alloc(10);
  NPY_MAGIC.copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

export interface LatentFile {
  /** [N, C, h, w] float32. */
  latent: Tensor;
  /** From the file's metadata when it says (safetensors `scaled`), else undefined. */
  scaled?: boolean;
}

/** Reads a latent file (.npy or .safetensors) as [N, C, h, w]. */
export function readLatentFile(path: string): LatentFile {
  let t: Tensor, scaled: boolean | undefined;
  if (path.toLowerCase().endsWith('.npy')) {
    t = readNpy(path);
  } else {
    let head;
    try {
      head = readSafetensorsHeader(path);
    } catch (e) {
      throw new PipelineError('readLatentFile', `${path}: not a .npy or .safetensors latent (${(e as Error).message})`);
    }
    const keys = [...head.tensors.keys()];
    const key = keys.includes('latent') ? 'latent' : keys.length === 1 ? keys[0] : null;
    if (!key) throw new PipelineError('readLatentFile', `${path}: holds ${keys.length} tensors (${keys.slice(0, 5).join(', ')}); name the latent 'latent'`);
    t = readSafetensors(path, { keys: [key] }).tensors.get(key)!;
    const s = head.metadata.scaled;
    if (s === 'true' || s === 'false') scaled = s === 'true';
  }
  if (t.ndim === 3) {
    const u = t.unsqueeze(0);
    t.dispose();
    t = u;
  }
  if (t.ndim !== 4) {
    const shape = t.shape;
    t.dispose();
    throw new PipelineError('readLatentFile', `${path}: latent must be [C, h, w] or [N, C, h, w], got [${shape.join(', ')}]`);
  }
  if (t.dtype !== 'float32') {
    const u = t.to('float32');
    t.dispose();
    t = u;
  }
  return { latent: t, scaled };
}
