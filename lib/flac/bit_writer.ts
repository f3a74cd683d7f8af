/**
 * A growable MSB-first bit writer for FLAC frames, with a fast path for Rice-coded residuals.
 *
 * @module
 */

const POW2_W = Float64Array.from({ length: 49 }, (_, n) => 2 ** n);

/** Writes bits MSB first into a growable byte buffer. */
export class BitWriter {
  /** The output buffer; bytes `[0, pos)` are complete. */
  buf: Uint8Array;
  /** Number of complete bytes written. */
  pos = 0;
  /** Pending bits, right-aligned (only the low `nbits` bits matter). */
  acc = 0;
  /** Number of pending bits in `acc` (always < 8 between calls). */
  nbits = 0;

  /** A writer with an initial capacity of `initialBytes`. */
  constructor(initialBytes = 1 << 16) {
    this.buf = new Uint8Array(Math.max(64, initialBytes));
  }

  /** Forgets everything written (keeps the buffer). */
  reset(): void {
    this.pos = 0;
    this.acc = 0;
    this.nbits = 0;
  }

  /** Makes room for at least `extraBytes` more bytes. */
  ensure(extraBytes: number): void {
    if (this.pos + extraBytes + 8 <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extraBytes + 8) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Total bits written so far. */
  get bitLength(): number {
    return this.pos * 8 + this.nbits;
  }

  /** Writes the low `n` bits of `value` (0 ≤ n ≤ 24). */
  writeSmall(value: number, n: number): void {
    if (this.pos + 8 > this.buf.length) this.ensure(8);
    let acc = (this.acc << n) | (value & ((1 << n) - 1));
    let nbits = this.nbits + n;
    const buf = this.buf;
    let pos = this.pos;
    while (nbits >= 8) {
      nbits -= 8;
      buf[pos++] = acc >>> nbits;
    }
    this.acc = acc & 0xff;
    acc = 0;
    this.nbits = nbits;
    this.pos = pos;
  }

  /** Writes the low `n` bits of an unsigned `value` (0 ≤ n ≤ 48; exact below 2^48). */
  writeBits(value: number, n: number): void {
    if (n <= 24) {
      this.writeSmall(value, n);
    } else {
      const hi = Math.floor(value / 16777216);
      this.writeSmall(hi, n - 24);
      this.writeSmall(value - hi * 16777216, 24);
    }
  }

  /** Writes a signed `value` as `n`-bit two's complement (1 ≤ n ≤ 48). */
  writeSigned(value: number, n: number): void {
    if (n <= 24) this.writeSmall(value, n);
    else this.writeBits(value < 0 ? value + POW2_W[n] : value, n);
  }

  /** Writes `count` zero bits then a one bit (unary code of `count`). */
  writeUnary(count: number): void {
    while (count >= 24) {
      this.writeSmall(0, 24);
      count -= 24;
    }
    this.writeSmall(1, count + 1);
  }

  /** Pads with zero bits to a byte boundary. */
  alignToByte(): void {
    if (this.nbits) this.writeSmall(0, 8 - this.nbits);
  }

  /** Appends whole bytes (the writer must be byte aligned). */
  writeBytes(bytes: Uint8Array): void {
    if (this.nbits) {
      for (let i = 0; i < bytes.length; i++) this.writeSmall(bytes[i], 8);
      return;
    }
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /**
   * Rice-codes `res[start, end)` with parameter `k` (0 ≤ k ≤ 30): zig-zag folding, the
   * quotient in unary, then `k` low bits. Residuals must lie in [-(2^31 - 1), 2^31 - 1].
   */
  writeRice(res: Int32Array, start: number, end: number, k: number): void {
    // capacity first (exact bound on the bits), so the hot loop touches no properties
    let qsum = 0;
    for (let i = start; i < end; i++) {
      const r = res[i];
      qsum += ((r << 1) ^ (r >> 31)) >>> 0 >>> k;
    }
    this.ensure(Math.ceil((qsum + (end - start) * (k + 1)) / 8) + 16);
    this.writeRiceReserved(res, start, end, k);
  }

  /**
   * {@linkcode writeRice} without the capacity check: the caller has reserved room for every
   * code (for example from a {@linkcode RicePlan}'s `boundBits`).
   */
  writeRiceReserved(res: Int32Array, start: number, end: number, k: number): void {
    const buf = this.buf;
    let pos = this.pos;
    let acc = this.acc;
    let nbits = this.nbits;
    const mask = k === 0 ? 0 : (1 << k) - 1;
    for (let i = start; i < end; i++) {
      const r = res[i];
      const u = ((r << 1) ^ (r >> 31)) >>> 0; // zig-zag fold
      let q = u >>> k; // quotient, sent in unary
      const low = u & mask; // k low bits, sent as is
      if (q + 1 + k <= 24) {
        // whole code fits one write: q zeros, a one, k low bits
        const n = q + 1 + k;
        acc = (acc << n) | (1 << k) | low;
        nbits += n;
        while (nbits >= 8) {
          nbits -= 8;
          buf[pos++] = acc >>> nbits;
        }
        continue;
      }
      // long unary run: flush zeros eight at a time
      while (q >= 8) {
        acc <<= 8;
        buf[pos++] = acc >>> nbits;
        q -= 8;
      }
      // stop bit after q zeros
      acc = (acc << (q + 1)) | 1;
      nbits += q + 1;
      while (nbits >= 8) {
        nbits -= 8;
        buf[pos++] = acc >>> nbits;
      }
      // k low bits, at most 16 at a time
      let left = k;
      while (left > 0) {
        const take = left > 16 ? 16 : left;
        left -= take;
        acc = (acc << take) | ((low >>> left) & ((1 << take) - 1));
        nbits += take;
        while (nbits >= 8) {
          nbits -= 8;
          buf[pos++] = acc >>> nbits;
        }
      }
    }
    this.pos = pos;
    this.acc = acc & 0xff;
    this.nbits = nbits;
  }

  /** Appends the bits of another writer. */
  appendWriter(other: BitWriter): void {
    this.writeBytes(other.buf.subarray(0, other.pos));
    if (other.nbits) this.writeSmall(other.acc, other.nbits);
  }

  /** The complete bytes written so far (a view; align first to include pending bits). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
