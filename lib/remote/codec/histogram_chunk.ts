/**
 * Prometheus' native histogram chunks, as remote read's STREAMED_XOR_CHUNKS carries them:
 * integer histograms (`tsdb/chunkenc/histogram.go`, `Chunk.Encoding` HISTOGRAM = 2), checked byte
 * for byte against the chunks a real Prometheus 2.42 streams
 * (`tests/peers/histogram_chunk_peer_test.ts`), and float histograms (`float_histogram.go`,
 * FLOAT_HISTOGRAM = 3; Prometheus 2.42 has none to compare with, so written from the format
 * description only).
 *
 * Layout of a chunk:
 * - 2 bytes, big-endian: number of samples; 1 byte: counter reset header in its top 2 bits
 *   (`00` unknown, `10` counter reset, `01` not a counter reset, `11` gauge histogram).
 * - Layout, once: zero threshold (1 byte: 0 → 0; 1…254 → 2^(byte−243−1); 255 → 8 raw bytes
 *   follow), schema (varbit int), positive then negative spans (varbit uint count, then each
 *   span's length as varbit uint and offset as varbit int), custom bounds for schema −53
 *   (varbit uint count, then each bound: varbit uint of bound × 1000 + 1 when that is a whole
 *   number ≤ 33554430, else a `0` bit and 64 raw bits).
 * - Sample 0: timestamp (varbit int), count and zero count (varbit uint), sum (64 raw bits),
 *   each bucket's delta (varbit int).
 * - Sample n ≥ 1: delta-of-delta of timestamp, count and zero count (varbit int), sum XOR-coded,
 *   then each bucket's delta-of-delta (varbit int) — no buckets for a stale histogram.
 * - Float histograms: sample 0 has timestamp (varbit int), then count, zero count, sum and each
 *   bucket's absolute count as 64 raw bits; later samples the timestamp's delta-of-delta, then
 *   each of those values XOR-coded against its own previous value (no buckets when stale).
 * - Varbit: `0` → 0, else a prefix of 1…8 ones ended by a zero (except the eighth) choosing 3, 6,
 *   9, 12, 18, 25, 56 or 64 bits of value.
 *
 * All histograms of a chunk share its layout: the encoder starts a new chunk when the layout, the
 * kind (gauge or counter) changes, a counter goes down, or after a stale histogram.
 *
 * @module
 */
import {
  CUSTOM_BUCKETS_SCHEMA,
  emptyHistogram,
  type NativeHistogram,
} from "../../model/histogram.ts";
import {
  type ExactValue,
  exactValueFromHex,
  hexOfWords,
  isStaleNaN,
  writeExactValue,
} from "../../model/value.ts";
import { BitReader, BitWriter, XorValueReader, XorValueWriter } from "./bit_stream.ts";

/** `Chunk.Encoding` of integer histogram chunks. */
export const CHUNK_ENCODING_HISTOGRAM = 2;
/** `Chunk.Encoding` of float histogram chunks. */
export const CHUNK_ENCODING_FLOAT_HISTOGRAM = 3;
/** Histograms per chunk at most (as Prometheus cuts head chunks). */
export const HISTOGRAMS_PER_CHUNK = 120;

const HEADER_BYTES = 3;
/** Counter reset header by reset hint number (unknown, yes, no, gauge). */
const HEADER_OF_HINT = [0x00, 0x80, 0x40, 0xc0];
const HINT_GAUGE = 3;
const HINT_RESET = 1;

const scratch = new DataView(new ArrayBuffer(8));

function words(v: ExactValue): [number, number] {
  writeExactValue(scratch, 0, v.value, v.nanBits, false);
  return [scratch.getUint32(0, false), scratch.getUint32(4, false)];
}

function sameSpans(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameBits(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const ub = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

function floatWords(values: Float64Array, i: number): [number, number] {
  const v = new DataView(values.buffer, values.byteOffset, values.byteLength);
  return [v.getUint32(i * 8 + 4, true), v.getUint32(i * 8, true)];
}

/**
 * Encodes integer native histograms of one series into HISTOGRAM chunks. Call
 * {@linkcode canAppend} first; when it says no, take {@linkcode bytes} and {@linkcode reset}.
 */
export class HistogramChunkEncoder {
  #w = new BitWriter(HEADER_BYTES);
  #sum = new XorValueWriter();
  #count = 0;
  #first: NativeHistogram = emptyHistogram();
  #last: NativeHistogram = emptyHistogram();
  #lastStale = false;
  #t = 0;
  #tDelta = 0;
  #cnt = 0;
  #cntDelta = 0;
  #zc = 0;
  #zcDelta = 0;
  #buckets: number[] = []; // per bucket of the layout: positive then negative deltas
  #bucketDeltas: number[] = [];
  #floatValues: XorValueWriter[] = []; // float chunks: count, zero count, then each bucket
  #minTimeMs = 0;

  /** Starts a new, empty chunk. */
  reset(): void {
    this.#w.reset();
    this.#count = 0;
  }

  /** `Chunk.Encoding` of the chunk: float or integer histograms. */
  get encoding(): number {
    return this.#first.isFloat ? CHUNK_ENCODING_FLOAT_HISTOGRAM : CHUNK_ENCODING_HISTOGRAM;
  }

  /** Histograms in the chunk. */
  get count(): number {
    return this.#count;
  }

  /** Timestamp of the first histogram (ms). */
  get minTimeMs(): number {
    return this.#minTimeMs;
  }

  /** Timestamp of the last histogram (ms). */
  get maxTimeMs(): number {
    return this.#t;
  }

  /** Whether `h` may be appended to this chunk (always true for an empty chunk). */
  canAppend(h: NativeHistogram): boolean {
    if (this.#count === 0) return true;
    if (h.isFloat !== this.#first.isFloat) return false;
    if (this.#count >= HISTOGRAMS_PER_CHUNK || h.timestampMs < this.#t) return false;
    const gaugeChunk = this.#first.resetHint === HINT_GAUGE;
    if (gaugeChunk !== (h.resetHint === HINT_GAUGE)) return false;
    if (!gaugeChunk && h.resetHint === HINT_RESET) return false;
    if (isStaleNaN(h.sum)) return true; // a stale marker carries no buckets
    if (this.#lastStale) return false;
    const f = this.#first;
    if (
      h.schema !== f.schema || hexOfWords(...words(h.zeroThreshold)) !==
        hexOfWords(...words(f.zeroThreshold)) ||
      !sameSpans(h.positiveSpans, f.positiveSpans) ||
      !sameSpans(h.negativeSpans, f.negativeSpans) || !sameBits(h.customValues, f.customValues)
    ) return false;
    if (gaugeChunk) return true;
    // a counter histogram going down starts a chunk (its header then says so)
    const last = this.#last;
    if (h.count.value < last.count.value || h.zeroCount.value < last.zeroCount.value) return false;
    if (h.isFloat) {
      for (const side of ["positiveCounts", "negativeCounts"] as const) {
        for (let i = 0; i < h[side].length; i++) if (h[side][i] < last[side][i]) return false;
      }
      return true;
    }
    for (const side of ["positiveDeltas", "negativeDeltas"] as const) {
      let a = 0;
      let b = 0;
      for (let i = 0; i < h[side].length; i++) {
        a += last[side][i];
        b += h[side][i];
        if (b < a) return false;
      }
    }
    return true;
  }

  /** Appends `h` (check {@linkcode canAppend} first). */
  append(h: NativeHistogram): void {
    const w = this.#w;
    const stale = isStaleNaN(h.sum);
    const [sHi, sLo] = words(h.sum);
    const t = h.timestampMs;
    if (this.#count === 0) {
      this.#first = h;
      this.#minTimeMs = t;
      w.buffer[2] = HEADER_OF_HINT[h.resetHint] ?? 0; // 1 byte: counter reset header
      const layout = stale ? { ...emptyHistogram(), isFloat: h.isFloat } : h;
      this.#layout(layout);
      w.varbitInt(t); // varbit int: timestamp
      this.#tDelta = 0;
      if (h.isFloat) this.#firstFloat(layout, h.sum);
    }
    if (h.isFloat) {
      if (this.#count > 0) this.#nextFloat(h, stale);
    } else if (this.#count === 0) {
      const layout = stale ? emptyHistogram() : h;
      w.varbitUint(stale ? 0 : h.count.value); // varbit uint: count
      w.varbitUint(stale ? 0 : h.zeroCount.value); // varbit uint: zero count
      w.wide(sHi, sLo, 64); // 64 bits: sum
      this.#sum.reset(sHi, sLo);
      this.#buckets = stale ? [] : [...layout.positiveDeltas, ...layout.negativeDeltas];
      for (const b of this.#buckets) w.varbitInt(b); // varbit int: each bucket delta
      this.#bucketDeltas = new Array(this.#buckets.length).fill(0);
      this.#cnt = stale ? 0 : h.count.value;
      this.#zc = stale ? 0 : h.zeroCount.value;
      this.#cntDelta = 0;
      this.#zcDelta = 0;
    } else {
      const tDelta = t - this.#t;
      w.varbitInt(tDelta - this.#tDelta); // varbit int: timestamp delta-of-delta
      this.#tDelta = tDelta;
      if (stale) {
        w.varbitInt(0); // varbit int: count delta-of-delta (0 for a stale marker)
        w.varbitInt(0); // varbit int: zero count delta-of-delta
        this.#sum.write(w, sHi, sLo); // XOR: sum
      } else {
        const cntDelta = h.count.value - this.#cnt;
        const zcDelta = h.zeroCount.value - this.#zc;
        w.varbitInt(cntDelta - this.#cntDelta); // varbit int: count delta-of-delta
        w.varbitInt(zcDelta - this.#zcDelta); // varbit int: zero count delta-of-delta
        this.#sum.write(w, sHi, sLo); // XOR: sum
        this.#cnt = h.count.value;
        this.#zc = h.zeroCount.value;
        this.#cntDelta = cntDelta;
        this.#zcDelta = zcDelta;
        const np = h.positiveDeltas.length;
        for (let i = 0; i < this.#buckets.length; i++) {
          const b = i < np ? h.positiveDeltas[i] : h.negativeDeltas[i - np];
          const delta = b - this.#buckets[i];
          w.varbitInt(delta - this.#bucketDeltas[i]); // varbit int: bucket delta-of-delta
          this.#bucketDeltas[i] = delta;
          this.#buckets[i] = b;
        }
      }
    }
    this.#t = t;
    if (!stale) this.#last = h;
    this.#lastStale = stale;
    this.#count++;
    w.buffer[0] = this.#count >>> 8; // 2 bytes: number of samples, big-endian
    w.buffer[1] = this.#count & 0xff;
  }

  #firstFloat(h: NativeHistogram, sum: ExactValue): void {
    const w = this.#w;
    const values: [number, number][] = [words(h.count), words(h.zeroCount)];
    for (let i = 0; i < h.positiveCounts.length; i++) values.push(floatWords(h.positiveCounts, i));
    for (let i = 0; i < h.negativeCounts.length; i++) values.push(floatWords(h.negativeCounts, i));
    const [sHi, sLo] = words(sum);
    this.#floatValues = values.map(([hi, lo]) => {
      const x = new XorValueWriter();
      x.reset(hi, lo);
      return x;
    });
    w.wide(values[0][0], values[0][1], 64); // 64 bits: count
    w.wide(values[1][0], values[1][1], 64); // 64 bits: zero count
    w.wide(sHi, sLo, 64); // 64 bits: sum
    this.#sum.reset(sHi, sLo);
    // 64 bits each: bucket counts, positive then negative
    for (let i = 2; i < values.length; i++) w.wide(values[i][0], values[i][1], 64);
  }

  #nextFloat(h: NativeHistogram, stale: boolean): void {
    const w = this.#w;
    const tDelta = h.timestampMs - this.#t;
    w.varbitInt(tDelta - this.#tDelta); // varbit int: timestamp delta-of-delta
    this.#tDelta = tDelta;
    const [cHi, cLo] = words(h.count);
    const [zHi, zLo] = words(h.zeroCount);
    const [sHi, sLo] = words(h.sum);
    this.#floatValues[0].write(w, cHi, cLo); // XOR: count
    this.#floatValues[1].write(w, zHi, zLo); // XOR: zero count
    this.#sum.write(w, sHi, sLo); // XOR: sum
    if (stale) return; // a stale marker carries no buckets
    const np = h.positiveCounts.length;
    for (let i = 2; i < this.#floatValues.length; i++) {
      const [hi, lo] = i - 2 < np
        ? floatWords(h.positiveCounts, i - 2)
        : floatWords(h.negativeCounts, i - 2 - np);
      this.#floatValues[i].write(w, hi, lo); // XOR: bucket count
    }
  }

  #layout(h: NativeHistogram): void {
    const w = this.#w;
    const [zHi, zLo] = words(h.zeroThreshold);
    const zt = h.zeroThreshold.value;
    // 1 byte: zero threshold (0, a power of two 2^-243…2^10 as its exponent, or 255 + 8 bytes)
    if (zt === 0 && zHi === 0 && zLo === 0) w.bits(0, 8);
    else {
      const exp = Math.floor(Math.log2(zt)) + 1; // frexp: zt = 0.5 × 2^exp
      if (zt > 0 && 2 ** (exp - 1) === zt && exp >= -242 && exp <= 11) w.bits(exp + 243, 8);
      else {
        w.bits(255, 8);
        w.wide(zHi, zLo, 64); // 64 bits: zero threshold
      }
    }
    w.varbitInt(h.schema); // varbit int: schema
    for (const spans of [h.positiveSpans, h.negativeSpans]) {
      w.varbitUint(spans.length / 2); // varbit uint: number of spans
      for (let i = 0; i < spans.length; i += 2) {
        w.varbitUint(spans[i + 1]); // varbit uint: span length
        w.varbitInt(spans[i]); // varbit int: span offset
      }
    }
    if (h.schema === CUSTOM_BUCKETS_SCHEMA) {
      w.varbitUint(h.customValues.length); // varbit uint: number of custom bounds
      for (const bound of h.customValues) {
        const thousandths = bound * 1000;
        const whole = Math.round(thousandths);
        if (thousandths >= 0 && thousandths <= 33554430 && whole / 1000 === bound) {
          w.varbitUint(whole + 1); // varbit uint: bound × 1000 + 1
        } else {
          const [hi, lo] = words({ value: bound });
          w.bits(0, 1); // 1 bit '0': raw bound follows
          w.wide(hi, lo, 64); // 64 bits: bound
        }
      }
    }
  }

  /** The chunk bytes (a view, valid until the next append or reset). */
  bytes(): Uint8Array {
    return this.#w.bytes();
  }
}

/**
 * Decodes a HISTOGRAM (or, with `encoding` 3, FLOAT_HISTOGRAM) chunk into native histograms.
 * Throws `RangeError` on a malformed chunk.
 */
export function decodeHistogramChunk(
  chunk: Uint8Array,
  encoding = CHUNK_ENCODING_HISTOGRAM,
): NativeHistogram[] {
  if (chunk.length < HEADER_BYTES) throw new RangeError("histogram chunk shorter than its header");
  const isFloat = encoding === CHUNK_ENCODING_FLOAT_HISTOGRAM;
  const total = (chunk[0] << 8) | chunk[1];
  const header = chunk[2] & 0xc0;
  const r = new BitReader(chunk, HEADER_BYTES * 8, "histogram chunk");
  const out: NativeHistogram[] = [];
  if (total === 0) return out;
  // layout
  const zByte = r.byte();
  let zeroThreshold: ExactValue = { value: 0 };
  if (zByte === 255) zeroThreshold = exactValueFromHex(hexOfWords(r.bits(32), r.bits(32)));
  else if (zByte !== 0) zeroThreshold = { value: 2 ** (zByte - 243 - 1) };
  const schema = r.varbitInt();
  const spans: number[][] = [];
  for (let side = 0; side < 2; side++) {
    const n = r.varbitUint();
    if (n > chunk.length * 8) {
      throw new RangeError("histogram chunk claims more spans than it holds");
    }
    const s: number[] = [];
    for (let i = 0; i < n; i++) {
      const length = r.varbitUint();
      s.push(r.varbitInt(), length);
    }
    spans.push(s);
  }
  let customValues = new Float64Array(0);
  if (schema === CUSTOM_BUCKETS_SCHEMA) {
    const n = r.varbitUint();
    if (n > chunk.length * 8) {
      throw new RangeError("histogram chunk claims more bounds than it holds");
    }
    customValues = new Float64Array(n);
    const view = new DataView(customValues.buffer);
    for (let i = 0; i < n; i++) {
      const v = r.varbitUint();
      if (v === 0) {
        view.setUint32(i * 8, r.bits(32), false);
        view.setUint32(i * 8 + 4, r.bits(32), false);
      } else customValues[i] = (v - 1) / 1000;
    }
  }
  const count = (side: number[]) => {
    let n = 0;
    for (let i = 1; i < side.length; i += 2) n += side[i];
    return n;
  };
  const np = count(spans[0]);
  const nb = np + count(spans[1]);
  if (nb > chunk.length * 8) {
    throw new RangeError("histogram chunk claims more buckets than it holds");
  }
  const buckets = new Array<number>(nb).fill(0);
  const bucketDeltas = new Array<number>(nb).fill(0);
  // float chunks: count, zero count, then each bucket, each XOR-coded on its own
  const floats = isFloat ? Array.from({ length: nb + 2 }, () => new XorValueReader()) : [];
  const floatBits = new Uint32Array((nb + 2) * 2);
  const sumReader = new XorValueReader();
  let t = 0;
  let tDelta = 0;
  let cnt = 0;
  let cntDelta = 0;
  let zc = 0;
  let zcDelta = 0;
  const sum: [number, number] = [0, 0];
  const pair: [number, number] = [0, 0];
  for (let i = 0; i < total; i++) {
    if (i === 0) t = r.varbitInt();
    else {
      tDelta += r.varbitInt();
      t += tDelta;
    }
    const h = emptyHistogram(t);
    h.isFloat = isFloat;
    let stale: boolean;
    if (isFloat) {
      for (let v = 0; v < 3; v++) { // count, zero count, sum
        const reader = v === 2 ? sumReader : floats[v];
        if (i === 0) {
          pair[0] = r.bits(32);
          pair[1] = r.bits(32);
          reader.start(pair[0], pair[1]);
        } else reader.read(r, pair);
        if (v === 2) [sum[0], sum[1]] = pair;
        else [floatBits[v * 2], floatBits[v * 2 + 1]] = pair;
      }
      h.sum = exactValueFromHex(hexOfWords(sum[0], sum[1]));
      stale = isStaleNaN(h.sum);
      if (!stale || i === 0) {
        for (let b = 2; b < nb + 2; b++) {
          if (i === 0) {
            pair[0] = r.bits(32);
            pair[1] = r.bits(32);
            floats[b].start(pair[0], pair[1]);
          } else floats[b].read(r, pair);
          floatBits[b * 2] = pair[0];
          floatBits[b * 2 + 1] = pair[1];
        }
      }
    } else {
      if (i === 0) {
        cnt = r.varbitUint();
        zc = r.varbitUint();
        sum[0] = r.bits(32);
        sum[1] = r.bits(32);
        sumReader.start(sum[0], sum[1]);
        for (let b = 0; b < nb; b++) buckets[b] = r.varbitInt();
      } else {
        cntDelta += r.varbitInt();
        cnt += cntDelta;
        zcDelta += r.varbitInt();
        zc += zcDelta;
        sumReader.read(r, sum);
      }
      h.sum = exactValueFromHex(hexOfWords(sum[0], sum[1]));
      stale = isStaleNaN(h.sum);
      if (i > 0 && !stale) {
        for (let b = 0; b < nb; b++) {
          bucketDeltas[b] += r.varbitInt();
          buckets[b] += bucketDeltas[b];
        }
      }
    }
    if (stale) {
      out.push(h);
      continue;
    }
    h.resetHint = header === 0xc0 ? HINT_GAUGE : i > 0 ? 2 : header === 0x80 ? HINT_RESET : 0;
    h.schema = schema;
    h.zeroThreshold = zeroThreshold;
    h.positiveSpans = spans[0].slice();
    h.negativeSpans = spans[1].slice();
    h.customValues = customValues;
    if (isFloat) {
      h.count = exactValueFromHex(hexOfWords(floatBits[0], floatBits[1]));
      h.zeroCount = exactValueFromHex(hexOfWords(floatBits[2], floatBits[3]));
      const counts = new Float64Array(nb);
      const view = new DataView(counts.buffer);
      for (let b = 0; b < nb; b++) {
        view.setUint32(b * 8 + 4, floatBits[(b + 2) * 2], true);
        view.setUint32(b * 8, floatBits[(b + 2) * 2 + 1], true);
      }
      h.positiveCounts = counts.slice(0, np);
      h.negativeCounts = counts.slice(np);
    } else {
      h.count = { value: cnt };
      h.zeroCount = { value: zc };
      h.positiveDeltas = buckets.slice(0, np);
      h.negativeDeltas = buckets.slice(np);
    }
    out.push(h);
  }
  return out;
}
