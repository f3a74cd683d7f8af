/**
 * The prompb `Histogram` and `BucketSpan` messages (remote write 1.0 `TimeSeries.histograms`
 * = 4, remote write 2.0 `TimeSeries.histograms` = 3; the same message in both, 2.0 adding
 * `start_timestamp` = 17), and the 1.0 `Exemplar` message.
 *
 * Field numbers: Histogram{count_int=1 uint64, count_float=2 double, sum=3 double,
 * schema=4 sint32, zero_threshold=5 double, zero_count_int=6 uint64, zero_count_float=7 double,
 * negative_spans=8, negative_deltas=9 sint64 packed, negative_counts=10 double packed,
 * positive_spans=11, positive_deltas=12, positive_counts=13, reset_hint=14 enum,
 * timestamp=15 int64, custom_values=16 double packed, start_timestamp=17 int64},
 * BucketSpan{offset=1 sint32, length=2 uint32}, Exemplar{labels=1, value=2 double,
 * timestamp=3 int64}.
 *
 * Doubles travel as their 8 wire bytes (NaN payloads kept). A histogram that mixes integer and
 * float fields is refused: it has no single meaning.
 *
 * @module
 */
import { emptyHistogram, type Exemplar, type NativeHistogram } from "../../model/histogram.ts";
import { type ExactValue, readExactValue, writeExactValue } from "../../model/value.ts";
import { type WireReader, type WireWriter, WT_I64, WT_LEN, WT_VARINT } from "./wire.ts";

/** Reads a `double` (8 little-endian bytes) keeping NaN bits. */
export function readDouble(r: WireReader): ExactValue {
  r.need(8);
  const v = readExactValue(r.view, r.pos, true);
  r.pos += 8;
  return v;
}

/** Writes a `double` from an exact value. */
export function writeDouble(w: WireWriter, v: ExactValue): void {
  w.ensure(8);
  const view = new DataView(w.buf.buffer, w.buf.byteOffset);
  writeExactValue(view, w.pos, v.value, v.nanBits, true);
  w.pos += 8;
}

/** Decodes a zigzag varint (`sint32`/`sint64`) within ±2^53. */
function readZigzag(r: WireReader): number {
  const u = r.int64();
  if (u < 0) r.fail("sint64 outside the safe integer range");
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

/** Encodes `n` as a zigzag varint. */
function writeZigzag(w: WireWriter, n: number): void {
  w.varint(n >= 0 ? n * 2 : -n * 2 - 1);
}

/** Reads a `uint64` varint as a safe integer. */
function readUint64(r: WireReader): number {
  const n = r.int64();
  if (n < 0) r.fail("uint64 outside the safe integer range");
  return n;
}

/** Appends the doubles of a packed (WT_LEN) or single (WT_I64) `repeated double` field. */
function readDoubles(r: WireReader, wireType: number, into: number[][], slot: number): void {
  // Doubles are gathered as 8-byte groups first and copied into a typed array at the end.
  const out = into[slot];
  if (wireType === WT_I64) {
    r.need(8);
    out.push(r.pos);
    r.pos += 8;
    return;
  }
  if (wireType !== WT_LEN) r.fail("repeated double with a wrong wire type");
  const end = r.lengthEnd();
  if ((end - r.pos) % 8 !== 0) r.fail("packed doubles of a length not a multiple of 8");
  for (let p = r.pos; p < end; p += 8) out.push(p);
  r.pos = end;
}

/** Appends the values of a packed or single `repeated sint64` field. */
function readSint64s(r: WireReader, wireType: number, out: number[]): void {
  if (wireType === WT_VARINT) {
    out.push(readZigzag(r));
    return;
  }
  if (wireType !== WT_LEN) r.fail("repeated sint64 with a wrong wire type");
  const end = r.lengthEnd();
  const outer = r.end;
  r.end = end;
  while (r.pos < end) out.push(readZigzag(r));
  r.end = outer;
}

/** Reads one BucketSpan into the flat `spans` list. */
function readSpan(r: WireReader, spans: number[]): void {
  const end = r.lengthEnd();
  const outer = r.end;
  r.end = end;
  let offset = 0;
  let length = 0;
  while (r.pos < end) {
    const key = r.key();
    if (key === (1 << 3 | WT_VARINT)) offset = readZigzag(r); // 1: offset (sint32)
    else if (key === (2 << 3 | WT_VARINT)) length = r.uint32(); // 2: length (uint32)
    else r.skip(key & 7);
  }
  r.end = outer;
  spans.push(offset, length);
}

/** Copies the 8-byte groups at `positions` of `bytes` into a Float64Array (exact bits). */
function doublesAt(bytes: Uint8Array, positions: number[]): Float64Array {
  const out = new Float64Array(positions.length);
  const outBytes = new Uint8Array(out.buffer);
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i];
    for (let b = 0; b < 8; b++) outBytes[i * 8 + b] = bytes[p + b];
  }
  return out;
}

/** Decodes one Histogram message from `r.pos` to `end`. */
export function decodeHistogram(r: WireReader, end: number): NativeHistogram {
  const outer = r.end;
  r.end = end;
  const h = emptyHistogram();
  let intFields = false;
  let floatFields = false;
  // positions of doubles: [negative_counts, positive_counts, custom_values]
  const doubles: number[][] = [[], [], []];
  while (r.pos < end) {
    const key = r.key();
    const field = key >>> 3;
    const wireType = key & 7;
    switch (field) {
      case 1: // 1: count_int (uint64)
        if (wireType !== WT_VARINT) r.fail("histogram count_int with a wrong wire type");
        h.count = { value: readUint64(r) };
        intFields = true;
        break;
      case 2: // 2: count_float (double)
        if (wireType !== WT_I64) r.fail("histogram count_float with a wrong wire type");
        h.count = readDouble(r);
        floatFields = true;
        break;
      case 3: // 3: sum (double)
        if (wireType !== WT_I64) r.fail("histogram sum with a wrong wire type");
        h.sum = readDouble(r);
        break;
      case 4: // 4: schema (sint32)
        if (wireType !== WT_VARINT) r.fail("histogram schema with a wrong wire type");
        h.schema = readZigzag(r);
        break;
      case 5: // 5: zero_threshold (double)
        if (wireType !== WT_I64) r.fail("histogram zero_threshold with a wrong wire type");
        h.zeroThreshold = readDouble(r);
        break;
      case 6: // 6: zero_count_int (uint64)
        if (wireType !== WT_VARINT) r.fail("histogram zero_count_int with a wrong wire type");
        h.zeroCount = { value: readUint64(r) };
        intFields = true;
        break;
      case 7: // 7: zero_count_float (double)
        if (wireType !== WT_I64) r.fail("histogram zero_count_float with a wrong wire type");
        h.zeroCount = readDouble(r);
        floatFields = true;
        break;
      case 8: // 8: negative_spans
        if (wireType !== WT_LEN) r.fail("histogram span with a wrong wire type");
        readSpan(r, h.negativeSpans);
        break;
      case 9: // 9: negative_deltas (sint64, packed)
        readSint64s(r, wireType, h.negativeDeltas);
        intFields = true;
        break;
      case 10: // 10: negative_counts (double, packed)
        readDoubles(r, wireType, doubles, 0);
        floatFields = true;
        break;
      case 11: // 11: positive_spans
        if (wireType !== WT_LEN) r.fail("histogram span with a wrong wire type");
        readSpan(r, h.positiveSpans);
        break;
      case 12: // 12: positive_deltas (sint64, packed)
        readSint64s(r, wireType, h.positiveDeltas);
        intFields = true;
        break;
      case 13: // 13: positive_counts (double, packed)
        readDoubles(r, wireType, doubles, 1);
        floatFields = true;
        break;
      case 14: // 14: reset_hint (enum)
        if (wireType !== WT_VARINT) r.fail("histogram reset_hint with a wrong wire type");
        h.resetHint = r.uint32();
        if (h.resetHint > 3) r.fail(`histogram reset_hint ${h.resetHint} is not 0-3`);
        break;
      case 15: // 15: timestamp (int64, ms)
        if (wireType !== WT_VARINT) r.fail("histogram timestamp with a wrong wire type");
        h.timestampMs = r.int64();
        break;
      case 16: // 16: custom_values (double, packed)
        readDoubles(r, wireType, doubles, 2);
        break;
      case 17: // 17: start_timestamp (int64, ms; remote write 2.0)
        if (wireType !== WT_VARINT) r.fail("histogram start_timestamp with a wrong wire type");
        h.startTimestampMs = r.int64();
        break;
      default:
        r.skip(wireType);
    }
  }
  r.end = outer;
  if (intFields && floatFields) r.fail("histogram mixes integer and float counts");
  h.isFloat = floatFields;
  h.negativeCounts = doublesAt(r.bytes, doubles[0]);
  h.positiveCounts = doublesAt(r.bytes, doubles[1]);
  h.customValues = doublesAt(r.bytes, doubles[2]);
  return h;
}

/** Writes a packed `repeated double` field from a Float64Array (exact bits). */
function writePackedDoubles(w: WireWriter, field: number, values: Float64Array): void {
  if (values.length === 0) return;
  w.key(field, WT_LEN);
  w.varint(values.length * 8);
  w.bytes(new Uint8Array(values.buffer, values.byteOffset, values.length * 8));
}

/** Writes a packed `repeated sint64` field. */
function writePackedSint64s(w: WireWriter, field: number, values: number[]): void {
  if (values.length === 0) return;
  const mark = w.beginLength(field);
  for (const v of values) writeZigzag(w, v);
  w.endLength(mark);
}

/** Writes the flat `spans` as repeated BucketSpan fields. */
function writeSpans(w: WireWriter, field: number, spans: number[]): void {
  for (let i = 0; i + 1 < spans.length; i += 2) {
    const mark = w.beginLength(field, 1);
    if (spans[i] !== 0) {
      w.key(1, WT_VARINT); // BucketSpan 1: offset (sint32)
      writeZigzag(w, spans[i]);
    }
    if (spans[i + 1] !== 0) {
      w.key(2, WT_VARINT); // BucketSpan 2: length (uint32)
      w.varint(spans[i + 1]);
    }
    w.endLength(mark, 1);
  }
}

/** Whether an exact value is +0 (the protobuf default a writer may leave out). */
function isPositiveZero(v: ExactValue): boolean {
  return v.value === 0 && 1 / v.value > 0;
}

/**
 * Writes `h` as a length-delimited Histogram in field `field` of the enclosing message
 * (4 in a 1.0 TimeSeries, 3 in a 2.0 one). `withStart` writes `start_timestamp` (2.0 only).
 */
export function encodeHistogram(
  w: WireWriter,
  field: number,
  h: NativeHistogram,
  withStart = false,
): void {
  const mark = w.beginLength(field);
  if (h.isFloat) {
    w.key(2, WT_I64); // 2: count_float
    writeDouble(w, h.count);
  } else {
    w.key(1, WT_VARINT); // 1: count_int
    w.varint(h.count.value);
  }
  if (!isPositiveZero(h.sum)) {
    w.key(3, WT_I64); // 3: sum
    writeDouble(w, h.sum);
  }
  if (h.schema !== 0) {
    w.key(4, WT_VARINT); // 4: schema (sint32)
    writeZigzag(w, h.schema);
  }
  if (!isPositiveZero(h.zeroThreshold)) {
    w.key(5, WT_I64); // 5: zero_threshold
    writeDouble(w, h.zeroThreshold);
  }
  if (h.isFloat) {
    w.key(7, WT_I64); // 7: zero_count_float
    writeDouble(w, h.zeroCount);
  } else {
    w.key(6, WT_VARINT); // 6: zero_count_int
    w.varint(h.zeroCount.value);
  }
  writeSpans(w, 8, h.negativeSpans); // 8: negative_spans
  if (h.isFloat) writePackedDoubles(w, 10, h.negativeCounts); // 10: negative_counts
  else writePackedSint64s(w, 9, h.negativeDeltas); // 9: negative_deltas
  writeSpans(w, 11, h.positiveSpans); // 11: positive_spans
  if (h.isFloat) writePackedDoubles(w, 13, h.positiveCounts); // 13: positive_counts
  else writePackedSint64s(w, 12, h.positiveDeltas); // 12: positive_deltas
  if (h.resetHint !== 0) {
    w.key(14, WT_VARINT); // 14: reset_hint
    w.varint(h.resetHint);
  }
  w.key(15, WT_VARINT); // 15: timestamp (int64, ms)
  w.int64(h.timestampMs);
  writePackedDoubles(w, 16, h.customValues); // 16: custom_values
  if (withStart && h.startTimestampMs !== 0) {
    w.key(17, WT_VARINT); // 17: start_timestamp (int64, ms)
    w.int64(h.startTimestampMs);
  }
  w.endLength(mark);
}

/**
 * Decodes a 1.0 Exemplar message; `decodeLabel` reads one Label (the caller's, so that label
 * names are interned alike).
 */
export function decodeExemplar(
  r: WireReader,
  end: number,
  decodeLabel: (r: WireReader, end: number) => [string, string],
): Exemplar {
  const outer = r.end;
  r.end = end;
  const e: Exemplar = { labels: [], value: { value: 0 }, timestampMs: 0 };
  while (r.pos < end) {
    const key = r.key();
    if (key === (1 << 3 | WT_LEN)) { // 1: labels
      const lEnd = r.lengthEnd();
      e.labels.push(decodeLabel(r, lEnd));
      r.pos = lEnd;
    } else if (key === (2 << 3 | WT_I64)) e.value = readDouble(r); // 2: value (double)
    else if (key === (3 << 3 | WT_VARINT)) e.timestampMs = r.int64(); // 3: timestamp (int64)
    else r.skip(key & 7);
  }
  r.end = outer;
  return e;
}

/** Writes a 1.0 Exemplar in `TimeSeries` field 3. */
export function encodeExemplar(w: WireWriter, e: Exemplar): void {
  const mark = w.beginLength(3); // TimeSeries 3: exemplars
  for (const [n, v] of e.labels) {
    const lm = w.beginLength(1, 1); // Exemplar 1: labels
    w.stringField(1, n); // Label 1: name
    w.stringField(2, v); // Label 2: value
    w.endLength(lm, 1);
  }
  w.key(2, WT_I64); // Exemplar 2: value (double)
  writeDouble(w, e.value);
  w.key(3, WT_VARINT); // Exemplar 3: timestamp (int64)
  w.int64(e.timestampMs);
  w.endLength(mark);
}
