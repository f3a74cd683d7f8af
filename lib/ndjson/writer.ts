/**
 * Writing NDJSON lines to a byte stream (stdout or a file) with buffering and backpressure.
 *
 * @module
 */
import type { NdjsonRecord } from "../model/sample.ts";
import { formatRecord } from "./contract.ts";

/** Options of {@linkcode NdjsonWriter}. */
export interface NdjsonWriterOptions {
  /** Characters buffered before a write is issued. Default 64 KiB. */
  bufferChars?: number;
}

/**
 * Buffers lines and writes them in chunks. `write*` returns a promise only when the buffer
 * was flushed, so callers that await it get the destination's backpressure.
 */
export class NdjsonWriter {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #encoder = new TextEncoder();
  #buffer = "";
  #bufferChars: number;

  /** Wraps a byte sink such as `Deno.stdout.writable`. */
  constructor(sink: WritableStream<Uint8Array>, options: NdjsonWriterOptions = {}) {
    this.#writer = sink.getWriter();
    this.#bufferChars = options.bufferChars ?? 64 * 1024;
  }

  /** Queues one line (a newline is added). Resolves once the buffer, if full, is written. */
  writeLine(line: string): Promise<void> | undefined {
    this.#buffer += line + "\n";
    if (this.#buffer.length >= this.#bufferChars) return this.flush();
    return undefined;
  }

  /** Queues one record. */
  writeRecord(record: NdjsonRecord): Promise<void> | undefined {
    return this.writeLine(formatRecord(record));
  }

  /** Writes what is buffered and waits for the sink to take it. */
  async flush(): Promise<void> {
    if (this.#buffer.length === 0) return;
    const bytes = this.#encoder.encode(this.#buffer);
    this.#buffer = "";
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
