// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78; TFRecord framing). Plain CRC-32 is Node's zlib.crc32.

function table(poly: number): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

const T32C = table(0x82f63b78);

function run(t: Uint32Array, data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

export function crc32c(data: Uint8Array): number {
  return run(T32C, data);
}

/** TFRecord's masked CRC: rotate right by 15 and add a constant, so CRCs of CRCs stay well distributed. */
export function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}
