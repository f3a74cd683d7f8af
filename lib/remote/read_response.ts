/**
 * Prometheus remote read `ReadResponse` (the SAMPLES response type): an incremental encoder and a
 * decoder. Values travel as their 8 wire bytes, so NaN payloads (stale markers) stay exact.
 * `read_response_test.ts` checks both against protobufjs.
 *
 * Field numbers: ReadResponse{results=1}, QueryResult{timeseries=1}, TimeSeries{labels=1, samples=2},
 * Label{name=1, value=2}, Sample{value=1 double, timestamp=2 int64}.
 *
 * @module
 */
import { decodeWriteRequest, type WireSeries } from "./write_request.ts";
import { WireReader, WireWriter, WT_I64, WT_LEN, WT_VARINT } from "./wire.ts";

/**
 * Builds a ReadResponse result by result, series by series:
 * `beginResult()`, `addSeries(...)`…, `endResult()` for each query in order, then `finish()`.
 */
export class ReadResponseEncoder {
  #w: WireWriter;
  #resultMark = -1;
  #seriesMark = -1;
  /** Samples written so far. */
  sampleCount = 0;

  /** An encoder whose buffer starts at `initialBytes` and grows by doubling. */
  constructor(initialBytes = 64 * 1024) {
    this.#w = new WireWriter(initialBytes);
  }

  /** Opens the QueryResult of the next query. */
  beginResult(): void {
    if (this.#resultMark >= 0) throw new Error("beginResult: previous result not ended");
    this.#resultMark = this.#w.beginLength(1); // ReadResponse 1: results
  }

  /** Opens a TimeSeries with a label block from `encodeLabelBlock` (labels sorted, with `__name__`). */
  beginSeries(labelBlock: Uint8Array): void {
    if (this.#resultMark < 0) throw new Error("beginSeries: no result begun");
    this.#seriesMark = this.#w.beginLength(1); // QueryResult 1: timeseries
    this.#w.bytes(labelBlock); // TimeSeries 1: labels
  }

  /** Appends samples `[from, to)` of the columns to the open series; values read as exact bytes. */
  addSamples(
    timestampsMs: ArrayLike<number>,
    values: Float64Array,
    from: number,
    to: number,
  ): void {
    const w = this.#w;
    const valueBytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    w.ensure((to - from) * 22);
    const buf = w.buf;
    let p = w.pos;
    for (let i = from; i < to; i++) {
      let t = timestampsMs[i];
      if (t < 0 || t >= 2 ** 49) { // rare: the general writer handles 10-byte negatives
        w.pos = p;
        const mark = w.beginLength(2, 1); // TimeSeries 2: samples
        w.key(1, WT_I64); // Sample 1: value (double)
        w.doubleBytes(valueBytes, i * 8);
        w.key(2, WT_VARINT); // Sample 2: timestamp (int64)
        w.int64(t);
        w.endLength(mark, 1);
        p = w.pos;
        continue;
      }
      // t < 2^49 fits a varint of at most 7 bytes: 28 low bits, then the rest
      const hi = Math.floor(t / 268435456);
      let lo = t - hi * 268435456;
      const tsLen = hi === 0
        ? (lo < 128 ? 1 : lo < 16384 ? 2 : lo < 2097152 ? 3 : 4)
        : hi < 128
        ? 5
        : hi < 16384
        ? 6
        : 7;
      buf[p++] = 0x12; // TimeSeries 2: samples (length-delimited)
      buf[p++] = 10 + tsLen; // length: value key + 8 bytes + timestamp key + varint
      buf[p++] = 0x09; // Sample 1: value (double, 64-bit)
      const v = i * 8;
      buf[p] = valueBytes[v]; // 8 bytes: the value, little-endian, exact bits
      buf[p + 1] = valueBytes[v + 1];
      buf[p + 2] = valueBytes[v + 2];
      buf[p + 3] = valueBytes[v + 3];
      buf[p + 4] = valueBytes[v + 4];
      buf[p + 5] = valueBytes[v + 5];
      buf[p + 6] = valueBytes[v + 6];
      buf[p + 7] = valueBytes[v + 7];
      p += 8;
      buf[p++] = 0x10; // Sample 2: timestamp (varint)
      if (hi === 0) {
        while (lo >= 128) {
          buf[p++] = (lo & 0x7f) | 0x80;
          lo >>>= 7;
        }
        buf[p++] = lo;
      } else {
        buf[p++] = (lo & 0x7f) | 0x80;
        buf[p++] = ((lo >>> 7) & 0x7f) | 0x80;
        buf[p++] = ((lo >>> 14) & 0x7f) | 0x80;
        buf[p++] = ((lo >>> 21) & 0x7f) | 0x80;
        t = hi;
        while (t >= 128) {
          buf[p++] = (t & 0x7f) | 0x80;
          t >>>= 7;
        }
        buf[p++] = t;
      }
    }
    w.pos = p;
    this.sampleCount += to - from;
  }

  /** Closes the open series. */
  endSeries(): void {
    this.#w.endLength(this.#seriesMark);
    this.#seriesMark = -1;
  }

  /** Closes the current QueryResult. */
  endResult(): void {
    this.#w.endLength(this.#resultMark);
    this.#resultMark = -1;
  }

  /** The encoded ReadResponse (a view, valid until the encoder is used again). */
  finish(): Uint8Array {
    return this.#w.finish();
  }
}

/** Decodes a (decompressed) ReadResponse into one list of series per query result. */
export function decodeReadResponse(bytes: Uint8Array): WireSeries[][] {
  const r = new WireReader(bytes);
  const results: WireSeries[][] = [];
  while (r.pos < r.end) {
    const key = r.key();
    if (key === (1 << 3 | WT_LEN)) { // 1: results
      const end = r.lengthEnd();
      // QueryResult{timeseries=1} has the layout of WriteRequest{timeseries=1}.
      results.push(decodeWriteRequest(bytes.subarray(r.pos, end)).series);
      r.pos = end;
    } else r.skip(key & 7);
  }
  return results;
}
