// A small seeded PRNG (sfc32, seeded through splitmix32) for the data pipeline. Pure JS, so worker
// threads can draw augmentation parameters without libtorch; streams are keyed by (seed, epoch,
// item) so results do not depend on which worker decodes an item or in what order.

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  /** Seeds from any number of integer keys (each folded in with splitmix32). */
  constructor(...keys: number[]) {
    const st = { s: 0x6a09e667 };
    for (const k of keys) {
      // fold both 32-bit halves so keys up to 2^53 stay distinct
      st.s ^= Math.trunc(k) >>> 0; splitmix32(st);
      st.s ^= Math.trunc(k / 4294967296) >>> 0; splitmix32(st);
    }
    this.a = splitmix32(st); this.b = splitmix32(st); this.c = splitmix32(st); this.d = splitmix32(st) | 1;
    for (let i = 0; i < 12; i++) this.nextU32();
  }
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    return (this.nextU32() * 2097152 + (this.nextU32() >>> 11)) / 9007199254740992;
  }
  /** Uniform integer in [low, high) (unbiased, rejection sampling). */
  int(low: number, high: number): number {
    const n = high - low;
    if (!(n >= 1) || !Number.isSafeInteger(n)) throw new RangeError(`Rng.int: empty or invalid range [${low}, ${high})`);
    if (n === 1) return low;
    if (n <= 4294967296) {
      const lim = 4294967296 - (4294967296 % n);
      for (;;) { const x = this.nextU32(); if (x < lim) return low + (x % n); }
    }
    return low + Math.floor(this.random() * n);
  }
  /** A Fisher–Yates permutation of 0..n-1. */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      const t = p[i]; p[i] = p[j]; p[j] = t;
    }
    return p;
  }
}
