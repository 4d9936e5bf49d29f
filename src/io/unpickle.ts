// A small pickle VM (protocols 0–5, the opcodes torch.save and common checkpoints use). It never
// executes Python: globals resolve through a caller-supplied table, and anything unknown becomes an
// inert placeholder (PyGlobal / PyObject) so exotic checkpoint extras do not stop weight loading.
//
// Python → JS: None → null, bool → boolean, int → number (bigint beyond 2^53), float → number,
// str → string, bytes → Buffer, list/tuple → Array, dict → Map, set → Set.

/** A class or function that the resolver did not know. Calling it yields a PyObject. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  toString(): string { return `${this.module}.${this.name}`; }
}

/** An instance of an unknown class: what it was built from, kept for inspection. */
export class PyObject {
  /** Set by BUILD (usually the instance __dict__). */
  state: unknown = undefined;
  /** Items appended/set on it (list or dict subclasses). */
  items: unknown[] = [];
  constructor(readonly cls: PyGlobal, readonly args: unknown[]) {}
  toString(): string { return `<${this.cls} object>`; }
}

/** A known callable (class or function) implemented in JS. */
export class PyCallable {
  constructor(readonly module: string, readonly name: string, readonly call: (args: unknown[]) => unknown) {}
}

export interface UnpickleOptions {
  /** Resolves GLOBAL / STACK_GLOBAL. Return undefined for "unknown" (→ PyGlobal placeholder). */
  findClass?: (module: string, name: string) => unknown;
  /** Resolves persistent ids (BINPERSID / PERSID). Required when the pickle uses them. */
  persistentLoad?: (pid: unknown) => unknown;
}

export class UnpicklingError extends Error {
  override name = 'UnpicklingError';
}

const BUILTIN: Record<string, (args: unknown[]) => unknown> = {
  'collections.OrderedDict': (a) => new Map((a[0] as [unknown, unknown][] | undefined) ?? []),
  'builtins.dict': (a) => new Map(a[0] instanceof Map ? a[0] : ((a[0] as [unknown, unknown][] | undefined) ?? [])),
  'builtins.list': (a) => [...((a[0] as unknown[] | undefined) ?? [])],
  'builtins.tuple': (a) => [...((a[0] as unknown[] | undefined) ?? [])],
  'builtins.set': (a) => new Set((a[0] as unknown[] | undefined) ?? []),
  'builtins.frozenset': (a) => new Set((a[0] as unknown[] | undefined) ?? []),
  'builtins.bytearray': (a) => (typeof a[0] === 'string' ? Buffer.from(a[0], (a[1] as BufferEncoding) ?? 'latin1') : Buffer.from((a[0] as Buffer) ?? [])),
  // Protocol-2 pickles of bytes go through _codecs.encode(latin1 str).
  '_codecs.encode': (a) => Buffer.from(a[0] as string, 'latin1'),
};
BUILTIN['__builtin__.set'] = BUILTIN['builtins.set'];
BUILTIN['__builtin__.frozenset'] = BUILTIN['builtins.frozenset'];
BUILTIN['__builtin__.bytearray'] = BUILTIN['builtins.bytearray'];

function callObj(f: unknown, args: unknown[]): unknown {
  if (f instanceof PyCallable) return f.call(args);
  if (f instanceof PyGlobal) {
    // copyreg._reconstructor(cls, base, state) and copyreg.__newobj__(cls, *args) make an instance of cls.
    if ((f.module === 'copy_reg' || f.module === 'copyreg') && f.name === '_reconstructor' && args[0] instanceof PyGlobal) {
      return new PyObject(args[0], args.slice(1));
    }
    return new PyObject(f, args);
  }
  throw new UnpicklingError(`cannot call ${describe(f)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof Map) return 'dict';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyGlobal || v instanceof PyObject) return String(v);
  return typeof v;
}

function setItem(target: unknown, k: unknown, v: unknown): void {
  if (target instanceof Map) target.set(k, v);
  else if (target instanceof PyObject) target.items.push([k, v]);
  else throw new UnpicklingError(`SETITEM on ${describe(target)}`);
}

function append(target: unknown, v: unknown): void {
  if (Array.isArray(target)) target.push(v);
  else if (target instanceof Set) target.add(v);
  else if (target instanceof PyObject) target.items.push(v);
  else throw new UnpicklingError(`APPEND on ${describe(target)}`);
}

/** Two's-complement little-endian integer (LONG1/LONG4 payload). */
function decodeLong(b: Buffer): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function textInt(s: string): number | bigint | boolean {
  s = s.replace(/L$/, '');
  if (s === '00') return false;
  if (s === '01') return true;
  const v = BigInt(s);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Runs a pickle and returns the unpickled object. */
export function unpickle(data: Buffer, opts: UnpickleOptions = {}): unknown {
  let pos = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const need = (n: number): void => {
    if (pos + n > data.length) throw new UnpicklingError(`pickle data ends early (need ${n} bytes at offset ${pos} of ${data.length})`);
  };
  const bytes = (n: number): Buffer => { need(n); const b = data.subarray(pos, pos + n); pos += n; return b; };
  const u8 = (): number => { need(1); return data[pos++]; };
  const u16 = (): number => { need(2); const v = data.readUInt16LE(pos); pos += 2; return v; };
  const u32 = (): number => { need(4); const v = data.readUInt32LE(pos); pos += 4; return v; };
  const i32 = (): number => { need(4); const v = data.readInt32LE(pos); pos += 4; return v; };
  const u64 = (): number => { need(8); const v = Number(data.readBigUInt64LE(pos)); pos += 8; return v; };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) throw new UnpicklingError('pickle data ends inside a text line');
    const s = data.toString('latin1', pos, end);
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw new UnpicklingError('pickle stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw new UnpicklingError('pickle stack underflow');
    return stack[stack.length - 1];
  };
  // Callers must not write `stack.push(popMark())`: that pushes onto the array popMark discards.
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) throw new UnpicklingError('pickle MARK missing');
    stack = prev;
    return items;
  };
  const findClass = (module: string, name: string): unknown => {
    const r = opts.findClass?.(module, name);
    if (r !== undefined) return r;
    const b = BUILTIN[`${module}.${name}`];
    return b ? new PyCallable(module, name, b) : new PyGlobal(module, name);
  };
  const persistent = (pid: unknown): unknown => {
    if (!opts.persistentLoad) throw new UnpicklingError('pickle uses persistent ids but no persistentLoad was given');
    return opts.persistentLoad(pid);
  };
  const getMemo = (i: number): unknown => {
    if (!memo.has(i)) throw new UnpicklingError(`memo key ${i} was never stored`);
    return memo.get(i);
  };

  for (;;) {
    const opAt = pos;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME (framing is only a read-ahead hint)
      case 0x2e: { // STOP
        const v = pop();
        return v;
      }
      case 0x28: metastack.push(stack); stack = []; break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(decodeLong(bytes(u8()))); break; // LONG1
      case 0x8b: stack.push(decodeLong(bytes(i32()))); break; // LONG4
      case 0x49: stack.push(textInt(line())); break; // INT
      case 0x4c: stack.push(textInt(line())); break; // LONG
      case 0x47: { need(8); stack.push(data.readDoubleBE(pos)); pos += 8; break; } // BINFLOAT
      case 0x46: stack.push(parseFloat(line())); break; // FLOAT
      case 0x58: stack.push(bytes(u32()).toString('utf8')); break; // BINUNICODE
      case 0x8c: stack.push(bytes(u8()).toString('utf8')); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(bytes(u64()).toString('utf8')); break; // BINUNICODE8
      case 0x56: { // UNICODE: raw-unicode-escape text (latin-1 bytes, \uXXXX / \UXXXXXXXX escapes)
        const s = line().replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a: string, b: string) => String.fromCodePoint(parseInt(a ?? b, 16)));
        stack.push(s);
        break;
      }
      case 0x54: stack.push(bytes(i32()).toString('latin1')); break; // BINSTRING (py2 str)
      case 0x55: stack.push(bytes(u8()).toString('latin1')); break; // SHORT_BINSTRING
      case 0x53: stack.push(line().replace(/^['"]|['"]$/g, '')); break; // STRING
      case 0x42: stack.push(Buffer.from(bytes(u32()))); break; // BINBYTES
      case 0x43: stack.push(Buffer.from(bytes(u8()))); break; // SHORT_BINBYTES
      case 0x8e: stack.push(Buffer.from(bytes(u64()))); break; // BINBYTES8
      case 0x96: stack.push(Buffer.from(bytes(u64()))); break; // BYTEARRAY8
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x64: { // DICT
        const items = popMark();
        const m = new Map();
        for (let i = 0; i + 1 < items.length; i += 2) m.set(items[i], items[i + 1]);
        stack.push(m);
        break;
      }
      case 0x6c: { const l = popMark(); stack.push(l); break; } // LIST
      case 0x74: { const t = popMark(); stack.push(t); break; } // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(), a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(), b = pop(), a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x91: { const s = new Set(popMark()); stack.push(s); break; } // FROZENSET
      case 0x90: { const items = popMark(); const s = top(); for (const v of items) append(s, v); break; } // ADDITEMS
      case 0x73: { const v = pop(), k = pop(); setItem(top(), k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark();
        const d = top();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x61: { const v = pop(); append(top(), v); break; } // APPEND
      case 0x65: { const items = popMark(); const l = top(); for (const v of items) append(l, v); break; } // APPENDS
      case 0x63: { const module = line(), name = line(); stack.push(findClass(module, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new UnpicklingError('STACK_GLOBAL needs two strings');
        stack.push(findClass(module, name));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop(), f = pop();
        stack.push(callObj(f, Array.isArray(args) ? args : [args]));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop(), cls = pop();
        stack.push(callObj(cls, Array.isArray(args) ? args : [args]));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop(), args = pop(), cls = pop();
        const o = callObj(cls, Array.isArray(args) ? args : [args]);
        if (o instanceof PyObject && kwargs instanceof Map && kwargs.size) o.args.push(kwargs);
        stack.push(o);
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof PyObject) obj.state = state;
        else if (obj instanceof Map || Array.isArray(obj)) {
          // e.g. the OrderedDict of a state_dict carries `_metadata`; keep it off the enumerable keys.
          Object.defineProperty(obj, 'pyState', { value: state, enumerable: false, configurable: true, writable: true });
        }
        break;
      }
      case 0x51: stack.push(persistent(pop())); break; // BINPERSID
      case 0x50: stack.push(persistent(line())); break; // PERSID
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x70: memo.set(Number(line()), top()); break; // PUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(getMemo(u8())); break; // BINGET
      case 0x6a: stack.push(getMemo(u32())); break; // LONG_BINGET
      case 0x67: stack.push(getMemo(Number(line()))); break; // GET
      default:
        throw new UnpicklingError(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at offset ${opAt}`);
    }
  }
}
