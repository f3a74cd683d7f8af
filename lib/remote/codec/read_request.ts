/**
 * Prometheus remote read `ReadRequest` (prompb): a decoder over raw bytes, and an encoder used by
 * tests, benchmarks and clients. `read_request_test.ts` checks both against protobufjs.
 *
 * Field numbers: ReadRequest{queries=1, accepted_response_types=2 (repeated enum, packed or not)},
 * Query{start_timestamp_ms=1, end_timestamp_ms=2, matchers=3, hints=4},
 * LabelMatcher{type=1 (EQ=0, NEQ=1, RE=2, NRE=3), name=2, value=3},
 * ReadHints{step_ms=1, func=2, start_ms=3, end_ms=4, grouping=5, by=6, range_ms=7}.
 *
 * @module
 */
import { type LabelMatcher, MATCH_TYPES_BY_NUMBER } from "../../query/selector.ts";
import { WireReader, WireWriter, WT_LEN, WT_VARINT } from "./wire.ts";

/** `ReadRequest.ResponseType.SAMPLES`: one snappy-compressed ReadResponse. */
export const RESPONSE_SAMPLES = 0;
/** `ReadRequest.ResponseType.STREAMED_XOR_CHUNKS`: framed ChunkedReadResponses. */
export const RESPONSE_STREAMED_XOR_CHUNKS = 1;

/** The hints Prometheus sends with a query (informational: wattwave answers with raw samples). */
export interface ReadHints {
  /** Query step, ms. */
  stepMs: number;
  /** The PromQL function around the selector, e.g. `rate`. */
  func: string;
  /** Start of the selection, ms. */
  startMs: number;
  /** End of the selection, ms. */
  endMs: number;
  /** `by`/`without` grouping labels. */
  grouping: string[];
  /** Whether `grouping` is `by` (else `without`). */
  by: boolean;
  /** Range of a range vector, ms. */
  rangeMs: number;
}

/** One query of a ReadRequest. */
export interface ReadQuery {
  /** Inclusive start, ms since the epoch. */
  startMs: number;
  /** Inclusive end, ms since the epoch. */
  endMs: number;
  /** Matchers, in request order (not compiled). */
  matchers: LabelMatcher[];
  /** Hints, when sent. */
  hints?: ReadHints;
}

/** A decoded ReadRequest. */
export interface DecodedReadRequest {
  /** Queries in request order. */
  queries: ReadQuery[];
  /** Response types the client accepts, in its order of preference. */
  acceptedResponseTypes: number[];
}

function decodeMatcher(r: WireReader, end: number): LabelMatcher {
  const outer = r.end;
  r.end = end;
  let type = 0;
  let name = "";
  let value = "";
  while (r.pos < end) {
    const key = r.key();
    if (key === (1 << 3 | WT_VARINT)) type = r.uint32(); // 1: type (enum)
    else if (key === (2 << 3 | WT_LEN)) name = r.string(); // 2: name
    else if (key === (3 << 3 | WT_LEN)) value = r.string(); // 3: value
    else r.skip(key & 7);
  }
  const op = MATCH_TYPES_BY_NUMBER[type];
  if (op === undefined) r.fail(`unknown label matcher type ${type} (expected 0-3)`);
  if (name === "") r.fail("label matcher without a label name");
  r.end = outer;
  return { name, type: op, value };
}

function decodeHints(r: WireReader, end: number): ReadHints {
  const outer = r.end;
  r.end = end;
  const h: ReadHints = {
    stepMs: 0,
    func: "",
    startMs: 0,
    endMs: 0,
    grouping: [],
    by: false,
    rangeMs: 0,
  };
  while (r.pos < end) {
    const key = r.key();
    if (key === (1 << 3 | WT_VARINT)) h.stepMs = r.int64(); // 1: step_ms
    else if (key === (2 << 3 | WT_LEN)) h.func = r.string(); // 2: func
    else if (key === (3 << 3 | WT_VARINT)) h.startMs = r.int64(); // 3: start_ms
    else if (key === (4 << 3 | WT_VARINT)) h.endMs = r.int64(); // 4: end_ms
    else if (key === (5 << 3 | WT_LEN)) h.grouping.push(r.string()); // 5: grouping
    else if (key === (6 << 3 | WT_VARINT)) h.by = r.uint32() !== 0; // 6: by
    else if (key === (7 << 3 | WT_VARINT)) h.rangeMs = r.int64(); // 7: range_ms
    else r.skip(key & 7);
  }
  r.end = outer;
  return h;
}

function decodeQuery(r: WireReader, end: number): ReadQuery {
  const outer = r.end;
  r.end = end;
  const q: ReadQuery = { startMs: 0, endMs: 0, matchers: [] };
  while (r.pos < end) {
    const key = r.key();
    if (key === (1 << 3 | WT_VARINT)) q.startMs = r.int64(); // 1: start_timestamp_ms
    else if (key === (2 << 3 | WT_VARINT)) q.endMs = r.int64(); // 2: end_timestamp_ms
    else if (key === (3 << 3 | WT_LEN)) { // 3: matchers
      const mEnd = r.lengthEnd();
      q.matchers.push(decodeMatcher(r, mEnd));
      r.pos = mEnd;
    } else if (key === (4 << 3 | WT_LEN)) { // 4: hints
      const hEnd = r.lengthEnd();
      q.hints = decodeHints(r, hEnd);
      r.pos = hEnd;
    } else r.skip(key & 7);
  }
  r.end = outer;
  return q;
}

/** Decodes a (decompressed) ReadRequest. Throws `InputError` with a byte offset on malformed input. */
export function decodeReadRequest(bytes: Uint8Array): DecodedReadRequest {
  const r = new WireReader(bytes);
  const queries: ReadQuery[] = [];
  const acceptedResponseTypes: number[] = [];
  while (r.pos < r.end) {
    const key = r.key();
    if (key === (1 << 3 | WT_LEN)) { // 1: queries
      const end = r.lengthEnd();
      queries.push(decodeQuery(r, end));
      r.pos = end;
    } else if (key === (2 << 3 | WT_VARINT)) { // 2: accepted_response_types, unpacked
      acceptedResponseTypes.push(r.uint32());
    } else if (key === (2 << 3 | WT_LEN)) { // 2: accepted_response_types, packed
      const end = r.lengthEnd();
      const outer = r.end;
      r.end = end;
      while (r.pos < end) acceptedResponseTypes.push(r.uint32());
      r.end = outer;
    } else r.skip(key & 7);
  }
  return { queries, acceptedResponseTypes };
}

/** Encodes a ReadRequest (packed response types, as Go's protobuf does). */
export function encodeReadRequest(request: DecodedReadRequest): Uint8Array {
  const w = new WireWriter(256);
  for (const q of request.queries) {
    const qm = w.beginLength(1); // ReadRequest 1: queries
    w.key(1, WT_VARINT); // Query 1: start_timestamp_ms
    w.int64(q.startMs);
    w.key(2, WT_VARINT); // Query 2: end_timestamp_ms
    w.int64(q.endMs);
    for (const m of q.matchers) {
      const mm = w.beginLength(3); // Query 3: matchers
      w.key(1, WT_VARINT); // LabelMatcher 1: type
      w.varint(MATCH_TYPES_BY_NUMBER.indexOf(m.type));
      w.stringField(2, m.name); // LabelMatcher 2: name
      w.stringField(3, m.value); // LabelMatcher 3: value
      w.endLength(mm);
    }
    if (q.hints) {
      const h = q.hints;
      const hm = w.beginLength(4); // Query 4: hints
      w.key(1, WT_VARINT); // ReadHints 1: step_ms
      w.int64(h.stepMs);
      w.stringField(2, h.func); // ReadHints 2: func
      w.key(3, WT_VARINT); // ReadHints 3: start_ms
      w.int64(h.startMs);
      w.key(4, WT_VARINT); // ReadHints 4: end_ms
      w.int64(h.endMs);
      for (const g of h.grouping) w.stringField(5, g); // ReadHints 5: grouping
      w.key(6, WT_VARINT); // ReadHints 6: by
      w.varint(h.by ? 1 : 0);
      w.key(7, WT_VARINT); // ReadHints 7: range_ms
      w.int64(h.rangeMs);
      w.endLength(hm);
    }
    w.endLength(qm);
  }
  if (request.acceptedResponseTypes.length) {
    const pm = w.beginLength(2); // ReadRequest 2: accepted_response_types (packed)
    for (const t of request.acceptedResponseTypes) w.varint(t);
    w.endLength(pm);
  }
  return w.finish().slice();
}
