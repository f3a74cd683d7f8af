/**
 * Worker entry of {@linkcode readNdjsonColumns}' parse pool: parses jobs of whole NDJSON lines
 * into {@linkcode SampleColumns} off the main thread, with its own series numbering (the parser
 * id comes with the setup). The columns' buffers are transferred back.
 *
 * @module
 */
import { serveJobs } from "../workers/serve.ts";
import { ColumnParser, parseJob, type SampleColumns } from "./columns.ts";

/** A worker's setup. */
export interface ParseSetup {
  /** Id of the worker's parser (its series ids). */
  parser: number;
  /** Stop a batch at its first bad line. */
  strict: boolean;
}

/** Whole lines of a stream for the worker, cut at a newline (see `splitLines`). */
export interface ParseJob {
  /** The lines' bytes. */
  bytes: Uint8Array;
  /** Length of an oversized line before `bytes`, or -1. */
  oversizedBefore: number;
  /** Whether `bytes` starts its stream (a byte order mark is dropped). */
  streamStart: boolean;
}

let parser: ColumnParser | undefined;

serveJobs<ParseJob, SampleColumns>({
  init: (data) => {
    const setup = data as ParseSetup;
    parser = new ColumnParser(setup.parser, { strict: setup.strict });
  },
  run: (job) => {
    const columns = parseJob(parser!, job.bytes, job);
    return {
      result: columns,
      transfer: [
        columns.seriesIds.buffer as ArrayBuffer,
        columns.timestampsMs.buffer as ArrayBuffer,
        columns.values.buffer as ArrayBuffer,
      ],
    };
  },
});
