/**
 * Prometheus remote write 1.0 `WriteRequest` (prompb): encoder and decoder over raw bytes.
 *
 * Hand-written rather than through protobufjs because protobufjs stores decoded doubles in object
 * fields, where V8 canonicalises NaN payloads and the stale marker would be lost; here values
 * travel as their 8 wire bytes. `write_request_test.ts` checks both directions against protobufjs.
 *
 * Field numbers: WriteRequest{timeseries=1, metadata=3}, TimeSeries{labels=1, samples=2,
 * exemplars=3, histograms=4}, Label{name=1, value=2}, Sample{value=1 double, timestamp=2 int64},
 * MetricMetadata{type=1, metric_family_name=2, help=4, unit=5}; Histogram and Exemplar in
 * `histogram_wire.ts`.
 *
 * @module
 */
import { METRIC_TYPES, type MetricMetadata, type MetricType } from "../../model/sample.ts";
import { Float64Slab } from "../../bytes.ts";
import { InputError } from "../../errors.ts";
import { EventLoopPacer } from "../../sleep.ts";
import { WireReader, WireWriter, WT_I64, WT_LEN, WT_VARINT } from "./wire.ts";
import type { Exemplar, NativeHistogram } from "../../model/histogram.ts";
import {
  decodeExemplar,
  decodeHistogram,
  encodeExemplar,
  encodeHistogram,
} from "./histogram_wire.ts";

/** A series as it travels in a WriteRequest: labels (with `__name__`) and column-wise samples. */
export interface WireSeries {
  /** `[name, value]` pairs, in wire order (sorted by name when wattwave writes them). */
  labels: [string, string][];
  /** Sample timestamps, integer milliseconds. */
  timestampsMs: number[];
  /** Sample values; a typed array keeps NaN bits exact. Same length as `timestampsMs`. */
  values: Float64Array;
  /** Native histogram samples (TimeSeries field 4; 2.0: 3), when the series has any. */
  histograms?: NativeHistogram[];
  /** Exemplars (TimeSeries field 3; 2.0: 4), when the series has any. */
  exemplars?: Exemplar[];
  /** Start (created) timestamps of the samples, ms (remote write 2.0; 0 = unknown), when any is set. */
  startTimestampsMs?: number[];
}

/** A decoded WriteRequest. */
export interface DecodedWriteRequest {
  /** Series in request order. */
  series: WireSeries[];
  /** Metadata entries in request order. */
  metadata: MetricMetadata[];
  /** Total samples over all series. */
  sampleCount: number;
  /** Total native histogram samples over all series. */
  histogramCount: number;
  /** Total exemplars over all series. */
  exemplarCount: number;
}

/** A decoded request with nothing in it yet. */
export function emptyDecodedRequest(): DecodedWriteRequest {
  return { series: [], metadata: [], sampleCount: 0, histogramCount: 0, exemplarCount: 0 };
}

/** prompb MetricType enum number → NDJSON type name (UNKNOWN = 0, then COUNTER = 1 … STATESET = 7). */
const TYPE_BY_NUMBER: MetricType[] = ["unknown", ...METRIC_TYPES.filter((t) => t !== "unknown")];

/** prompb MetricType enum number (1.0 and 2.0 number them alike) → NDJSON type name. */
export function metricTypeByNumber(n: number): MetricType {
  return TYPE_BY_NUMBER[n] ?? "unknown";
}

/** NDJSON type name → prompb MetricType enum number. */
export function metricTypeNumber(type: MetricType): number {
  const n = TYPE_BY_NUMBER.indexOf(type);
  return n < 0 ? 0 : n;
}

/** Label names seen (a request repeats the same few names on every series: keep one copy). */
const labelNames = new Map<string, string>();

function internName(name: string): string {
  const known = labelNames.get(name);
  if (known !== undefined) return known;
  if (labelNames.size >= 4096) labelNames.clear();
  labelNames.set(name, name);
  return name;
}

function decodeLabel(r: WireReader, end: number): [string, string] {
  let name = "";
  let value = "";
  const outer = r.end;
  r.end = end;
  while (r.pos < end) {
    const key = r.key();
    if (key === (1 << 3 | WT_LEN)) name = internName(r.string()); // 1: name
    else if (key === (2 << 3 | WT_LEN)) value = r.string(); // 2: value
    else r.skip(key & 7);
  }
  r.end = outer;
  return [name, value];
}

/**
 * Values of decoded series come from shared slabs: a request of a million one-sample series
 * would otherwise allocate a million ArrayBuffers.
 */
const slab = new Float64Slab();
/** A byte view of the slab buffer values were last taken from (one view per slab, not per series). */
let slabBytes: Uint8Array = new Uint8Array(0);

/** A byte view of the whole buffer under `values` (reused while the buffer is the same). */
function bytesUnder(values: Float64Array): Uint8Array {
  if (slabBytes.buffer !== values.buffer) slabBytes = new Uint8Array(values.buffer);
  return slabBytes;
}

function decodeTimeSeries(r: WireReader, end: number): WireSeries {
  const outer = r.end;
  r.end = end;
  const bytes = r.bytes;
  const labels: [string, string][] = [];
  const timestampsMs: number[] = [];
  // Count the samples first (a quick walk over the fields) so that the values take one exact
  // allocation: most series of a request carry one sample, others hundreds.
  const start = r.pos;
  let count = 0;
  while (r.pos < end) {
    const key = r.key();
    if (key === (2 << 3 | WT_LEN)) count++;
    r.skip(key & 7);
  }
  r.pos = start;
  let values = slab.take(count); // a view of a shared slab: no ArrayBuffer per series
  let valueBytes = bytesUnder(values);
  let valueBase = values.byteOffset;
  let n = 0;
  let histograms: NativeHistogram[] | undefined;
  let exemplars: Exemplar[] | undefined;
  while (r.pos < end) {
    const key = r.key();
    if (key === (1 << 3 | WT_LEN)) { // 1: labels
      const lEnd = r.lengthEnd();
      labels.push(decodeLabel(r, lEnd));
      r.pos = lEnd;
    } else if (key === (2 << 3 | WT_LEN)) { // 2: samples
      const sEnd = r.lengthEnd();
      r.end = sEnd;
      let valueAt = -1;
      let ts = 0;
      while (r.pos < sEnd) {
        const k = bytes[r.pos] < 0x80 ? bytes[r.pos++] : r.key();
        if (k === (1 << 3 | WT_I64)) { // 1: value (double)
          r.need(8);
          valueAt = r.pos;
          r.pos += 8;
        } else if (k === (2 << 3 | WT_VARINT)) ts = r.int64(); // 2: timestamp (int64)
        else r.skip(k & 7);
      }
      r.end = end;
      if (n === values.length) {
        const grown = new Float64Array(Math.max(4, n * 2));
        grown.set(values);
        values = grown;
        valueBytes = new Uint8Array(grown.buffer);
        valueBase = 0;
      }
      if (valueAt >= 0) { // copy the 8 wire bytes: a NaN keeps its payload
        const o = valueBase + n * 8;
        for (let b = 0; b < 8; b++) valueBytes[o + b] = bytes[valueAt + b];
      }
      timestampsMs.push(ts);
      n++;
    } else if (key === (3 << 3 | WT_LEN)) { // 3: exemplars
      const eEnd = r.lengthEnd();
      (exemplars ??= []).push(decodeExemplar(r, eEnd, decodeLabel));
      r.pos = eEnd;
    } else if (key === (4 << 3 | WT_LEN)) { // 4: histograms
      const hEnd = r.lengthEnd();
      (histograms ??= []).push(decodeHistogram(r, hEnd));
      r.pos = hEnd;
    } else r.skip(key & 7);
  }
  r.end = outer;
  const s: WireSeries = {
    labels,
    timestampsMs,
    values: n === values.length ? values : values.slice(0, n),
  };
  if (histograms) s.histograms = histograms;
  if (exemplars) s.exemplars = exemplars;
  return s;
}

function decodeMetadata(r: WireReader, end: number): MetricMetadata {
  const outer = r.end;
  r.end = end;
  const m: MetricMetadata = { kind: "metadata", name: "", type: "unknown", unit: "", help: "" };
  while (r.pos < end) {
    const key = r.key();
    if (key === (1 << 3 | WT_VARINT)) m.type = TYPE_BY_NUMBER[r.uint32()] ?? "unknown"; // 1: type
    else if (key === (2 << 3 | WT_LEN)) m.name = r.string(); // 2: metric_family_name
    else if (key === (4 << 3 | WT_LEN)) m.help = r.string(); // 4: help
    else if (key === (5 << 3 | WT_LEN)) m.unit = r.string(); // 5: unit
    else r.skip(key & 7);
  }
  r.end = outer;
  return m;
}

/** A WriteRequest holds more series than the caller allows (found while decoding, before the rest is). */
export class TooManySeriesError extends InputError {
  override name = "TooManySeriesError";
  /** A request of more than `maxSeries` series. */
  constructor(readonly maxSeries: number) {
    super(`request holds more than ${maxSeries} series`);
  }
}

/** Options of {@linkcode decodeWriteRequest}. */
export interface DecodeWriteOptions {
  /** Most series accepted ({@linkcode TooManySeriesError} beyond). Default unlimited. */
  maxSeries?: number;
}

/**
 * Decodes the fields of a (decompressed) WriteRequest into `out`, pausing (`yield`) after each
 * series: a caller may take `out.series` between steps (to handle a request in batches).
 * Throws {@linkcode TooManySeriesError} past `maxSeries` and `InputError` on malformed input.
 */
export function* decodeWriteRequestSteps(
  bytes: Uint8Array,
  out: DecodedWriteRequest,
  maxSeries = Infinity,
): Generator<void> {
  const r = new WireReader(bytes);
  let seriesCount = 0;
  while (r.pos < r.end) {
    const key = r.key();
    if (key === (1 << 3 | WT_LEN)) { // 1: timeseries
      const end = r.lengthEnd();
      if (seriesCount >= maxSeries) throw new TooManySeriesError(maxSeries);
      seriesCount++;
      const s = decodeTimeSeries(r, end);
      out.sampleCount += s.timestampsMs.length;
      if (s.histograms) out.histogramCount += s.histograms.length;
      if (s.exemplars) out.exemplarCount += s.exemplars.length;
      out.series.push(s);
      r.pos = end;
      yield;
    } else if (key === (3 << 3 | WT_LEN)) { // 3: metadata
      const end = r.lengthEnd();
      out.metadata.push(decodeMetadata(r, end));
      r.pos = end;
    } else r.skip(key & 7);
  }
}

/** Decodes a (decompressed) WriteRequest. Throws {@linkcode InputError} with a byte offset on malformed input. */
export function decodeWriteRequest(
  bytes: Uint8Array,
  options: DecodeWriteOptions = {},
): DecodedWriteRequest {
  const out = emptyDecodedRequest();
  for (const _ of decodeWriteRequestSteps(bytes, out, options.maxSeries)) { /* each series */ }
  return out;
}

/**
 * {@linkcode decodeWriteRequest} that pauses for the event loop every few milliseconds (see
 * `EventLoopPacer`), for servers decoding requests of very many series on their main thread.
 */
export async function decodeWriteRequestPaced(
  bytes: Uint8Array,
  options: DecodeWriteOptions = {},
): Promise<DecodedWriteRequest> {
  const out = emptyDecodedRequest();
  const pacer = new EventLoopPacer();
  for (const _ of decodeWriteRequestSteps(bytes, out, options.maxSeries)) {
    const pause = pacer.tick();
    if (pause) await pause;
  }
  return out;
}

/** Checks a decoded series' labels as Prometheus' receiver does; returns a reason or undefined. */
export function invalidLabelsReason(labels: [string, string][]): string | undefined {
  let hasName = false;
  for (let i = 0; i < labels.length; i++) {
    const [n, v] = labels[i];
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n)) return `invalid label name "${n}"`;
    if (n === "__name__") {
      hasName = true;
      if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(v)) return `invalid metric name "${v}"`;
    }
    if (i > 0 && labels[i - 1][0] >= n) {
      return `labels not sorted or duplicated at "${n}"`;
    }
  }
  if (!hasName) return "series without __name__";
  return undefined;
}

/**
 * Pre-encoded labels of one series (the `repeated Label labels = 1` fields of a TimeSeries),
 * reused across batches so that a series' labels are encoded once per run.
 */
export function encodeLabelBlock(labels: [string, string][]): Uint8Array {
  const w = new WireWriter(64);
  for (const [n, v] of labels) {
    const mark = w.beginLength(1, 1); // TimeSeries 1: labels
    w.stringField(1, n); // Label 1: name
    w.stringField(2, v); // Label 2: value
    w.endLength(mark, 1);
  }
  return w.finish().slice();
}

/** One series to encode: its label block and `count` samples from the given columns. */
export interface SeriesToEncode {
  /** From {@linkcode encodeLabelBlock}. */
  labelBlock: Uint8Array;
  /** Sample timestamps (ms). */
  timestampsMs: ArrayLike<number>;
  /** Sample values; read as bytes so that NaN bits stay exact. */
  values: Float64Array;
  /** How many samples of the columns to write. */
  count: number;
  /** Native histogram samples to write after the samples. */
  histograms?: readonly NativeHistogram[];
  /** Exemplars to write. */
  exemplars?: readonly Exemplar[];
}

/**
 * Writes the part of one `TimeSeries.samples` entry before its timestamp varint at `p`: the field
 * key and length (the varint's `tsLen` bytes must follow), the value field with the 8 bytes at
 * `valueBytes[valueOffset]` (exact bits), and the timestamp's key. Returns where the varint goes.
 */
export function putSampleHead(
  buf: Uint8Array,
  p: number,
  tsLen: number,
  valueBytes: Uint8Array,
  valueOffset: number,
): number {
  buf[p] = 0x12; // TimeSeries 2: samples (length-delimited)
  buf[p + 1] = 10 + tsLen; // length: value key + 8 bytes + timestamp key + varint (< 128)
  buf[p + 2] = 0x09; // Sample 1: value (double, 64-bit)
  for (let b = 0; b < 8; b++) buf[p + 3 + b] = valueBytes[valueOffset + b]; // little-endian bits
  buf[p + 11] = 0x10; // Sample 2: timestamp (int64 varint)
  return p + 12;
}

/**
 * Writes samples `[from, to)` of the columns as `TimeSeries` field 2 (`samples`) at the writer's
 * position: the value's 8 bytes as given (NaN payloads stay exact), the timestamp as an int64
 * varint, with a fast path for 0 ≤ t < 2^49 (a varint of at most 7 bytes from two int32-sized
 * halves). Shared by the WriteRequest and ReadResponse encoders.
 */
export function writeSampleFields(
  w: WireWriter,
  timestampsMs: ArrayLike<number>,
  values: Float64Array,
  from: number,
  to: number,
): void {
  const valueBytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  // A sample takes at most 22 bytes (the general path, a negative timestamp): with this room
  // reserved the buffer cannot grow inside the loop, so `buf` stays the writer's buffer.
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
    p = putSampleHead(buf, p, tsLen, valueBytes, i * 8);
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
}

/** Reusable encoder for WriteRequests (the buffer grows to the largest request and is kept). */
export class WriteRequestEncoder {
  #w = new WireWriter(64 * 1024);

  /** Encodes series and metadata into a WriteRequest; the result is valid until the next call. */
  encode(series: SeriesToEncode[], metadata: MetricMetadata[] = []): Uint8Array {
    const w = this.#w;
    w.pos = 0;
    for (const s of series) {
      const mark = w.beginLength(1); // WriteRequest 1: timeseries
      w.bytes(s.labelBlock); // TimeSeries 1: labels
      writeSampleFields(w, s.timestampsMs, s.values, 0, s.count);
      if (s.exemplars) { for (const e of s.exemplars) encodeExemplar(w, e); // TimeSeries 3
       }
      if (s.histograms) { for (const h of s.histograms) encodeHistogram(w, 4, h); // TimeSeries 4
       }
      w.endLength(mark);
    }
    for (const m of metadata) {
      const mark = w.beginLength(3); // WriteRequest 3: metadata
      w.key(1, WT_VARINT); // MetricMetadata 1: type
      w.varint(metricTypeNumber(m.type));
      w.stringField(2, m.name); // MetricMetadata 2: metric_family_name
      if (m.help) w.stringField(4, m.help); // MetricMetadata 4: help
      if (m.unit) w.stringField(5, m.unit); // MetricMetadata 5: unit
      w.endLength(mark);
    }
    return w.finish();
  }
}

/** Convenience: encodes plain series (labels as pairs) into a fresh WriteRequest byte array. */
export function encodeWriteRequest(
  series: WireSeries[],
  metadata: MetricMetadata[] = [],
): Uint8Array {
  const enc = new WriteRequestEncoder();
  return enc.encode(
    series.map((s) => ({
      labelBlock: encodeLabelBlock(s.labels),
      timestampsMs: s.timestampsMs,
      values: s.values,
      count: s.timestampsMs.length,
      histograms: s.histograms,
      exemplars: s.exemplars,
    })),
    metadata,
  ).slice();
}
