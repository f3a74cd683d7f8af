/**
 * Prometheus' XOR chunk encoding (`tsdb/chunkenc/xor.go`, the Gorilla scheme), as remote read's
 * STREAMED_XOR_CHUNKS carries it. Written from the format description; 64-bit quantities are
 * handled as two uint32 halves (no BigInt).
 *
 * Layout of a chunk:
 * - 2 bytes, big-endian: number of samples.
 * - Sample 0: timestamp as a signed (zig-zag) varint, value as 64 raw bits.
 * - Sample 1: timestamp delta as an unsigned varint, value XOR-encoded against sample 0.
 * - Sample n ≥ 2: delta-of-delta of the timestamp in a prefix-coded bucket
 *   (`0` → 0; `10` + 14 bits; `110` + 17 bits; `1110` + 20 bits; `1111` + 64 bits, two's complement),
 *   then the value XOR-encoded against the previous one.
 * - XOR value: `0` when equal; else `1`, then `0` + the meaningful bits inside the previous
 *   leading/trailing-zero window, or `1` + 5 bits leading zeros (at most 31) + 6 bits number of
 *   meaningful bits (64 written as 0) + the meaningful bits.
 *
 * @module
 */

/** Samples per chunk, as Prometheus cuts head chunks. */
export const SAMPLES_PER_CHUNK = 120;
/** Upper bound on the bits one sample after the first two can add (4 + 64 dod, 2 + 5 + 6 + 64 value). */
export const MAX_BITS_PER_SAMPLE = 145;
/**
 * Upper bound on the bytes any one append can add: the first sample's 10-byte varint and 8 bytes,
 * or 145 bits, plus the empty trailing byte Prometheus' bit stream leaves after a whole-byte write
 * that ends on a byte boundary (kept so that chunks are byte-identical to Prometheus' own).
 */
export const MAX_BYTES_PER_APPEND = 20;

const TWO_32 = 4294967296;

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * Encodes samples into one XOR chunk. Reuse an encoder across chunks with {@linkcode reset}; the
 * buffer grows once to the largest chunk and is kept.
 */
export class XorChunkEncoder {
  #buf: Uint8Array;
  #bitPos = 16; // after the 2-byte sample count
  #count = 0;
  #t = 0;
  #tDelta = 0;
  #vHi = 0;
  #vLo = 0;
  #leading = 0xff; // 0xff: no window yet
  #trailing = 0;
  #minTimeMs = 0;
  /** Whether the last field written was a whole number of bytes (Prometheus' `writeByte` path). */
  #lastByteWrite = false;

  /** An encoder with room for `initialBytes` (grows when needed). */
  constructor(initialBytes = 2 + SAMPLES_PER_CHUNK * MAX_BYTES_PER_APPEND) {
    this.#buf = new Uint8Array(initialBytes);
  }

  /** Starts a new, empty chunk. */
  reset(): void {
    this.#buf.fill(0, 0, this.sizeBytes);
    this.#lastByteWrite = false;
    this.#bitPos = 16;
    this.#count = 0;
    this.#leading = 0xff;
    this.#trailing = 0;
  }

  /** Samples in the chunk. */
  get count(): number {
    return this.#count;
  }

  /** Current size of the chunk in bytes. */
  get sizeBytes(): number {
    // Prometheus' bstream appends a fresh byte after every whole byte it writes, so a stream
    // that ends on a byte boundary after such a write carries one empty trailing byte.
    const pad = this.#lastByteWrite && (this.#bitPos & 7) === 0 ? 1 : 0;
    return ((this.#bitPos + 7) >>> 3) + pad;
  }

  /** Timestamp of the first sample (ms). */
  get minTimeMs(): number {
    return this.#minTimeMs;
  }

  /** Timestamp of the last sample (ms). */
  get maxTimeMs(): number {
    return this.#t;
  }

  #ensure(bits: number): void {
    const need = (this.#bitPos + bits + 7) >>> 3;
    if (need <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(need, this.#buf.length * 2));
    next.set(this.#buf);
    this.#buf = next;
  }

  /** Writes the low `n` bits of `v` (0 ≤ n ≤ 32), most significant first. */
  #bits(v: number, n: number): void {
    const n0 = n;
    const buf = this.#buf;
    let pos = this.#bitPos;
    while (n > 0) {
      const free = 8 - (pos & 7);
      const take = free < n ? free : n;
      const piece = (v >>> (n - take)) & ((1 << take) - 1);
      buf[pos >>> 3] |= piece << (free - take);
      pos += take;
      n -= take;
    }
    this.#bitPos = pos;
    this.#lastByteWrite = (n0 & 7) === 0;
  }

  #uvarint(n: number): void {
    while (n >= 128) {
      this.#bits((n % 128) | 0x80, 8);
      n = Math.floor(n / 128);
    }
    this.#bits(n, 8);
  }

  /**
   * Appends a sample: timestamp `tMs` (integer ms, not before the previous one) and the value
   * whose IEEE-754 bits are `valueHi`:`valueLo` (see {@linkcode appendFrom} for typed arrays).
   */
  append(tMs: number, valueHi: number, valueLo: number): void {
    this.#ensure(MAX_BYTES_PER_APPEND * 8);
    const n = this.#count;
    if (n === 0) {
      // varint: first timestamp, zig-zag signed
      this.#uvarint(tMs >= 0 ? tMs * 2 : -tMs * 2 - 1);
      this.#bits(valueHi >>> 0, 32); // 64 bits: first value, high half
      this.#bits(valueLo >>> 0, 32); // low half
      this.#minTimeMs = tMs;
    } else if (n === 1) {
      const tDelta = tMs - this.#t;
      if (tDelta < 0) throw new RangeError(`samples out of order: ${tMs} after ${this.#t}`);
      this.#uvarint(tDelta); // uvarint: timestamp delta to sample 0
      this.#value(valueHi, valueLo);
      this.#tDelta = tDelta;
    } else {
      const tDelta = tMs - this.#t;
      if (tDelta < 0) throw new RangeError(`samples out of order: ${tMs} after ${this.#t}`);
      const dod = tDelta - this.#tDelta;
      if (dod === 0) this.#bits(0, 1); // 1 bit '0': delta of delta is 0
      else if (dod >= -8191 && dod <= 8192) {
        this.#bits(0b10, 2); // 2 bits '10': 14-bit bucket
        this.#bits(dod & 0x3fff, 14); // 14 bits: delta of delta
      } else if (dod >= -65535 && dod <= 65536) {
        this.#bits(0b110, 3); // 3 bits '110': 17-bit bucket
        this.#bits(dod & 0x1ffff, 17); // 17 bits: delta of delta
      } else if (dod >= -524287 && dod <= 524288) {
        this.#bits(0b1110, 4); // 4 bits '1110': 20-bit bucket
        this.#bits(dod & 0xfffff, 20); // 20 bits: delta of delta
      } else {
        this.#bits(0b1111, 4); // 4 bits '1111': 64-bit delta of delta
        const hi = Math.floor(dod / TWO_32);
        this.#bits(hi >>> 0, 32); // 32 bits: high half, two's complement
        this.#bits((dod - hi * TWO_32) >>> 0, 32); // 32 bits: low half
      }
      this.#value(valueHi, valueLo);
      this.#tDelta = tDelta;
    }
    this.#t = tMs;
    this.#vHi = valueHi;
    this.#vLo = valueLo;
    this.#count = n + 1;
    this.#buf[0] = (n + 1) >>> 8; // 2 bytes: sample count, big-endian
    this.#buf[1] = (n + 1) & 0xff;
  }

  /** Appends sample `i` of columns `timestampsMs` / `values` (value bits read exactly through `view`). */
  appendFrom(timestampsMs: ArrayLike<number>, view: DataView, i: number): void {
    const at = i * 8;
    this.append(timestampsMs[i], view.getUint32(at + 4, true), view.getUint32(at, true));
  }

  #value(hi: number, lo: number): void {
    const dHi = (hi ^ this.#vHi) >>> 0;
    const dLo = (lo ^ this.#vLo) >>> 0;
    if (dHi === 0 && dLo === 0) {
      this.#bits(0, 1); // 1 bit '0': same value
      return;
    }
    this.#bits(1, 1); // 1 bit '1': value changed
    let leading = dHi !== 0 ? Math.clz32(dHi) : 32 + Math.clz32(dLo);
    const trailing = dLo !== 0 ? ctz32(dLo) : 32 + ctz32(dHi);
    if (leading >= 32) leading = 31; // the 5-bit field holds at most 31
    let t: number;
    let sig: number;
    if (this.#leading !== 0xff && leading >= this.#leading && trailing >= this.#trailing) {
      this.#bits(0, 1); // 1 bit '0': reuse the previous window
      t = this.#trailing;
      sig = 64 - this.#leading - t;
    } else {
      this.#leading = leading;
      this.#trailing = trailing;
      sig = 64 - leading - trailing;
      t = trailing;
      this.#bits(1, 1); // 1 bit '1': new window
      this.#bits(leading, 5); // 5 bits: leading zeros
      this.#bits(sig & 63, 6); // 6 bits: meaningful bits (64 as 0)
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
    if (sig > 32) {
      this.#bits(sHi, sig - 32);
      this.#bits(sLo, 32);
      this.#lastByteWrite = (sig & 7) === 0; // one field of `sig` bits, as Prometheus writes it
    } else this.#bits(sLo, sig);
  }

  /** The chunk bytes (a view, valid until the next append or reset). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.sizeBytes);
  }
}

/** Decoded samples of one chunk. */
export interface DecodedChunk {
  /** Timestamps, ms. */
  timestampsMs: number[];
  /** Values with exact bits. */
  values: Float64Array;
}

class BitReader {
  pos: number; // bit position
  readonly end: number; // in bits
  constructor(readonly buf: Uint8Array, startBit: number) {
    this.pos = startBit;
    this.end = buf.length * 8;
  }

  bits(n: number): number {
    if (this.pos + n > this.end) throw new RangeError("XOR chunk is truncated");
    let v = 0;
    let pos = this.pos;
    while (n > 0) {
      const avail = 8 - (pos & 7);
      const take = avail < n ? avail : n;
      const piece = (this.buf[pos >>> 3] >>> (avail - take)) & ((1 << take) - 1);
      v = v * (1 << take) + piece; // multiplication keeps 32 unsigned bits exact
      pos += take;
      n -= take;
    }
    this.pos = pos;
    return v;
  }

  uvarint(): number {
    let n = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.bits(8);
      n += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return n;
    }
    throw new RangeError("XOR chunk has a varint longer than 10 bytes");
  }
}

/** Decodes an XOR chunk (for tests and clients). Throws `RangeError` on a truncated chunk. */
export function decodeXorChunk(chunk: Uint8Array): DecodedChunk {
  if (chunk.length < 2) throw new RangeError("XOR chunk shorter than its 2-byte header");
  const count = (chunk[0] << 8) | chunk[1];
  const r = new BitReader(chunk, 16);
  const timestampsMs = new Array<number>(count);
  const values = new Float64Array(count);
  const out = new DataView(values.buffer);
  let t = 0;
  let tDelta = 0;
  let hi = 0;
  let lo = 0;
  let leading = 0;
  let trailing = 0;
  for (let i = 0; i < count; i++) {
    if (i === 0) {
      const z = r.uvarint();
      t = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      hi = r.bits(32);
      lo = r.bits(32);
    } else {
      if (i === 1) tDelta = r.uvarint();
      else {
        // prefix '0', '10', '110', '1110' or '1111': the size of the delta-of-delta bucket
        let ones = 0;
        while (ones < 4 && r.bits(1) === 1) ones++;
        let dod: number;
        if (ones === 0) dod = 0;
        else if (ones < 4) {
          const size = DOD_BUCKET_BITS[ones];
          dod = signExtend(r.bits(size), size);
        } else {
          const dHi = r.bits(32);
          dod = (dHi | 0) * TWO_32 + r.bits(32);
        }
        tDelta += dod;
      }
      t += tDelta;
      if (r.bits(1) === 1) {
        if (r.bits(1) === 1) {
          leading = r.bits(5);
          let sig = r.bits(6);
          if (sig === 0) sig = 64;
          trailing = 64 - leading - sig;
        }
        const sig = 64 - leading - trailing;
        let sHi = 0;
        let sLo: number;
        if (sig > 32) {
          sHi = r.bits(sig - 32);
          sLo = r.bits(32);
        } else sLo = r.bits(sig);
        // delta = meaningful bits << trailing
        let dHi: number;
        let dLo: number;
        if (trailing >= 32) {
          dHi = sLo << (trailing - 32);
          dLo = 0;
        } else if (trailing > 0) {
          dHi = (sHi << trailing) | (sLo >>> (32 - trailing));
          dLo = sLo << trailing;
        } else {
          dHi = sHi;
          dLo = sLo;
        }
        hi = (hi ^ dHi) >>> 0;
        lo = (lo ^ dLo) >>> 0;
      }
    }
    timestampsMs[i] = t;
    out.setUint32(i * 8 + 4, hi, true);
    out.setUint32(i * 8, lo, true);
  }
  return { timestampsMs, values };
}

/** Bits of the delta-of-delta after a prefix of 1, 2 or 3 one-bits. */
const DOD_BUCKET_BITS = [0, 14, 17, 20];

function signExtend(bits: number, n: number): number {
  return bits > 1 << (n - 1) ? bits - (1 << n) : bits;
}
