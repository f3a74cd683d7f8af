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
import { decodeWriteRequest, type WireSeries, writeSampleFields } from "./write_request.ts";
import { varintLength, WireReader, WireWriter, WT_LEN } from "./wire.ts";

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
    writeSampleFields(this.#w, timestampsMs, values, from, to);
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

/** One series of an assembled ReadResponse: its label block and its encoded samples, in pieces. */
export interface ReadSeriesParts {
  /** From `encodeLabelBlock` (labels sorted, with `__name__`). */
  labelBlock: Uint8Array;
  /** `TimeSeries.samples` fields, already encoded (e.g. `WireSamples.slice`), in time order. */
  samples: Uint8Array[];
}

function seriesBodyLength(s: ReadSeriesParts): number {
  let n = s.labelBlock.length;
  for (const p of s.samples) n += p.length;
  return n;
}

function resultBodyLength(result: readonly ReadSeriesParts[]): number {
  let n = 0;
  for (const s of result) {
    const body = seriesBodyLength(s);
    n += 1 + varintLength(body) + body; // QueryResult 1: timeseries
  }
  return n;
}

/** Bytes of the ReadResponse {@linkcode writeReadResponse} writes for `results`. */
export function readResponseLength(results: readonly (readonly ReadSeriesParts[])[]): number {
  let n = 0;
  for (const r of results) {
    const body = resultBodyLength(r);
    n += 1 + varintLength(body) + body; // ReadResponse 1: results
  }
  return n;
}

function putVarint(out: Uint8Array, p: number, n: number): number {
  while (n >= 128) {
    out[p++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[p++] = n;
  return p;
}

/**
 * Writes a ReadResponse (one QueryResult per element of `results`, in order) into `out` from
 * `offset`, copying the pre-encoded pieces once; returns the end offset. `out` needs
 * {@linkcode readResponseLength} bytes from `offset`.
 */
export function writeReadResponse(
  results: readonly (readonly ReadSeriesParts[])[],
  out: Uint8Array,
  offset: number,
): number {
  let p = offset;
  for (const r of results) {
    out[p++] = 0x0a; // ReadResponse 1: results (length-delimited)
    p = putVarint(out, p, resultBodyLength(r));
    for (const s of r) {
      out[p++] = 0x0a; // QueryResult 1: timeseries (length-delimited)
      p = putVarint(out, p, seriesBodyLength(s));
      out.set(s.labelBlock, p); // TimeSeries 1: labels (pre-encoded fields)
      p += s.labelBlock.length;
      for (const piece of s.samples) { // TimeSeries 2: samples (pre-encoded fields)
        out.set(piece, p);
        p += piece.length;
      }
    }
  }
  return p;
}

/** Options of {@linkcode readResponseChunks}. */
export interface ReadResponseChunkOptions {
  /** Bytes to send before the message (e.g. a snappy literal header). Default none. */
  prefix?: Uint8Array;
  /** Pieces at least this long are passed on as views instead of copied. Default 16 KiB. */
  minViewBytes?: number;
  /** Size of the buffers small pieces are gathered into. Default 64 KiB. */
  chunkBytes?: number;
}

/**
 * The bytes of {@linkcode writeReadResponse} as a sequence of chunks for a streamed HTTP body,
 * without assembling the whole message: small pieces (field keys, lengths, label blocks) are
 * gathered into fresh buffers, large sample pieces are passed on as views of the caller's
 * (immutable) arrays, uncopied.
 */
export function* readResponseChunks(
  results: readonly (readonly ReadSeriesParts[])[],
  options: ReadResponseChunkOptions = {},
): Generator<Uint8Array> {
  const minView = options.minViewBytes ?? 16 * 1024;
  const chunkBytes = Math.max(options.chunkBytes ?? 64 * 1024, minView + 16);
  let buf = new Uint8Array(chunkBytes);
  let p = 0;
  const out: Uint8Array[] = [];
  const flush = () => {
    if (p === 0) return;
    out.push(buf.subarray(0, p));
    buf = new Uint8Array(chunkBytes);
    p = 0;
  };
  const copy = (bytes: Uint8Array) => {
    let at = 0;
    while (at < bytes.length) {
      if (p === chunkBytes) flush();
      const n = Math.min(bytes.length - at, chunkBytes - p);
      buf.set(bytes.subarray(at, at + n), p);
      p += n;
      at += n;
    }
  };
  const piece = (bytes: Uint8Array) => {
    if (bytes.length >= minView) {
      flush();
      out.push(bytes);
    } else copy(bytes);
  };
  const head = new Uint8Array(6);
  if (options.prefix) copy(options.prefix);
  for (const r of results) {
    head[0] = 0x0a; // ReadResponse 1: results (length-delimited)
    copy(head.subarray(0, putVarint(head, 1, resultBodyLength(r))));
    for (const s of r) {
      head[0] = 0x0a; // QueryResult 1: timeseries (length-delimited)
      copy(head.subarray(0, putVarint(head, 1, seriesBodyLength(s))));
      copy(s.labelBlock); // TimeSeries 1: labels (pre-encoded fields)
      for (const x of s.samples) piece(x); // TimeSeries 2: samples (pre-encoded fields)
      if (out.length) {
        yield* out;
        out.length = 0;
      }
    }
  }
  flush();
  yield* out;
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
