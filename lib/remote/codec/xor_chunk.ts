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

import { BitReader, BitWriter, XorValueReader, XorValueWriter } from "./bit_stream.ts";

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
const HEADER_BYTES = 2;

/**
 * Encodes samples into one XOR chunk. Reuse an encoder across chunks with {@linkcode reset}; the
 * buffer grows once to the largest chunk and is kept.
 */
export class XorChunkEncoder {
  #w: BitWriter;
  #value = new XorValueWriter();
  #count = 0;
  #t = 0;
  #tDelta = 0;
  #minTimeMs = 0;

  /** An encoder with room for `initialBytes` (grows when needed). */
  constructor(initialBytes = HEADER_BYTES + SAMPLES_PER_CHUNK * MAX_BYTES_PER_APPEND) {
    this.#w = new BitWriter(HEADER_BYTES, initialBytes);
  }

  /** Starts a new, empty chunk. */
  reset(): void {
    this.#w.reset();
    this.#count = 0;
  }

  /** Samples in the chunk. */
  get count(): number {
    return this.#count;
  }

  /** Current size of the chunk in bytes. */
  get sizeBytes(): number {
    return this.#w.sizeBytes;
  }

  /** Timestamp of the first sample (ms). */
  get minTimeMs(): number {
    return this.#minTimeMs;
  }

  /** Timestamp of the last sample (ms). */
  get maxTimeMs(): number {
    return this.#t;
  }

  #uvarint(n: number): void {
    while (n >= 128) {
      this.#w.bits((n % 128) | 0x80, 8);
      n = Math.floor(n / 128);
    }
    this.#w.bits(n, 8);
  }

  /**
   * Appends a sample: timestamp `tMs` (integer ms, not before the previous one) and the value
   * whose IEEE-754 bits are `valueHi`:`valueLo` (see {@linkcode appendFrom} for typed arrays).
   */
  append(tMs: number, valueHi: number, valueLo: number): void {
    const w = this.#w;
    const n = this.#count;
    if (n === 0) {
      // varint: first timestamp, zig-zag signed
      this.#uvarint(tMs >= 0 ? tMs * 2 : -tMs * 2 - 1);
      w.bits(valueHi >>> 0, 32); // 64 bits: first value, high half
      w.bits(valueLo >>> 0, 32); // low half
      this.#value.reset(valueHi, valueLo);
      this.#minTimeMs = tMs;
    } else if (n === 1) {
      const tDelta = tMs - this.#t;
      if (tDelta < 0) throw new RangeError(`samples out of order: ${tMs} after ${this.#t}`);
      this.#uvarint(tDelta); // uvarint: timestamp delta to sample 0
      this.#value.write(w, valueHi, valueLo); // XOR: value
      this.#tDelta = tDelta;
    } else {
      const tDelta = tMs - this.#t;
      if (tDelta < 0) throw new RangeError(`samples out of order: ${tMs} after ${this.#t}`);
      const dod = tDelta - this.#tDelta;
      if (dod === 0) w.bits(0, 1); // 1 bit '0': delta of delta is 0
      else if (dod >= -8191 && dod <= 8192) {
        w.bits(0b10, 2); // 2 bits '10': 14-bit bucket
        w.bits(dod & 0x3fff, 14); // 14 bits: delta of delta
      } else if (dod >= -65535 && dod <= 65536) {
        w.bits(0b110, 3); // 3 bits '110': 17-bit bucket
        w.bits(dod & 0x1ffff, 17); // 17 bits: delta of delta
      } else if (dod >= -524287 && dod <= 524288) {
        w.bits(0b1110, 4); // 4 bits '1110': 20-bit bucket
        w.bits(dod & 0xfffff, 20); // 20 bits: delta of delta
      } else {
        w.bits(0b1111, 4); // 4 bits '1111': 64-bit delta of delta
        const hi = Math.floor(dod / TWO_32);
        w.bits(hi >>> 0, 32); // 32 bits: high half, two's complement
        w.bits((dod - hi * TWO_32) >>> 0, 32); // 32 bits: low half
      }
      this.#value.write(w, valueHi, valueLo); // XOR: value
      this.#tDelta = tDelta;
    }
    this.#t = tMs;
    this.#count = n + 1;
    w.buffer[0] = (n + 1) >>> 8; // 2 bytes: sample count, big-endian
    w.buffer[1] = (n + 1) & 0xff;
  }

  /** Appends sample `i` of columns `timestampsMs` / `values` (value bits read exactly through `view`). */
  appendFrom(timestampsMs: ArrayLike<number>, view: DataView, i: number): void {
    const at = i * 8;
    this.append(timestampsMs[i], view.getUint32(at + 4, true), view.getUint32(at, true));
  }

  /** The chunk bytes (a view, valid until the next append or reset). */
  bytes(): Uint8Array {
    return this.#w.bytes();
  }
}

/** Decoded samples of one chunk. */
export interface DecodedChunk {
  /** Timestamps, ms. */
  timestampsMs: number[];
  /** Values with exact bits. */
  values: Float64Array;
}

function uvarint(r: BitReader): number {
  let n = 0;
  for (let i = 0; i < 10; i++) {
    const b = r.bits(8);
    n += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return n;
  }
  throw new RangeError("XOR chunk has a varint longer than 10 bytes");
}

/** Bits of the delta-of-delta after a prefix of 1, 2 or 3 one-bits. */
const DOD_BUCKET_BITS = [0, 14, 17, 20];

function signExtend(bits: number, n: number): number {
  return bits > 1 << (n - 1) ? bits - (1 << n) : bits;
}

/** Decodes an XOR chunk (for tests and clients). Throws `RangeError` on a truncated chunk. */
export function decodeXorChunk(chunk: Uint8Array): DecodedChunk {
  if (chunk.length < 2) throw new RangeError("XOR chunk shorter than its 2-byte header");
  const count = (chunk[0] << 8) | chunk[1];
  const r = new BitReader(chunk, HEADER_BYTES * 8, "XOR chunk");
  const xor = new XorValueReader();
  const timestampsMs = new Array<number>(count);
  const values = new Float64Array(count);
  const out = new DataView(values.buffer);
  const value: [number, number] = [0, 0];
  let t = 0;
  let tDelta = 0;
  for (let i = 0; i < count; i++) {
    if (i === 0) {
      const z = uvarint(r);
      t = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      value[0] = r.bits(32);
      value[1] = r.bits(32);
      xor.start(value[0], value[1]);
    } else {
      if (i === 1) tDelta = uvarint(r);
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
      xor.read(r, value);
    }
    timestampsMs[i] = t;
    out.setUint32(i * 8 + 4, value[0], true);
    out.setUint32(i * 8, value[1], true);
  }
  return { timestampsMs, values };
}
