/**
 * Prometheus remote write 2.0 `io.prometheus.write.v2.Request` (spec 2.0-rc.4): decoder into the
 * same {@linkcode DecodedWriteRequest} the 1.0 decoder gives, and an encoder.
 *
 * Field numbers: Request{symbols=4 (symbols[0] == ""), timeseries=5}, TimeSeries{labels_refs=1
 * packed uint32, samples=2, histograms=3, exemplars=4, metadata=5, created_timestamp=6 (earlier
 * release candidates; read as the start timestamp of samples that carry none)},
 * Sample{value=1 double, timestamp=2 int64, start_timestamp=3 int64}, Exemplar{labels_refs=1,
 * value=2 double, timestamp=3 int64}, Metadata{type=1 enum, help_ref=3, unit_ref=4};
 * Histogram as in 1.0 plus start_timestamp=17 (`histogram_wire.ts`).
 *
 * Each series' metadata becomes a metadata record of its metric name (one per distinct
 * name/type/unit/help in the request). Bad symbol references, an odd number of label refs and a
 * non-empty `symbols[0]` are malformed input ({@linkcode InputError}).
 *
 * @module
 */
import type { MetricMetadata } from "../../model/sample.ts";
import type { Exemplar, NativeHistogram } from "../../model/histogram.ts";
import { EventLoopPacer } from "../../sleep.ts";
import { decodeHistogram, encodeHistogram, readDouble, writeDouble } from "./histogram_wire.ts";
import { WireReader, WireWriter, WT_I64, WT_LEN, WT_VARINT } from "./wire.ts";
import {
  type DecodedWriteRequest,
  type DecodeWriteOptions,
  emptyDecodedRequest,
  metricTypeByNumber,
  metricTypeNumber,
  TooManySeriesError,
  type WireSeries,
} from "./write_request.ts";

/** Reads the `symbols` (field 4) of a whole Request, wherever they are in it. */
function readSymbols(bytes: Uint8Array): string[] {
  const r = new WireReader(bytes);
  const symbols: string[] = [];
  while (r.pos < r.end) {
    const key = r.key();
    if (key === (4 << 3 | WT_LEN)) symbols.push(r.string()); // 4: symbols
    else r.skip(key & 7);
  }
  if (symbols.length > 0 && symbols[0] !== "") {
    throw r.fail(
      `symbols[0] must be the empty string (got ${JSON.stringify(symbols[0].slice(0, 40))})`,
    );
  }
  return symbols;
}

/** Reads a packed or single `repeated uint32` field of symbol references into `out`. */
function readRefs(r: WireReader, wireType: number, out: number[]): void {
  if (wireType === WT_VARINT) {
    out.push(r.uint32());
    return;
  }
  if (wireType !== WT_LEN) r.fail("labels_refs with a wrong wire type");
  const end = r.lengthEnd();
  const outer = r.end;
  r.end = end;
  while (r.pos < end) out.push(r.uint32());
  r.end = outer;
}

/** The `[name, value]` pairs of label `refs` (pairs of indexes into `symbols`). */
function labelsOfRefs(r: WireReader, refs: number[], symbols: string[], what: string) {
  if (refs.length % 2 !== 0) r.fail(`${what} labels_refs has an odd length (${refs.length})`);
  const labels: [string, string][] = [];
  for (let i = 0; i < refs.length; i += 2) {
    const n = refs[i];
    const v = refs[i + 1];
    if (n >= symbols.length || v >= symbols.length) {
      r.fail(
        `${what} labels_refs points at symbol ${
          Math.max(n, v)
        }, beyond the ${symbols.length} symbols`,
      );
    }
    labels.push([symbols[n], symbols[v]]);
  }
  return labels;
}

function symbolAt(r: WireReader, symbols: string[], ref: number, what: string): string {
  if (ref >= symbols.length) {
    r.fail(`${what} points at symbol ${ref}, beyond the ${symbols.length} symbols`);
  }
  return symbols[ref];
}

interface SeriesMetadata {
  type: number;
  helpRef: number;
  unitRef: number;
}

function decodeMetadata(r: WireReader, end: number): SeriesMetadata {
  const outer = r.end;
  r.end = end;
  const m: SeriesMetadata = { type: 0, helpRef: 0, unitRef: 0 };
  while (r.pos < end) {
    const key = r.key();
    if (key === (1 << 3 | WT_VARINT)) m.type = r.uint32(); // 1: type
    else if (key === (3 << 3 | WT_VARINT)) m.helpRef = r.uint32(); // 3: help_ref
    else if (key === (4 << 3 | WT_VARINT)) m.unitRef = r.uint32(); // 4: unit_ref
    else r.skip(key & 7);
  }
  r.end = outer;
  return m;
}

function decodeExemplar(r: WireReader, end: number, symbols: string[]): Exemplar {
  const outer = r.end;
  r.end = end;
  const refs: number[] = [];
  const e: Exemplar = { labels: [], value: { value: 0 }, timestampMs: 0 };
  while (r.pos < end) {
    const key = r.key();
    const field = key >>> 3;
    if (field === 1) readRefs(r, key & 7, refs); // 1: labels_refs
    else if (key === (2 << 3 | WT_I64)) e.value = readDouble(r); // 2: value (double)
    else if (key === (3 << 3 | WT_VARINT)) e.timestampMs = r.int64(); // 3: timestamp (int64)
    else r.skip(key & 7);
  }
  r.end = outer;
  e.labels = labelsOfRefs(r, refs, symbols, "exemplar");
  return e;
}

/** Decodes one TimeSeries; `metadata` collects its metadata record (deduplicated by key). */
function decodeTimeSeries(
  r: WireReader,
  end: number,
  symbols: string[],
  metadata: Map<string, MetricMetadata>,
): WireSeries {
  const outer = r.end;
  r.end = end;
  const refs: number[] = [];
  const timestampsMs: number[] = [];
  const starts: number[] = [];
  const valueAt: number[] = [];
  let histograms: NativeHistogram[] | undefined;
  let exemplars: Exemplar[] | undefined;
  let meta: SeriesMetadata | undefined;
  let createdMs = 0;
  while (r.pos < end) {
    const key = r.key();
    const field = key >>> 3;
    if (field === 1) readRefs(r, key & 7, refs); // 1: labels_refs
    else if (key === (2 << 3 | WT_LEN)) { // 2: samples
      const sEnd = r.lengthEnd();
      r.end = sEnd;
      let at = -1;
      let ts = 0;
      let start = 0;
      while (r.pos < sEnd) {
        const k = r.key();
        if (k === (1 << 3 | WT_I64)) { // 1: value (double)
          r.need(8);
          at = r.pos;
          r.pos += 8;
        } else if (k === (2 << 3 | WT_VARINT)) ts = r.int64(); // 2: timestamp (int64)
        else if (k === (3 << 3 | WT_VARINT)) start = r.int64(); // 3: start_timestamp (int64)
        else r.skip(k & 7);
      }
      r.end = end;
      valueAt.push(at);
      timestampsMs.push(ts);
      starts.push(start);
    } else if (key === (3 << 3 | WT_LEN)) { // 3: histograms
      const hEnd = r.lengthEnd();
      (histograms ??= []).push(decodeHistogram(r, hEnd));
      r.pos = hEnd;
    } else if (key === (4 << 3 | WT_LEN)) { // 4: exemplars
      const eEnd = r.lengthEnd();
      (exemplars ??= []).push(decodeExemplar(r, eEnd, symbols));
      r.pos = eEnd;
    } else if (key === (5 << 3 | WT_LEN)) { // 5: metadata
      const mEnd = r.lengthEnd();
      meta = decodeMetadata(r, mEnd);
      r.pos = mEnd;
    } else if (key === (6 << 3 | WT_VARINT)) createdMs = r.int64(); // 6: created_timestamp
    else r.skip(key & 7);
  }
  r.end = outer;
  const labels = labelsOfRefs(r, refs, symbols, "series");
  const values = new Float64Array(valueAt.length);
  const valueBytes = new Uint8Array(values.buffer);
  for (let i = 0; i < valueAt.length; i++) { // the 8 wire bytes: a NaN keeps its payload
    const p = valueAt[i];
    if (p >= 0) { for (let b = 0; b < 8; b++) valueBytes[i * 8 + b] = r.bytes[p + b]; }
  }
  const s: WireSeries = { labels, timestampsMs, values };
  if (createdMs !== 0) {
    for (let i = 0; i < starts.length; i++) if (starts[i] === 0) starts[i] = createdMs;
    if (histograms) { for (const h of histograms) h.startTimestampMs ||= createdMs; }
  }
  if (starts.some((t) => t !== 0)) s.startTimestampsMs = starts;
  if (histograms) s.histograms = histograms;
  if (exemplars) s.exemplars = exemplars;
  if (meta && (meta.type !== 0 || meta.helpRef !== 0 || meta.unitRef !== 0)) {
    const name = labels.find(([n]) => n === "__name__")?.[1] ?? "";
    const m: MetricMetadata = {
      kind: "metadata",
      name,
      type: metricTypeByNumber(meta.type),
      unit: symbolAt(r, symbols, meta.unitRef, "metadata unit_ref"),
      help: symbolAt(r, symbols, meta.helpRef, "metadata help_ref"),
    };
    metadata.set(`${m.name}\xff${m.type}\xff${m.unit}\xff${m.help}`, m);
  }
  return s;
}

/**
 * Decodes a (decompressed) 2.0 Request into `out`, pausing (`yield`) after each TimeSeries: a
 * caller may take `out.series` between steps. `out.metadata` is set at the end (one entry per
 * distinct metric family metadata).
 */
export function* decodeWriteRequestV2Steps(
  bytes: Uint8Array,
  out: DecodedWriteRequest,
  maxSeries = Infinity,
): Generator<void> {
  const symbols = readSymbols(bytes);
  const metadata = new Map<string, MetricMetadata>();
  const r = new WireReader(bytes);
  let seriesCount = 0;
  while (r.pos < r.end) {
    const key = r.key();
    if (key === (5 << 3 | WT_LEN)) { // 5: timeseries
      const end = r.lengthEnd();
      if (seriesCount >= maxSeries) throw new TooManySeriesError(maxSeries);
      seriesCount++;
      const s = decodeTimeSeries(r, end, symbols, metadata);
      out.sampleCount += s.timestampsMs.length;
      if (s.histograms) out.histogramCount += s.histograms.length;
      if (s.exemplars) out.exemplarCount += s.exemplars.length;
      out.series.push(s);
      r.pos = end;
      yield;
    } else r.skip(key & 7); // 4: symbols (read above); 1-3: reserved
  }
  out.metadata = [...metadata.values()];
}

/** Decodes a (decompressed) 2.0 Request. Throws `InputError` with a byte offset on malformed input. */
export function decodeWriteRequestV2(
  bytes: Uint8Array,
  options: DecodeWriteOptions = {},
): DecodedWriteRequest {
  const out = emptyDecodedRequest();
  for (const _ of decodeWriteRequestV2Steps(bytes, out, options.maxSeries)) { /* each series */ }
  return out;
}

/** {@linkcode decodeWriteRequestV2} that pauses for the event loop every few milliseconds. */
export async function decodeWriteRequestV2Paced(
  bytes: Uint8Array,
  options: DecodeWriteOptions = {},
): Promise<DecodedWriteRequest> {
  const out = emptyDecodedRequest();
  const pacer = new EventLoopPacer();
  for (const _ of decodeWriteRequestV2Steps(bytes, out, options.maxSeries)) {
    const pause = pacer.tick();
    if (pause) await pause;
  }
  return out;
}

/** How many of `starts` (sample start timestamps) and `histograms` carry a start timestamp. */
export function countStartTimestamps(
  starts: readonly number[] | undefined,
  histograms: readonly NativeHistogram[] | undefined,
): number {
  let n = 0;
  for (const t of starts ?? []) if (t !== 0) n++;
  for (const h of histograms ?? []) if (h.startTimestampMs !== 0) n++;
  return n;
}

/** Interns strings into a Request's symbol table (`symbols[0]` is ""). */
class SymbolTable {
  readonly symbols: string[] = [""];
  #index = new Map<string, number>([["", 0]]);

  /** The reference of `s`, added when new. */
  ref(s: string): number {
    let i = this.#index.get(s);
    if (i === undefined) {
      i = this.symbols.length;
      this.symbols.push(s);
      this.#index.set(s, i);
    }
    return i;
  }
}

function writeRefs(
  w: WireWriter,
  field: number,
  labels: readonly [string, string][],
  t: SymbolTable,
) {
  if (labels.length === 0) return;
  const mark = w.beginLength(field);
  for (const [n, v] of labels) {
    w.varint(t.ref(n));
    w.varint(t.ref(v));
  }
  w.endLength(mark);
}

/**
 * Encodes series (labels sorted, with `__name__`) and metadata as a 2.0 Request. Metadata
 * records go on every series of their metric name.
 */
export function encodeWriteRequestV2(
  series: readonly WireSeries[],
  metadata: readonly MetricMetadata[] = [],
): Uint8Array {
  const t = new SymbolTable();
  const metaByName = new Map(metadata.map((m) => [m.name, m]));
  const w = new WireWriter(64 * 1024);
  for (const s of series) {
    const mark = w.beginLength(5); // Request 5: timeseries
    writeRefs(w, 1, s.labels, t); // TimeSeries 1: labels_refs (packed)
    const valueBytes = new Uint8Array(s.values.buffer, s.values.byteOffset, s.values.byteLength);
    for (let i = 0; i < s.timestampsMs.length; i++) {
      const sm = w.beginLength(2, 1); // TimeSeries 2: samples
      w.key(1, WT_I64); // Sample 1: value (double)
      w.doubleBytes(valueBytes, i * 8);
      w.key(2, WT_VARINT); // Sample 2: timestamp (int64)
      w.int64(s.timestampsMs[i]);
      const start = s.startTimestampsMs?.[i] ?? 0;
      if (start !== 0) {
        w.key(3, WT_VARINT); // Sample 3: start_timestamp (int64)
        w.int64(start);
      }
      w.endLength(sm, 1);
    }
    for (const h of s.histograms ?? []) encodeHistogram(w, 3, h, true); // TimeSeries 3: histograms
    for (const e of s.exemplars ?? []) {
      const em = w.beginLength(4); // TimeSeries 4: exemplars
      writeRefs(w, 1, e.labels, t); // Exemplar 1: labels_refs
      w.key(2, WT_I64); // Exemplar 2: value (double)
      writeDouble(w, e.value);
      w.key(3, WT_VARINT); // Exemplar 3: timestamp (int64)
      w.int64(e.timestampMs);
      w.endLength(em);
    }
    const name = s.labels.find(([n]) => n === "__name__")?.[1];
    const m = name !== undefined ? metaByName.get(name) : undefined;
    if (m) {
      const mm = w.beginLength(5, 1); // TimeSeries 5: metadata
      w.key(1, WT_VARINT); // Metadata 1: type
      w.varint(metricTypeNumber(m.type));
      w.key(3, WT_VARINT); // Metadata 3: help_ref
      w.varint(t.ref(m.help));
      w.key(4, WT_VARINT); // Metadata 4: unit_ref
      w.varint(t.ref(m.unit));
      w.endLength(mm, 1);
    }
    w.endLength(mark);
  }
  const body = w.finish();
  const head = new WireWriter(1024);
  for (const s of t.symbols) head.stringField(4, s); // Request 4: symbols
  const out = new Uint8Array(head.pos + body.length);
  out.set(head.finish());
  out.set(body, head.pos);
  return out;
}
