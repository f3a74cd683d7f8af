/**
 * Remote read's STREAMED_XOR_CHUNKS response: frames of
 * `uvarint(length) · CRC-32C(message), 4 bytes big-endian · ChunkedReadResponse message`,
 * each message holding one series (or a part of one) of one query as XOR chunks.
 *
 * Field numbers: ChunkedReadResponse{chunked_series=1, query_index=2},
 * ChunkedSeries{labels=1, chunks=2}, Chunk{min_time_ms=1, max_time_ms=2, type=3 (XOR=1), data=4}.
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import { crc32c } from "./crc32c.ts";
import { MAX_BYTES_PER_APPEND, SAMPLES_PER_CHUNK, XorChunkEncoder } from "./xor_chunk.ts";
import { WireReader, WireWriter, WT_LEN, WT_VARINT } from "./wire.ts";

/** Content-Type of a streamed response. */
export const STREAMED_CONTENT_TYPE =
  "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";
/** `Chunk.Encoding.XOR`. */
export const CHUNK_ENCODING_XOR = 1;

/** Bytes a frame adds around its series: length ≤ 5, CRC 4, series key+length ≤ 6, query_index ≤ 11. */
const FRAME_OVERHEAD_BYTES = 26;
/** Bytes a chunk adds around its data: key+length ≤ 6, min/max time ≤ 11 each, type 2, data key+length ≤ 6. */
const CHUNK_OVERHEAD_BYTES = 36;
/** Smallest chunk: 2-byte count and one sample. */
const MIN_CHUNK_BYTES = 2 + MAX_BYTES_PER_APPEND;

/** The smallest `maxBytesInFrame` that fits a series with this label block. */
export function minFrameBytes(labelBlock: Uint8Array): number {
  return FRAME_OVERHEAD_BYTES + labelBlock.length + CHUNK_OVERHEAD_BYTES + MIN_CHUNK_BYTES;
}

/** Options of {@linkcode ChunkedSeriesFramer}. */
export interface ChunkedFramerOptions {
  /** Upper bound on the size of a whole frame (length, CRC and message), bytes. Default 1 MiB. */
  maxBytesInFrame?: number;
  /** Samples per XOR chunk. Default {@linkcode SAMPLES_PER_CHUNK} (120). */
  samplesPerChunk?: number;
}

/**
 * Turns series into frames no larger than `maxBytesInFrame`, cutting XOR chunks at
 * `samplesPerChunk` samples as Prometheus does (or earlier when the frame is full). Incremental:
 * `beginSeries`, `addSamples`… (each returns the frames completed so far), `endSeries`.
 * A series too long for one frame continues in the next frames with the same labels.
 */
export class ChunkedSeriesFramer {
  /** Upper bound on a whole frame, bytes. */
  readonly maxBytesInFrame: number;
  /** Samples per XOR chunk. */
  readonly samplesPerChunk: number;
  #enc = new XorChunkEncoder();
  #w = new WireWriter(64 * 1024);
  #queryIndex = 0;
  #labelBlock: Uint8Array = new Uint8Array(0);
  #seriesMark = -1; // -1: no frame open
  #used = 0; // upper bound of the open frame's size
  #room = 0; // bytes the open chunk may grow to
  #lastTs = -Infinity;

  /** A framer (see {@linkcode ChunkedFramerOptions} for defaults). */
  constructor(options: ChunkedFramerOptions = {}) {
    this.maxBytesInFrame = options.maxBytesInFrame ?? 1024 * 1024;
    this.samplesPerChunk = options.samplesPerChunk ?? SAMPLES_PER_CHUNK;
  }

  /**
   * Starts a series of query `queryIndex` with a label block from `encodeLabelBlock`. Throws
   * `RangeError` when the labels leave no room for a chunk (see {@linkcode minFrameBytes}).
   */
  beginSeries(queryIndex: number, labelBlock: Uint8Array): void {
    if (minFrameBytes(labelBlock) > this.maxBytesInFrame) {
      throw new RangeError(
        `a series' labels take ${labelBlock.length} bytes: no chunk fits in a frame of ${this.maxBytesInFrame} bytes`,
      );
    }
    this.#queryIndex = queryIndex;
    this.#labelBlock = labelBlock;
    this.#seriesMark = -1;
    this.#enc.reset();
    this.#lastTs = -Infinity;
  }

  #openFrame(): void {
    const w = this.#w;
    w.pos = 0;
    this.#seriesMark = w.beginLength(1); // ChunkedReadResponse 1: chunked_series
    w.bytes(this.#labelBlock); // ChunkedSeries 1: labels
    this.#used = FRAME_OVERHEAD_BYTES + this.#labelBlock.length;
  }

  #closeChunk(): void {
    const enc = this.#enc;
    if (enc.count === 0) return;
    this.#writeChunk(CHUNK_ENCODING_XOR, enc.minTimeMs, enc.maxTimeMs, enc.bytes());
    enc.reset();
  }

  /** Writes one Chunk message into the open frame. */
  #writeChunk(encoding: number, minTimeMs: number, maxTimeMs: number, data: Uint8Array): void {
    const w = this.#w;
    const chunkMark = w.beginLength(2); // ChunkedSeries 2: chunks
    w.key(1, WT_VARINT); // Chunk 1: min_time_ms
    w.int64(minTimeMs);
    w.key(2, WT_VARINT); // Chunk 2: max_time_ms
    w.int64(maxTimeMs);
    w.key(3, WT_VARINT); // Chunk 3: type
    w.varint(encoding);
    w.key(4, WT_LEN); // Chunk 4: data
    w.varint(data.length);
    w.bytes(data);
    w.endLength(chunkMark);
    this.#used += CHUNK_OVERHEAD_BYTES + data.length;
  }

  #closeFrame(out: Uint8Array[]): void {
    if (this.#seriesMark < 0) return;
    const w = this.#w;
    w.endLength(this.#seriesMark);
    if (this.#queryIndex !== 0) {
      w.key(2, WT_VARINT); // ChunkedReadResponse 2: query_index
      w.int64(this.#queryIndex);
    }
    out.push(frameOf(w.finish()));
    this.#seriesMark = -1;
  }

  /**
   * Adds samples `[from, to)` of the columns (timestamps ascending; a repeated timestamp is
   * dropped, the first kept) and returns the frames completed meanwhile.
   */
  addSamples(
    timestampsMs: ArrayLike<number>,
    values: Float64Array,
    from: number,
    to: number,
  ): Uint8Array[] {
    const out: Uint8Array[] = [];
    const view = new DataView(values.buffer, values.byteOffset, values.byteLength);
    const enc = this.#enc;
    const max = this.maxBytesInFrame;
    for (let i = from; i < to; i++) {
      const t = timestampsMs[i];
      if (t <= this.#lastTs) continue;
      this.#lastTs = t;
      if (
        enc.count > 0 &&
        (enc.count >= this.samplesPerChunk || enc.sizeBytes + MAX_BYTES_PER_APPEND > this.#room)
      ) this.#closeChunk();
      if (enc.count === 0) {
        if (this.#seriesMark >= 0 && this.#used + CHUNK_OVERHEAD_BYTES + MIN_CHUNK_BYTES > max) {
          this.#closeFrame(out);
        }
        if (this.#seriesMark < 0) this.#openFrame();
        this.#room = max - this.#used - CHUNK_OVERHEAD_BYTES;
      }
      enc.appendFrom(timestampsMs, view, i);
    }
    return out;
  }

  /**
   * Adds one encoded chunk of another encoding (a native histogram chunk) to the open series,
   * after its XOR samples so far, and returns the frames completed meanwhile. Throws
   * `RangeError` when the chunk cannot fit in a frame.
   */
  addChunk(encoding: number, minTimeMs: number, maxTimeMs: number, data: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.#closeChunk();
    const need = CHUNK_OVERHEAD_BYTES + data.length;
    if (FRAME_OVERHEAD_BYTES + this.#labelBlock.length + need > this.maxBytesInFrame) {
      throw new RangeError(
        `a ${data.length}-byte chunk does not fit in a frame of ${this.maxBytesInFrame} bytes`,
      );
    }
    if (this.#seriesMark >= 0 && this.#used + need > this.maxBytesInFrame) this.#closeFrame(out);
    if (this.#seriesMark < 0) this.#openFrame();
    this.#writeChunk(encoding, minTimeMs, maxTimeMs, data);
    return out;
  }

  /** Ends the series and returns its last frames. */
  endSeries(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.#closeChunk();
    this.#closeFrame(out);
    return out;
  }

  /** All frames of samples `[from, to)` of one series (begin, add, end in one call). */
  frames(
    queryIndex: number,
    labelBlock: Uint8Array,
    timestampsMs: ArrayLike<number>,
    values: Float64Array,
    from: number,
    to: number,
  ): Uint8Array[] {
    this.beginSeries(queryIndex, labelBlock);
    return [...this.addSamples(timestampsMs, values, from, to), ...this.endSeries()];
  }
}

/** Wraps a message in a frame: uvarint length, big-endian CRC-32C, the message. */
export function frameOf(message: Uint8Array): Uint8Array {
  let lenBytes = 1;
  for (let n = message.length; n >= 128; n = Math.floor(n / 128)) lenBytes++;
  const frame = new Uint8Array(lenBytes + 4 + message.length);
  let p = 0;
  let n = message.length;
  while (n >= 128) { // uvarint: message length
    frame[p++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  frame[p++] = n;
  new DataView(frame.buffer).setUint32(p, crc32c(message), false); // 4 bytes: CRC-32C, big-endian
  frame.set(message, p + 4);
  return frame;
}

/** One decoded chunk. */
export interface WireChunk {
  /** Time of the first sample, ms. */
  minTimeMs: number;
  /** Time of the last sample, ms. */
  maxTimeMs: number;
  /** `Chunk.Encoding` number (1 = XOR, 2 = HISTOGRAM, 3 = FLOAT_HISTOGRAM). */
  type: number;
  /** The encoded chunk. */
  data: Uint8Array;
}

/** One decoded ChunkedReadResponse. */
export interface DecodedChunkedResponse {
  /** Index of the query in the ReadRequest. */
  queryIndex: number;
  /** Series of the message. */
  series: { labels: [string, string][]; chunks: WireChunk[] }[];
}

function decodeChunk(r: WireReader, end: number): WireChunk {
  const c: WireChunk = { minTimeMs: 0, maxTimeMs: 0, type: 0, data: new Uint8Array(0) };
  while (r.pos < end) {
    const key = r.key();
    if (key === (1 << 3 | WT_VARINT)) c.minTimeMs = r.int64(); // 1: min_time_ms
    else if (key === (2 << 3 | WT_VARINT)) c.maxTimeMs = r.int64(); // 2: max_time_ms
    else if (key === (3 << 3 | WT_VARINT)) c.type = r.uint32(); // 3: type
    else if (key === (4 << 3 | WT_LEN)) { // 4: data
      const dEnd = r.lengthEnd();
      c.data = r.bytes.slice(r.pos, dEnd);
      r.pos = dEnd;
    } else r.skip(key & 7);
  }
  return c;
}

/** Decodes one ChunkedReadResponse message. */
export function decodeChunkedReadResponse(message: Uint8Array): DecodedChunkedResponse {
  const r = new WireReader(message);
  const out: DecodedChunkedResponse = { queryIndex: 0, series: [] };
  while (r.pos < r.end) {
    const key = r.key();
    if (key === (1 << 3 | WT_LEN)) { // 1: chunked_series
      const sEnd = r.lengthEnd();
      const labels: [string, string][] = [];
      const chunks: WireChunk[] = [];
      while (r.pos < sEnd) {
        const k = r.key();
        if (k === (1 << 3 | WT_LEN) || k === (2 << 3 | WT_LEN)) {
          const end = r.lengthEnd();
          const outer = r.end;
          r.end = end;
          if (k === (2 << 3 | WT_LEN)) chunks.push(decodeChunk(r, end)); // 2: chunks
          else { // 1: labels
            let name = "";
            let value = "";
            while (r.pos < end) {
              const lk = r.key();
              if (lk === (1 << 3 | WT_LEN)) name = r.string(); // Label 1: name
              else if (lk === (2 << 3 | WT_LEN)) value = r.string(); // Label 2: value
              else r.skip(lk & 7);
            }
            labels.push([name, value]);
          }
          r.end = outer;
          r.pos = end;
        } else r.skip(k & 7);
      }
      out.series.push({ labels, chunks });
    } else if (key === (2 << 3 | WT_VARINT)) out.queryIndex = r.int64(); // 2: query_index
    else r.skip(key & 7);
  }
  return out;
}

/**
 * Splits a streamed body into its messages, checking each CRC-32C; throws `InputError` naming the
 * frame on a bad CRC or a truncated frame.
 */
export function splitFrames(body: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let p = 0;
  while (p < body.length) {
    let len = 0;
    let shift = 0;
    while (true) { // uvarint: message length
      if (p >= body.length) throw new InputError(`frame ${out.length}: truncated length`);
      const b = body[p++];
      len += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
      if (shift > 35) throw new InputError(`frame ${out.length}: length varint too long`);
    }
    if (p + 4 + len > body.length) {
      throw new InputError(
        `frame ${out.length}: ${len} bytes announced, ${body.length - p - 4} left`,
      );
    }
    const crc = view.getUint32(p, false); // 4 bytes: CRC-32C, big-endian
    const message = body.subarray(p + 4, p + 4 + len);
    const actual = crc32c(message);
    if (crc !== actual) {
      throw new InputError(
        `frame ${out.length}: CRC-32C mismatch (frame says ${crc.toString(16)}, message has ${
          actual.toString(16)
        })`,
      );
    }
    out.push(message);
    p += 4 + len;
  }
  return out;
}
