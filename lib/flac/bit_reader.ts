/**
 * An MSB-first bit reader for FLAC frames with a bounds check that never reads past the
 * input: bits beyond the end read as zero and the reader records an overrun, which the frame
 * decoder turns into a "truncated" error. Unary and Rice runs are bounded, so hostile input
 * cannot make it loop.
 *
 * @module
 */

/** POW2[n] = 2^n for n in 0..64 (a table: `**` on variables is slow). */
export const POW2: Float64Array = Float64Array.from({ length: 65 }, (_, n) => 2 ** n);

/** Thrown (internally) when a read goes past the end of the available bytes. */
export class BitReaderOverrun extends Error {
  override name = "BitReaderOverrun";
}

/** A malformed-field error raised while reading bits (the frame decoder adds the position). */
export class BitReaderError extends Error {
  override name = "BitReaderError";
}

/** Reads bits MSB first from `buf[start, end)`. */
export class BitReader {
  /** The input. */
  buf: Uint8Array;
  /** Next byte to load into the cache. */
  pos: number;
  /** End of readable input (exclusive). */
  end: number;
  /** Cached bits, left-aligned in a 32-bit integer; bits below the valid ones are zero. */
  cache = 0;
  /** Number of valid bits in `cache`. */
  bits = 0;

  /** A reader over `buf[start, end)`. */
  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  /** Restarts reading at byte `offset`. */
  seekByte(offset: number): void {
    this.pos = offset;
    this.cache = 0;
    this.bits = 0;
  }

  /** Bits consumed, as an absolute bit position in `buf`. */
  get bitPosition(): number {
    return this.pos * 8 - this.bits;
  }

  /** Whether more bits were consumed than the input holds. */
  get overrun(): boolean {
    return this.pos * 8 - this.bits > this.end * 8;
  }

  /** Throws {@linkcode BitReaderOverrun} if the reads went past the end. */
  checkOverrun(): void {
    if (this.pos * 8 - this.bits > this.end * 8) {
      throw new BitReaderOverrun("unexpected end of data");
    }
  }

  /** Loads bytes until at least 25 bits are cached. */
  refill(): void {
    let cache = this.cache;
    let bits = this.bits;
    let pos = this.pos;
    const end = this.end;
    const buf = this.buf;
    while (bits <= 24) {
      cache |= (pos < end ? buf[pos] : 0) << (24 - bits);
      pos++;
      bits += 8;
    }
    if (pos > end + 8) throw new BitReaderOverrun("unexpected end of data");
    this.cache = cache;
    this.bits = bits;
    this.pos = pos;
  }

  /** Reads `n` bits (0 ≤ n ≤ 24) as an unsigned number. */
  readSmall(n: number): number {
    if (n === 0) return 0;
    if (this.bits < n) this.refill();
    const v = this.cache >>> (32 - n);
    this.cache <<= n;
    this.bits -= n;
    return v;
  }

  /** Reads `n` bits (0 ≤ n ≤ 40) as an unsigned number. */
  readBits(n: number): number {
    if (n <= 24) return this.readSmall(n);
    const hi = this.readSmall(n - 16);
    return hi * 65536 + this.readSmall(16);
  }

  /** Reads `n` bits (1 ≤ n ≤ 40) as a two's complement signed number. */
  readSigned(n: number): number {
    if (n === 0) return 0;
    if (n <= 24) {
      const v = this.readSmall(n);
      return (v << (32 - n)) >> (32 - n);
    }
    const v = this.readBits(n);
    return v >= POW2[n - 1] ? v - POW2[n] : v;
  }

  /** Reads a unary code: the number of zero bits before the next one bit, at most `limit`. */
  readUnary(limit: number): number {
    let q = 0;
    for (;;) {
      if (this.bits === 0 || this.cache === 0) {
        q += this.bits;
        this.cache = 0;
        this.bits = 0;
        if (q > limit) throw new BitReaderError(`unary code longer than ${limit}`);
        this.refill();
        continue;
      }
      const z = Math.clz32(this.cache);
      q += z;
      this.cache <<= z;
      this.cache <<= 1;
      this.bits -= z + 1;
      if (q > limit) throw new BitReaderError(`unary code longer than ${limit}`);
      return q;
    }
  }

  /** Skips to the next byte boundary. */
  alignToByte(): void {
    const drop = this.bits & 7;
    this.cache <<= drop;
    this.bits -= drop;
  }

  /** The byte position of the next unread byte (call after {@linkcode alignToByte}). */
  get bytePosition(): number {
    return this.pos - (this.bits >> 3);
  }

  /**
   * Decodes `count` Rice codes with parameter `k` (0 ≤ k ≤ 30) into `out[start, start+count)`,
   * unfolding the zig-zag. Codes whose folded value needs more than 32 bits are an error.
   */
  readRice(out: Float64Array, start: number, count: number, k: number): void {
    let cache = this.cache;
    let bits = this.bits;
    let pos = this.pos;
    const buf = this.buf;
    const end = this.end;
    const qLimit = POW2[32 - k]; // folded value must stay below 2^32
    const stop = start + count;
    for (let i = start; i < stop; i++) {
      // quotient: zeros before a one
      let q = 0;
      while (cache === 0) {
        q += bits;
        bits = 0;
        if (q >= qLimit) {
          this.pos = pos;
          throw new BitReaderError("Rice code too long (residual does not fit in 32 bits)");
        }
        if (pos > end + 8) {
          this.pos = pos;
          throw new BitReaderOverrun("unexpected end of data");
        }
        while (bits <= 24) {
          cache |= (pos < end ? buf[pos] : 0) << (24 - bits);
          pos++;
          bits += 8;
        }
      }
      const z = Math.clz32(cache);
      q += z;
      cache <<= z;
      cache <<= 1;
      bits -= z + 1;
      if (q >= qLimit) {
        this.pos = pos;
        throw new BitReaderError("Rice code too long (residual does not fit in 32 bits)");
      }
      // k low bits
      let low = 0;
      if (k > 0) {
        if (bits < k) {
          if (k > 24) {
            // split: k - 16 bits then 16 bits
            while (bits <= 24) {
              cache |= (pos < end ? buf[pos] : 0) << (24 - bits);
              pos++;
              bits += 8;
            }
            const hiN = k - 16;
            const hi = cache >>> (32 - hiN);
            cache <<= hiN;
            bits -= hiN;
            while (bits <= 24) {
              cache |= (pos < end ? buf[pos] : 0) << (24 - bits);
              pos++;
              bits += 8;
            }
            low = (hi << 16) | (cache >>> 16);
            cache <<= 16;
            bits -= 16;
          } else {
            while (bits <= 24) {
              cache |= (pos < end ? buf[pos] : 0) << (24 - bits);
              pos++;
              bits += 8;
            }
            low = cache >>> (32 - k);
            cache <<= k;
            bits -= k;
          }
        } else {
          low = cache >>> (32 - k);
          cache = k === 32 ? 0 : cache << k;
          bits -= k;
        }
      }
      const u = (q << k) | low; // folded value, as uint32 bits
      out[i] = (u >>> 1) ^ -(u & 1);
    }
    this.cache = cache;
    this.bits = bits;
    this.pos = pos;
    if (pos > end + 8) throw new BitReaderOverrun("unexpected end of data");
  }
}
