/**
 * Worker entry of {@linkcode readNdjsonColumns}' parse pool: parses batches of NDJSON lines into
 * {@linkcode SampleColumns} off the main thread. Each worker numbers its own series.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { ColumnParser, parseJob, type SampleColumns } from "./columns.ts";

/** Whole lines of a stream for the worker, cut at a newline (see `splitLines`). */
export interface ParseJob {
  /** Job id, echoed in the answer. */
  id: number;
  /** Id of the worker's parser (its series ids); read from the first job. */
  parser: number;
  /** Stop a batch at its first bad line; read from the first job. */
  strict: boolean;
  /** The lines' bytes. */
  bytes: ArrayBuffer;
  /** Length of an oversized line before `bytes`, or -1. */
  oversizedBefore: number;
  /** Whether `bytes` starts its stream (a byte order mark is dropped). */
  streamStart: boolean;
}

/** The worker's answer to one job. */
export type ParseAnswer =
  | { id: number; ok: true; columns: SampleColumns }
  | { id: number; ok: false; message: string };

let parser: ColumnParser | undefined;

self.onmessage = (e: MessageEvent<ParseJob>) => {
  const job = e.data;
  try {
    parser ??= new ColumnParser(job.parser, { strict: job.strict });
    const columns = parseJob(parser, new Uint8Array(job.bytes), job);
    const answer: ParseAnswer = { id: job.id, ok: true, columns };
    self.postMessage(answer, [
      columns.seriesIds.buffer as ArrayBuffer,
      columns.timestampsMs.buffer as ArrayBuffer,
      columns.values.buffer as ArrayBuffer,
    ]);
  } catch (err) {
    self.postMessage({ id: job.id, ok: false, message: String(err) } satisfies ParseAnswer);
  }
};
