// dtypes by name, with their libtorch ScalarType codes and matching TypedArrays.
export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

const CODES: Record<DType, number> = {
  uint8: 0, int8: 1, int16: 2, int32: 3, int64: 4, float16: 5, float32: 6, float64: 7, bool: 11, bfloat16: 15,
};
const NAMES: Record<number, DType> = Object.fromEntries(Object.entries(CODES).map(([k, v]) => [v, k as DType]));

export const ALL_DTYPES = Object.keys(CODES) as DType[];

export function dtypeCode(d: DType): number {
  const c = CODES[d];
  if (c === undefined) throw new TypeError(`unknown dtype '${d}' (known: ${ALL_DTYPES.join(', ')})`);
  return c;
}

export function dtypeName(code: number): DType {
  const n = NAMES[code];
  if (!n) throw new TypeError(`unsupported libtorch ScalarType ${code}`);
  return n;
}

export const BYTES: Record<DType, number> = {
  uint8: 1, int8: 1, int16: 2, int32: 4, int64: 8, float16: 2, float32: 4, float64: 8, bool: 1, bfloat16: 2,
};

export type TypedArray = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array | Uint16Array;

/** The TypedArray that views a dtype's bytes (float16/bfloat16 as raw Uint16, bool as Uint8). */
export function typedArrayFor(d: DType, buf: ArrayBuffer, byteOffset = 0, length?: number): TypedArray {
  switch (d) {
    case 'float32': return new Float32Array(buf, byteOffset, length);
    case 'float64': return new Float64Array(buf, byteOffset, length);
    case 'int64': return new BigInt64Array(buf, byteOffset, length);
    case 'int32': return new Int32Array(buf, byteOffset, length);
    case 'int16': return new Int16Array(buf, byteOffset, length);
    case 'int8': return new Int8Array(buf, byteOffset, length);
    case 'uint8': case 'bool': return new Uint8Array(buf, byteOffset, length);
    case 'float16': case 'bfloat16': return new Uint16Array(buf, byteOffset, length);
  }
}

/** The dtype a TypedArray naturally holds. */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array) return 'uint8';
  throw new TypeError('Uint16Array data is ambiguous: pass dtype float16 or bfloat16');
}

export function isFloating(d: DType): boolean {
  return d === 'float32' || d === 'float16' || d === 'bfloat16' || d === 'float64';
}
