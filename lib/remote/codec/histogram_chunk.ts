/**
 * Prometheus' integer native histogram chunk (`tsdb/chunkenc/histogram.go`, `Chunk.Encoding`
 * HISTOGRAM = 2), as remote read's STREAMED_XOR_CHUNKS carries it. Written from the format
 * description and checked byte for byte against the chunks a real Prometheus 2.42 streams
 * (`tests/peers/histogram_chunk_peer_test.ts`).
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
import { BitReader, BitWriter, XorValueWriter } from "./bit_stream.ts";

/** `Chunk.Encoding` of integer histogram chunks. */
export const CHUNK_ENCODING_HISTOGRAM = 2;
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

/** Whether `h` can go into a histogram chunk at all (integer histograms only). */
export function chunkable(h: NativeHistogram): boolean {
  return !h.isFloat;
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
  #minTimeMs = 0;

  /** Starts a new, empty chunk. */
  reset(): void {
    this.#w.reset();
    this.#count = 0;
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

  /** Whether `h` may be appended to this chunk (always true for an empty chunk of an integer histogram). */
  canAppend(h: NativeHistogram): boolean {
    if (h.isFloat) return false;
    if (this.#count === 0) return true;
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
      const layout = stale ? emptyHistogram() : h;
      this.#layout(layout);
      w.varbitInt(t); // varbit int: timestamp
      w.varbitUint(stale ? 0 : h.count.value); // varbit uint: count
      w.varbitUint(stale ? 0 : h.zeroCount.value); // varbit uint: zero count
      w.wide(sHi, sLo, 64); // 64 bits: sum
      this.#sum.reset(sHi, sLo);
      this.#buckets = stale ? [] : [...layout.positiveDeltas, ...layout.negativeDeltas];
      for (const b of this.#buckets) w.varbitInt(b); // varbit int: each bucket delta
      this.#bucketDeltas = new Array(this.#buckets.length).fill(0);
      this.#tDelta = 0;
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

/** Decodes a HISTOGRAM chunk into integer native histograms. Throws `RangeError` on a malformed chunk. */
export function decodeHistogramChunk(chunk: Uint8Array): NativeHistogram[] {
  if (chunk.length < HEADER_BYTES) throw new RangeError("histogram chunk shorter than its header");
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
  let t = 0;
  let tDelta = 0;
  let cnt = 0;
  let cntDelta = 0;
  let zc = 0;
  let zcDelta = 0;
  const sum: [number, number] = [0, 0];
  for (let i = 0; i < total; i++) {
    if (i === 0) {
      t = r.varbitInt();
      cnt = r.varbitUint();
      zc = r.varbitUint();
      sum[0] = r.bits(32);
      sum[1] = r.bits(32);
      r.xorStart(sum[0], sum[1]);
      for (let b = 0; b < nb; b++) buckets[b] = r.varbitInt();
    } else {
      tDelta += r.varbitInt();
      t += tDelta;
      cntDelta += r.varbitInt();
      cnt += cntDelta;
      zcDelta += r.varbitInt();
      zc += zcDelta;
      r.xorValue(sum);
    }
    const sumValue = exactValueFromHex(hexOfWords(sum[0], sum[1]));
    const h = emptyHistogram(t);
    h.sum = sumValue;
    if (isStaleNaN(sumValue)) {
      out.push(h);
      continue;
    }
    if (i > 0) {
      for (let b = 0; b < nb; b++) {
        bucketDeltas[b] += r.varbitInt();
        buckets[b] += bucketDeltas[b];
      }
    }
    h.resetHint = header === 0xc0 ? HINT_GAUGE : i > 0 ? 2 : header === 0x80 ? HINT_RESET : 0;
    h.count = { value: cnt };
    h.zeroCount = { value: zc };
    h.schema = schema;
    h.zeroThreshold = zeroThreshold;
    h.positiveSpans = spans[0].slice();
    h.negativeSpans = spans[1].slice();
    h.positiveDeltas = buckets.slice(0, np);
    h.negativeDeltas = buckets.slice(np);
    h.customValues = customValues;
    out.push(h);
  }
  return out;
}
