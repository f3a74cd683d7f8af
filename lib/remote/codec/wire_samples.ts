/**
 * The samples of one series already in remote-read wire form: the concatenated
 * `TimeSeries.samples` fields (`repeated Sample samples = 2`) of a SAMPLES ReadResponse, with
 * enough structure to cut a time range out of them without re-encoding.
 *
 * Each sample is `0x12 · len · 0x09 · value (8 bytes, little-endian, exact bits) · 0x10 ·
 * timestamp varint`; `len` ≤ 20, so it is always one byte and the timestamp varint of sample `i`
 * starts 12 bytes after the sample. Timestamps of today's epoch milliseconds all take 6 varint
 * bytes, so samples have one common length (the stride) and no offset table is needed; otherwise
 * an offset table (4 bytes a sample) is kept.
 *
 * {@linkcode WireSamplesBuilder} encodes decoded blocks (dropping repeated timestamps, keeping
 * the first, as Prometheus' TSDB does); {@linkcode WireSamples} finds a time range by binary
 * search and hands back a subarray, or decodes it back into columns (for the streamed response).
 *
 * @module
 */
import { putSampleHead } from "./write_request.ts";

const TWO_32 = 2 ** 32;
/** Bytes from the start of a sample to its timestamp varint: key, length, key, 8 value bytes, key. */
const TS_OFFSET = 12;
/** Bytes from the start of a sample to its value. */
const VALUE_OFFSET = 3;
/** Bytes of a sample whose timestamp takes 6 varint bytes (2^35 ≤ t < 2^42). */
const STRIDE_6 = 18;
const TWO_35 = 2 ** 35;
const TWO_42 = 2 ** 42;
/** Largest encoded sample: 2 + 1 + 8 + 1 + 10. */
const MAX_SAMPLE_BYTES = 22;

/** Bytes the timestamp varint of `t` takes (10 for negatives: int64 two's complement). */
function tsVarintLength(t: number): number {
  if (t < 0) return 10;
  let n = 1;
  while (t >= 128) {
    t = Math.floor(t / 128);
    n++;
  }
  return n;
}

/** The encoded samples of one series (see the module doc). Immutable once built. */
export class WireSamples {
  /** The concatenated sample fields. */
  readonly bytes: Uint8Array;
  /** Samples in {@linkcode bytes}. */
  readonly count: number;
  /** Bytes of every sample when they all have the same length, else 0. */
  readonly stride: number;
  /** Start of sample `i` at `offsets[i]` (`count + 1` entries) when {@linkcode stride} is 0. */
  readonly offsets: Uint32Array | undefined;

  /** Wraps encoded samples (from {@linkcode WireSamplesBuilder}). */
  constructor(bytes: Uint8Array, count: number, stride: number, offsets?: Uint32Array) {
    this.bytes = bytes;
    this.count = count;
    this.stride = stride;
    this.offsets = stride ? undefined : offsets;
  }

  /** Memory held, bytes (for cache accounting). */
  get byteSize(): number {
    const held = this.bytes.buffer.byteLength - this.bytes.byteOffset; // spare room included
    return held + (this.offsets?.byteLength ?? 0) + 64;
  }

  #spareClaimed = false;

  /**
   * The buffer from these samples on, spare room after them included, for the first caller only:
   * a builder continuing these samples writes after them in place instead of copying them. Bytes
   * of these samples are never written (views of them stay valid).
   */
  claimSpare(): Uint8Array | undefined {
    const b = this.bytes;
    if (this.#spareClaimed || b.byteOffset + b.byteLength >= b.buffer.byteLength) return undefined;
    this.#spareClaimed = true;
    return new Uint8Array(b.buffer, b.byteOffset, b.buffer.byteLength - b.byteOffset);
  }

  /** Byte offset of sample `i` (`i === count` gives the end). */
  offsetOf(i: number): number {
    return this.stride ? i * this.stride : this.offsets![i];
  }

  /** Timestamp of sample `i`, ms. */
  timestampAt(i: number): number {
    const b = this.bytes;
    let p = this.offsetOf(i) + TS_OFFSET;
    // Up to 7 bytes (< 2^49) exactly with floating arithmetic; longer ones are negatives.
    let n = 0;
    let mul = 1;
    for (let k = 0; k < 7; k++) {
      const x = b[p++];
      n += (x & 0x7f) * mul;
      if (x < 0x80) return n;
      mul *= 128;
    }
    return readInt64Slow(b, this.offsetOf(i) + TS_OFFSET);
  }

  /** `[from, to)`: the samples with timestamps in `[startMs, endMs]`. */
  indexRange(startMs: number, endMs: number): [number, number] {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestampAt(mid) < startMs) lo = mid + 1;
      else hi = mid;
    }
    const from = lo;
    hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestampAt(mid) <= endMs) lo = mid + 1;
      else hi = mid;
    }
    return [from, lo];
  }

  /** The encoded samples `[from, to)` (a view, no copy). */
  slice(from: number, to: number): Uint8Array {
    return this.bytes.subarray(this.offsetOf(from), this.offsetOf(to));
  }

  /**
   * Decodes samples `[from, from + n)` into `timestampsMs[0, n)` and `values[0, n)` (value bits
   * exact).
   */
  decodeInto(from: number, n: number, timestampsMs: Float64Array, values: Float64Array): void {
    const b = this.bytes;
    const out = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    for (let k = 0; k < n; k++) {
      const p = this.offsetOf(from + k);
      const v = p + VALUE_OFFSET;
      const o = k * 8;
      for (let j = 0; j < 8; j++) out[o + j] = b[v + j];
      timestampsMs[k] = this.timestampAt(from + k);
    }
  }
}

/** Reads a 10-byte int64 varint (two's complement) at `p`. */
function readInt64Slow(b: Uint8Array, p: number): number {
  let lo = 0;
  let hi = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    const x = b[p++];
    if (shift < 28) lo |= (x & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (x & 0x0f) << 28;
      hi |= (x & 0x7f) >>> 4;
    } else hi |= (x & 0x7f) << (shift - 32);
    if (x < 0x80) break;
    shift += 7;
  }
  return (hi | 0) * TWO_32 + (lo >>> 0);
}

/**
 * Encodes the blocks of one series, in timestamp order, into {@linkcode WireSamples}. Repeated
 * timestamps (across blocks too) are dropped, the first kept.
 */
export class WireSamplesBuilder {
  #buf: Uint8Array;
  #pos = 0;
  #count = 0;
  #stride = -1; // -1: no sample yet; 0: lengths differ
  #offsets: Uint32Array | undefined;
  #lastTs = -Infinity;

  /**
   * A builder with room for about `expectedSamples` samples and a sixteenth more (spare room for
   * later samples, see {@linkcode continuing}); it grows when needed.
   */
  constructor(expectedSamples = 256) {
    const n = Math.min(expectedSamples, 1 << 22);
    this.#buf = new Uint8Array(Math.max(64, (n + (n >> 4)) * 18));
  }

  /**
   * A builder that starts with `samples` (which it continues: later samples must have larger
   * timestamps), with room for `moreSamples` more: written in place after them when their buffer
   * has spare room no one claimed yet ({@linkcode WireSamples.claimSpare}), else after a copy.
   */
  static continuing(samples: WireSamples, moreSamples = 256): WireSamplesBuilder {
    const b = new WireSamplesBuilder(0);
    const used = samples.bytes.length;
    const spare = samples.claimSpare();
    if (spare) b.#buf = spare;
    else {
      b.#buf = new Uint8Array(used + (used >> 4) + Math.max(64, moreSamples * 18));
      b.#buf.set(samples.bytes);
    }
    b.#pos = used;
    b.#count = samples.count;
    if (samples.count > 0) {
      b.#stride = samples.stride;
      if (samples.stride === 0) {
        b.#offsets = new Uint32Array(Math.max(16, samples.count * 2 + 2));
        b.#offsets.set(samples.offsets!.subarray(0, samples.count + 1));
      }
      b.#lastTs = samples.timestampAt(samples.count - 1);
    }
    return b;
  }

  /** Samples added so far. */
  get count(): number {
    return this.#count;
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  /** Notes a sample of `len` bytes that differs from the stride so far. */
  #noteLength(len: number): void {
    if (this.#count === 0) {
      this.#stride = len;
      return;
    }
    // Lengths differ from here on: build the offset table for the samples so far.
    const offsets = new Uint32Array(Math.max(16, this.#count * 2 + 2));
    for (let i = 0; i <= this.#count; i++) offsets[i] = i * this.#stride;
    this.#offsets = offsets;
    this.#stride = 0;
  }

  /**
   * Adds samples `[from, to)` of the columns (timestamps ascending, integer ms; values read as
   * bytes so NaN payloads stay exact). Returns how many were kept.
   */
  add(timestampsMs: ArrayLike<number>, values: Float64Array, from: number, to: number): number {
    if (
      to > from && (this.#stride === STRIDE_6 || this.#stride === -1) &&
      timestampsMs[from] >= TWO_35 && timestampsMs[to - 1] < TWO_42
    ) return this.#add6(timestampsMs, values, from, to);
    const valueBytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    this.#ensure((to - from) * MAX_SAMPLE_BYTES);
    const buf = this.#buf;
    let p = this.#pos;
    let last = this.#lastTs;
    let kept = 0;
    let stride = this.#stride;
    for (let i = from; i < to; i++) {
      let t = timestampsMs[i];
      if (t <= last) continue; // a repeated timestamp: the first one stays
      last = t;
      const start = p;
      let tsLen: number;
      if (t >= 0 && t < 562949953421312) { // < 2^49: at most 7 varint bytes
        const hi = Math.floor(t / 268435456);
        tsLen = hi === 0
          ? (t < 128 ? 1 : t < 16384 ? 2 : t < 2097152 ? 3 : 4)
          : hi < 128
          ? 5
          : hi < 16384
          ? 6
          : 7;
      } else tsLen = tsVarintLength(t);
      p = putSampleHead(buf, p, tsLen, valueBytes, i * 8);
      if (t >= 0) {
        if (t < 268435456) {
          while (t >= 128) {
            buf[p++] = (t & 0x7f) | 0x80;
            t >>>= 7;
          }
          buf[p++] = t;
        } else {
          const hi = Math.floor(t / 268435456);
          const lo = t - hi * 268435456;
          buf[p++] = (lo & 0x7f) | 0x80;
          buf[p++] = ((lo >>> 7) & 0x7f) | 0x80;
          buf[p++] = ((lo >>> 14) & 0x7f) | 0x80;
          buf[p++] = ((lo >>> 21) & 0x7f) | 0x80;
          let h = hi;
          while (h >= 128) {
            buf[p++] = (h % 128) | 0x80;
            h = Math.floor(h / 128);
          }
          buf[p++] = h;
        }
      } else { // negative: 10 bytes of 64-bit two's complement
        const hiWord = Math.floor(t / TWO_32);
        let lo = (t - hiWord * TWO_32) >>> 0;
        let h = hiWord >>> 0;
        for (let k = 0; k < 9; k++) {
          buf[p++] = (lo & 0x7f) | 0x80;
          lo = (lo >>> 7) | ((h & 0x7f) << 25);
          h >>>= 7;
        }
        buf[p++] = lo & 0x01;
      }
      const len = p - start;
      if (len !== stride && stride !== 0) {
        this.#noteLength(len);
        stride = this.#stride;
      }
      if (stride === 0) {
        let offsets = this.#offsets!;
        if (offsets.length < this.#count + 2) {
          const next = new Uint32Array(offsets.length * 2);
          next.set(offsets);
          this.#offsets = offsets = next;
        }
        offsets[this.#count + 1] = p;
      }
      this.#count++;
      kept++;
    }
    this.#pos = p;
    this.#lastTs = last;
    return kept;
  }

  /**
   * {@linkcode add} for ascending timestamps in [2^35, 2^42) ms (1971 to 2109): every timestamp
   * takes 6 varint bytes, every sample 18 bytes.
   */
  #add6(timestampsMs: ArrayLike<number>, values: Float64Array, from: number, to: number): number {
    this.#ensure((to - from) * STRIDE_6);
    const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
    const buf = this.#buf;
    let p = this.#pos;
    let last = this.#lastTs;
    const before = p;
    for (let i = from; i < to; i++) {
      const t = timestampsMs[i];
      if (t <= last) continue; // a repeated timestamp: the first one stays
      last = t;
      buf[p] = 0x12; // TimeSeries 2: samples (length-delimited)
      buf[p + 1] = 16; // length: value key + 8 bytes + timestamp key + 6-byte varint
      buf[p + 2] = 0x09; // Sample 1: value (double, 64-bit)
      const lo = words[2 * i]; // 8 bytes: the value, little-endian, exact bits
      const hi = words[2 * i + 1];
      buf[p + 3] = lo;
      buf[p + 4] = lo >>> 8;
      buf[p + 5] = lo >>> 16;
      buf[p + 6] = lo >>> 24;
      buf[p + 7] = hi;
      buf[p + 8] = hi >>> 8;
      buf[p + 9] = hi >>> 16;
      buf[p + 10] = hi >>> 24;
      buf[p + 11] = 0x10; // Sample 2: timestamp (varint, 6 bytes here)
      const th = Math.floor(t / 268435456); // bits 28..41
      const tl = t - th * 268435456; // bits 0..27
      buf[p + 12] = (tl & 0x7f) | 0x80;
      buf[p + 13] = ((tl >>> 7) & 0x7f) | 0x80;
      buf[p + 14] = ((tl >>> 14) & 0x7f) | 0x80;
      buf[p + 15] = (tl >>> 21) | 0x80;
      buf[p + 16] = (th & 0x7f) | 0x80;
      buf[p + 17] = th >>> 7;
      p += STRIDE_6;
    }
    const kept = (p - before) / STRIDE_6;
    if (kept > 0 && this.#stride === -1) this.#stride = STRIDE_6;
    this.#pos = p;
    this.#count += kept;
    this.#lastTs = last;
    return kept;
  }

  /**
   * The samples added (the builder must not be used afterwards). Spare room beyond a quarter
   * of the samples is trimmed to a sixteenth.
   */
  finish(): WireSamples {
    const used = this.#pos;
    let bytes = this.#buf.subarray(0, used);
    if (this.#buf.length > used + (used >> 2) + 4096) {
      const trimmed = new Uint8Array(used + (used >> 4));
      trimmed.set(bytes);
      bytes = trimmed.subarray(0, used);
    }
    const stride = this.#stride > 0 ? this.#stride : 0;
    let offsets = this.#offsets;
    if (stride === 0) {
      offsets = offsets ? offsets.slice(0, this.#count + 1) : new Uint32Array(1);
    }
    return new WireSamples(bytes, this.#count, stride, offsets);
  }
}
