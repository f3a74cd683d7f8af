/**
 * Writing NDJSON lines to a byte stream (stdout or a file) with buffering and backpressure.
 * Lines go into one byte buffer: strings through `TextEncoder.encodeInto`, samples through
 * {@linkcode NdjsonWriter.writeSample}, which writes the numbers as digits (no string per line).
 *
 * @module
 */
import type { NdjsonRecord } from "../model/sample.ts";
import { formatRecord } from "./contract.ts";
import {
  MAX_INTEGER_BYTES,
  MAX_JSON_VALUE_BYTES,
  putInteger,
  putJsonValue,
  putValueKey,
} from "./number_bytes.ts";

/** Options of {@linkcode NdjsonWriter}. */
export interface NdjsonWriterOptions {
  /** Bytes buffered before a write is issued. Default 64 KiB. */
  bufferBytes?: number;
}

const encoder = new TextEncoder();

/**
 * Buffers lines and writes them in chunks. `write*` returns a promise only when the buffer
 * was flushed, so callers that await it get the destination's backpressure.
 */
export class NdjsonWriter {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #buf: Uint8Array;
  #pos = 0;
  #bufferBytes: number;

  /** Wraps a byte sink such as `Deno.stdout.writable`. */
  constructor(sink: WritableStream<Uint8Array>, options: NdjsonWriterOptions = {}) {
    this.#writer = sink.getWriter();
    this.#bufferBytes = options.bufferBytes ?? 64 * 1024;
    this.#buf = new Uint8Array(this.#bufferBytes + 4096);
  }

  /** Makes room for `n` more bytes (the buffer grows for a line longer than it). */
  #room(n: number): Uint8Array {
    if (this.#pos + n > this.#buf.length) {
      const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.#pos + n));
      grown.set(this.#buf.subarray(0, this.#pos));
      this.#buf = grown;
    }
    return this.#buf;
  }

  /** Queues one line (a newline is added). Resolves once the buffer, if full, is written. */
  writeLine(line: string): Promise<void> | undefined {
    const buf = this.#room(line.length * 3 + 1); // UTF-8 takes at most 3 bytes per UTF-16 unit
    this.#pos += encoder.encodeInto(line, buf.subarray(this.#pos)).written;
    buf[this.#pos++] = 10; // \n
    return this.#pos >= this.#bufferBytes ? this.flush() : undefined;
  }

  /**
   * Queues one sample line: `prefix` (the series' UTF-8 `{"name":…,"labels":{…},"timestamp":`),
   * then the timestamp, the value (as `formatJsonValue(value, nanBits)`) and `}`.
   */
  writeSample(
    prefix: Uint8Array,
    timestampMs: number,
    value: number,
    nanBits?: string,
  ): Promise<void> | undefined {
    const buf = this.#room(prefix.length + MAX_INTEGER_BYTES + 9 + MAX_JSON_VALUE_BYTES + 2);
    let pos = this.#pos;
    buf.set(prefix, pos);
    pos = putValueKey(buf, putInteger(buf, pos + prefix.length, timestampMs));
    pos = putJsonValue(buf, pos, value, nanBits);
    buf[pos] = 125; // }
    buf[pos + 1] = 10; // \n
    this.#pos = pos + 2;
    return this.#pos >= this.#bufferBytes ? this.flush() : undefined;
  }

  /** Queues one record. */
  writeRecord(record: NdjsonRecord): Promise<void> | undefined {
    return this.writeLine(formatRecord(record));
  }

  /** Writes what is buffered and waits for the sink to take it. */
  async flush(): Promise<void> {
    if (this.#pos === 0) return;
    const bytes = this.#buf.slice(0, this.#pos); // the sink may hold it while the buffer refills
    this.#pos = 0;
    await this.#writer.ready;
    await this.#writer.write(bytes);
  }

  /** Flushes and closes the sink. */
  async close(): Promise<void> {
    await this.flush();
    await this.#writer.close();
  }

  /** Flushes and releases the sink without closing it (for stdout shared with other writers). */
  async release(): Promise<void> {
    await this.flush();
    this.#writer.releaseLock();
  }
}
