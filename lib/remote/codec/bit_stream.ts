/**
 * Bit streams as Prometheus' `tsdb/chunkenc/bstream.go` writes them (most significant bit first),
 * and the variable-width integer codes of its histogram chunks (`varbit.go`). 64-bit quantities
 * are two uint32 halves or exact JS numbers (|n| ≤ 2^53); no BigInt.
 *
 * @module
 */

const TWO_32 = 4294967296;

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Bit widths of the varbit buckets after the prefixes `10`, `110`, … `11111110`. */
const VARBIT_WIDTHS = [3, 6, 9, 12, 18, 25, 56];

/**
 * A growable bit writer. Prometheus' stream appends a fresh byte after every whole byte it writes,
 * so a stream that ends on a byte boundary right after such a write carries one empty trailing
 * byte; {@linkcode bytes} keeps it, so chunks are byte-identical to Prometheus' own.
 */
export class BitWriter {
  #buf: Uint8Array;
  #pos: number;
  #lastByteWrite = false;
  readonly #startBit: number;

  /** A writer whose first `headerBytes` bytes are left for a header. */
  constructor(headerBytes: number, initialBytes = 256) {
    this.#buf = new Uint8Array(Math.max(initialBytes, headerBytes + 16));
    this.#startBit = headerBytes * 8;
    this.#pos = this.#startBit;
  }

  /** Empties the stream (the header bytes are zeroed too). */
  reset(): void {
    this.#buf.fill(0, 0, this.sizeBytes);
    this.#pos = this.#startBit;
    this.#lastByteWrite = false;
  }

  /** The underlying buffer (header bytes included), for writing a header in place. */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** Bits written after the header. */
  get bitLength(): number {
    return this.#pos - this.#startBit;
  }

  /** Bytes of the stream, header included. */
  get sizeBytes(): number {
    const pad = this.#lastByteWrite && (this.#pos & 7) === 0 ? 1 : 0;
    return ((this.#pos + 7) >>> 3) + pad;
  }

  #ensure(bits: number): void {
    const need = ((this.#pos + bits + 7) >>> 3) + 1;
    if (need <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(need, this.#buf.length * 2));
    next.set(this.#buf);
    this.#buf = next;
  }

  /** Writes the low `n` bits of `v` (0 ≤ n ≤ 32), most significant first. */
  bits(v: number, n: number): void {
    this.#ensure(n);
    const buf = this.#buf;
    let pos = this.#pos;
    let left = n;
    while (left > 0) {
      const free = 8 - (pos & 7);
      const take = free < left ? free : left;
      const piece = (v >>> (left - take)) & ((1 << take) - 1);
      buf[pos >>> 3] |= piece << (free - take);
      pos += take;
      left -= take;
    }
    this.#pos = pos;
    this.#lastByteWrite = (n & 7) === 0 && n > 0;
  }

  /** Writes one field of `n` bits (0 ≤ n ≤ 64) given as high and low 32-bit halves. */
  wide(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.bits(hi >>> 0, n - 32);
      this.bits(lo >>> 0, 32);
    } else this.bits(lo >>> 0, n);
    this.#lastByteWrite = (n & 7) === 0 && n > 0; // one field, as Prometheus writes it
  }

  /** Writes the 64-bit two's complement of the integer `n` (|n| ≤ 2^53) in `width` bits. */
  int(n: number, width: number): void {
    const hi = Math.floor(n / TWO_32);
    this.wide(hi >>> 0, (n - hi * TWO_32) >>> 0, width);
  }

  /** `putVarbitInt`: a signed integer in the smallest bucket that holds it. */
  varbitInt(n: number): void {
    if (n === 0) {
      this.bits(0, 1); // 1 bit '0': zero
      return;
    }
    for (let i = 0; i < VARBIT_WIDTHS.length; i++) {
      const w = VARBIT_WIDTHS[i];
      const half = 2 ** (w - 1);
      if (n >= 1 - half && n <= half) {
        this.bits(((1 << (i + 2)) - 2) >>> 0, i + 2); // prefix: i+1 ones and a zero
        this.int(n, w); // w bits: two's complement
        return;
      }
    }
    this.bits(0xff, 8); // 8 bits '11111111': 64-bit value follows
    this.int(n, 64);
  }

  /** `putVarbitUint`: an unsigned integer in the smallest bucket that holds it. */
  varbitUint(n: number): void {
    if (n === 0) {
      this.bits(0, 1); // 1 bit '0': zero
      return;
    }
    for (let i = 0; i < VARBIT_WIDTHS.length; i++) {
      const w = VARBIT_WIDTHS[i];
      if (n < 2 ** w) {
        this.bits(((1 << (i + 2)) - 2) >>> 0, i + 2); // prefix: i+1 ones and a zero
        this.int(n, w); // w bits: the value
        return;
      }
    }
    this.bits(0xff, 8); // 8 bits '11111111': 64-bit value follows
    this.int(n, 64);
  }

  /** The stream bytes, header included (a view, valid until the next write or reset). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.sizeBytes);
  }
}

/**
 * Gorilla XOR coding of successive float64 values (`xorWrite` in Prometheus' `xor.go`): the
 * leading/trailing-zero window is kept between values.
 */
export class XorValueWriter {
  #hi = 0;
  #lo = 0;
  #leading = 0xff; // 0xff: no window yet
  #trailing = 0;

  /** Starts over: no previous value, no window. */
  reset(hi = 0, lo = 0): void {
    this.#hi = hi >>> 0;
    this.#lo = lo >>> 0;
    this.#leading = 0xff;
    this.#trailing = 0;
  }

  /** Writes the value `hi`:`lo` XOR-coded against the previous one. */
  write(w: BitWriter, hi: number, lo: number): void {
    const dHi = (hi ^ this.#hi) >>> 0;
    const dLo = (lo ^ this.#lo) >>> 0;
    this.#hi = hi >>> 0;
    this.#lo = lo >>> 0;
    if (dHi === 0 && dLo === 0) {
      w.bits(0, 1); // 1 bit '0': same value
      return;
    }
    w.bits(1, 1); // 1 bit '1': value changed
    let leading = dHi !== 0 ? Math.clz32(dHi) : 32 + Math.clz32(dLo);
    const trailing = dLo !== 0 ? ctz32(dLo) : 32 + ctz32(dHi);
    if (leading >= 32) leading = 31; // the 5-bit field holds at most 31
    let t: number;
    let sig: number;
    if (this.#leading !== 0xff && leading >= this.#leading && trailing >= this.#trailing) {
      w.bits(0, 1); // 1 bit '0': reuse the previous window
      t = this.#trailing;
      sig = 64 - this.#leading - t;
    } else {
      this.#leading = leading;
      this.#trailing = trailing;
      sig = 64 - leading - trailing;
      t = trailing;
      w.bits(1, 1); // 1 bit '1': new window
      w.bits(leading, 5); // 5 bits: leading zeros
      w.bits(sig & 63, 6); // 6 bits: meaningful bits (64 as 0)
    }
    // the meaningful bits: delta >> trailing, `sig` bits
    let sHi: number;
    let sLo: number;
    if (t >= 32) {
      sHi = 0;
      sLo = dHi >>> (t - 32);
    } else if (t > 0) {
      sLo = ((dLo >>> t) | (dHi << (32 - t))) >>> 0;
      sHi = dHi >>> t;
    } else {
      sHi = dHi;
      sLo = dLo;
    }
    w.wide(sHi, sLo, sig);
  }
}

/** Reads a bit stream written by {@linkcode BitWriter}; throws `RangeError` past its end. */
export class BitReader {
  /** Position in bits. */
  pos: number;
  readonly #end: number;
  readonly #buf: Uint8Array;

  /** A reader of `buf` from bit `startBit`. */
  constructor(buf: Uint8Array, startBit: number, readonly what = "chunk") {
    this.#buf = buf;
    this.pos = startBit;
    this.#end = buf.length * 8;
  }

  /** Reads `n` bits (0 ≤ n ≤ 32) as an unsigned number. */
  bits(n: number): number {
    if (this.pos + n > this.#end) throw new RangeError(`${this.what} is truncated`);
    let v = 0;
    let pos = this.pos;
    while (n > 0) {
      const avail = 8 - (pos & 7);
      const take = avail < n ? avail : n;
      const piece = (this.#buf[pos >>> 3] >>> (avail - take)) & ((1 << take) - 1);
      v = v * (1 << take) + piece; // multiplication keeps 32 unsigned bits exact
      pos += take;
      n -= take;
    }
    this.pos = pos;
    return v;
  }

  /** Reads a whole byte. */
  byte(): number {
    return this.bits(8);
  }

  /** Reads `width` bits as a two's complement (`signed`) or unsigned integer (exact to 2^53). */
  int(width: number, signed: boolean): number {
    let v: number;
    if (width > 32) {
      const hi = this.bits(width - 32);
      const lo = this.bits(32);
      const hiSigned = signed && hi >= 2 ** (width - 33) ? hi - 2 ** (width - 32) : hi;
      v = hiSigned * TWO_32 + lo;
    } else {
      v = this.bits(width);
      if (signed && v >= 2 ** (width - 1)) v -= 2 ** width;
    }
    if (!Number.isSafeInteger(v)) throw new RangeError(`${this.what} holds an integer beyond 2^53`);
    return v;
  }

  #prefix(): number {
    let ones = 0;
    while (ones < 8 && this.bits(1) === 1) ones++;
    return ones;
  }

  /** `readVarbitInt`. */
  varbitInt(): number {
    const ones = this.#prefix();
    if (ones === 0) return 0;
    if (ones === 8) return this.int(64, true);
    const w = VARBIT_WIDTHS[ones - 1];
    // 56 bits: two's complement read as such (its edge, 2^55, is beyond 2^53 anyway)
    if (w > 32) return this.int(w, true);
    let v = this.int(w, false);
    // Prometheus reads values above 2^(w-1) as negative (2^(w-1) itself is positive)
    if (v > 2 ** (w - 1)) v -= 2 ** w;
    return v;
  }

  /** `readVarbitUint`. */
  varbitUint(): number {
    const ones = this.#prefix();
    if (ones === 0) return 0;
    if (ones === 8) return this.int(64, false);
    return this.int(VARBIT_WIDTHS[ones - 1], false);
  }
}

/** Reads values written by {@linkcode XorValueWriter}, keeping its own window. */
export class XorValueReader {
  #hi = 0;
  #lo = 0;
  #leading = 0;
  #trailing = 0;

  /** Sets the previous value (the first one, read raw). */
  start(hi: number, lo: number): void {
    this.#hi = hi;
    this.#lo = lo;
    this.#leading = 0;
    this.#trailing = 0;
  }

  /** Reads one XOR-coded value from `r` into `out` as `[hi, lo]`. */
  read(r: BitReader, out: [number, number]): void {
    if (r.bits(1) === 1) {
      if (r.bits(1) === 1) {
        this.#leading = r.bits(5);
        let sig = r.bits(6);
        if (sig === 0) sig = 64;
        this.#trailing = 64 - this.#leading - sig;
      }
      const sig = 64 - this.#leading - this.#trailing;
      let sHi = 0;
      let sLo: number;
      if (sig > 32) {
        sHi = r.bits(sig - 32);
        sLo = r.bits(32);
      } else sLo = r.bits(sig);
      const t = this.#trailing;
      let dHi: number;
      let dLo: number;
      if (t >= 32) {
        dHi = (sLo << (t - 32)) >>> 0;
        dLo = 0;
      } else if (t > 0) {
        dHi = ((sHi << t) | (sLo >>> (32 - t))) >>> 0;
        dLo = (sLo << t) >>> 0;
      } else {
        dHi = sHi;
        dLo = sLo;
      }
      this.#hi = (this.#hi ^ dHi) >>> 0;
      this.#lo = (this.#lo ^ dLo) >>> 0;
    }
    out[0] = this.#hi;
    out[1] = this.#lo;
  }
}
