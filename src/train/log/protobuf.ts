// A minimal protobuf writer: just the wire types TensorBoard's Event/Summary messages need.

export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private len = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.len += b.length;
  }

  private varint(v: bigint | number): void {
    let x = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    do {
      let byte = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) byte |= 0x80;
      out.push(byte);
    } while (x !== 0n);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** int32/int64/uint/enum/bool (wire type 0). */
  int(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.varint(v);
    return this;
  }
  /** double (wire type 1). */
  double(field: number, v: number): this {
    this.tag(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    this.push(b);
    return this;
  }
  /** float (wire type 5). */
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
    return this;
  }
  /** bytes / string / embedded message (wire type 2). */
  bytes(field: number, v: Uint8Array | string): this {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    this.tag(field, 2);
    this.varint(b.length);
    this.push(b);
    return this;
  }
  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    return Buffer.concat(this.chunks, this.len);
  }
}
