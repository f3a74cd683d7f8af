/**
 * Worker entry of {@linkcode NdjsonFormatPool}: snappy-decodes, decodes, validates and formats
 * one remote-write body as NDJSON bytes, off the main thread.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { decodeWriteBody, HttpRefusal } from "./write_handler.ts";
import { formatWriteRequestBytes, type OutputFormat } from "./ndjson_output.ts";

/** A job for the worker. */
export interface FormatJob {
  id: number;
  body: ArrayBuffer;
  maxDecodedBytes: number;
  format: OutputFormat;
}

/** The worker's answer. */
export type FormatAnswer =
  | { id: number; ok: true; bytes: ArrayBuffer; length: number; samples: number }
  | { id: number; ok: false; status: number; message: string };

self.onmessage = (e: MessageEvent<FormatJob>) => {
  const { id, body, maxDecodedBytes, format } = e.data;
  try {
    const decoded = decodeWriteBody(new Uint8Array(body), maxDecodedBytes);
    const out = formatWriteRequestBytes(decoded, format);
    const answer: FormatAnswer = {
      id,
      ok: true,
      bytes: out.buffer as ArrayBuffer,
      length: out.byteOffset + out.length,
      samples: decoded.sampleCount,
    };
    self.postMessage(answer, [out.buffer as ArrayBuffer]);
  } catch (err) {
    const status = err instanceof HttpRefusal ? err.status : 500;
    self.postMessage(
      { id, ok: false, status, message: (err as Error).message } satisfies FormatAnswer,
    );
  }
};
