/**
 * One formatting job of `receive`: a snappy remote-write body in, NDJSON bytes out. The same
 * function runs in a worker (`format_worker.ts`) and, when no worker is left, on the main thread.
 *
 * @module
 */
import { formatBatchedRequestBytes, type OutputFormat } from "./ndjson_output.ts";
import { decodeWriteBodyBatched, type WriteVersion } from "./write_handler.ts";
import type { WriteLimits } from "./write_limits.ts";

/** A body to format. */
export interface FormatJob {
  /** The snappy WriteRequest body. */
  body: Uint8Array;
  /** What one request may hold. */
  limits: Partial<WriteLimits>;
  /** Output schema. */
  format: OutputFormat;
  /** Remote write 1.0 (`prometheus.WriteRequest`) or 2.0 (`io.prometheus.write.v2.Request`). */
  version: WriteVersion;
}

/** What a job made of one body. */
export interface Formatted {
  /** NDJSON bytes. */
  bytes: Uint8Array;
  /** Samples in the request. */
  samples: number;
  /** Native histograms written (0 with `--format arroyo`, which has no column for them). */
  histograms: number;
  /** Exemplars written (0 with `--format arroyo`). */
  exemplars: number;
  /** Native histograms and exemplars the format could not hold (counted, not written). */
  unwritten: number;
}

/** Decodes, validates and formats one body (throws `HttpRefusal` or `InputError` for bad ones). */
export function formatBody(job: FormatJob): Formatted {
  // Checked whole, then decoded again a batch at a time as it is formatted: a request of a
  // million series holds one batch of series objects, not a million.
  const decoded = decodeWriteBodyBatched(job.body, job.limits, job.version);
  const arroyo = job.format === "arroyo";
  return {
    bytes: formatBatchedRequestBytes(decoded, job.format),
    samples: decoded.sampleCount,
    histograms: arroyo ? 0 : decoded.histogramCount,
    exemplars: arroyo ? 0 : decoded.exemplarCount,
    unwritten: arroyo ? decoded.histogramCount + decoded.exemplarCount : 0,
  };
}
