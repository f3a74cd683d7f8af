/**
 * Workers (`format_worker.ts`, on `lib/workers`) that turn remote-write bodies into NDJSON bytes,
 * so that `receive` uses every core: the main thread only does HTTP and ordered output. A body
 * whose worker fails is formatted again by another worker or, when none is left, here.
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import { defaultFormatWorkers } from "../../workers/counts.ts";
import { WORKER_MODULES } from "../../workers/modules.ts";
import { WorkerPool } from "../../workers/pool.ts";
import type { WorkerErrorInfo } from "../../workers/protocol.ts";
import { HttpRefusal } from "../http.ts";
import { formatBody, type FormatJob, type Formatted } from "./format_job.ts";
import type { WriteLimits } from "./write_limits.ts";
import type { WriteVersion } from "./write_handler.ts";
import type { OutputFormat } from "./ndjson_output.ts";

export type { Formatted } from "./format_job.ts";

/** Options of {@linkcode NdjsonFormatPool}. */
export interface NdjsonFormatPoolOptions {
  /** Worker count. Default {@linkcode defaultFormatWorkers}. */
  workers?: number;
  /** Output schema. Default "ndjson". */
  format?: OutputFormat;
  /** What one request may hold (see `write_limits.ts`). Default the defaults. */
  limits?: Partial<WriteLimits>;
  /** Told when a worker fails (its bodies are formatted elsewhere). */
  onWorkerFailed?: (reason: string) => void;
}

function reviveError(e: WorkerErrorInfo): Error {
  if (e.status !== undefined) return new HttpRefusal(e.status, e.message);
  if (e.name === "InputError") return new InputError(e.message);
  return new Error(e.message);
}

/** Dispatches bodies to the least-busy worker; answers come back in any order. */
export class NdjsonFormatPool {
  #pool: WorkerPool<FormatJob, Formatted>;
  #format: OutputFormat;
  #limits: Partial<WriteLimits>;

  /** Starts the workers. Call {@linkcode close} when done. */
  constructor(options: NdjsonFormatPoolOptions = {}) {
    this.#format = options.format ?? "ndjson";
    this.#limits = options.limits ?? {};
    this.#pool = new WorkerPool<FormatJob, Formatted>({
      url: WORKER_MODULES.format,
      workers: options.workers ?? defaultFormatWorkers(),
      name: "format",
      runHere: (job) => Promise.resolve(formatBody(job)),
      reviveError,
      onWorkerFailed: options.onWorkerFailed,
    });
  }

  /**
   * Formats one snappy WriteRequest body; throws {@linkcode HttpRefusal} for 400/413 bodies and
   * `InputError` for requests that cannot be written in the output format.
   */
  format(body: Uint8Array, version: WriteVersion = 1): Promise<Formatted> {
    return this.#pool.run({ body, limits: this.#limits, format: this.#format, version });
  }

  /** Stops the workers (pending jobs are rejected). */
  close(): void {
    this.#pool.close();
  }
}
