/**
 * The store of `receive --store` and `serve-read --write-path` on a thread of its own
 * (`store_worker.ts`): the HTTP thread hands each remote-write body over (no copy) and answers
 * when the worker says it is committed. Decoding a request of a million series and storing it
 * takes seconds and gigabytes of short-lived objects; on the HTTP thread their garbage
 * collection held `/-/healthy` for up to 1.4 s, here it holds nothing.
 *
 * If the worker fails, the requests it held get 500 and `onFailed` is told (the commands shut
 * down: without its writer the store takes nothing more). Only committed requests got 204.
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import type { StoreOptions } from "../../store/mod.ts";
import { WORKER_MODULES } from "../../workers/modules.ts";
import { WorkerPool } from "../../workers/pool.ts";
import type { WorkerErrorInfo } from "../../workers/protocol.ts";
import { HttpRefusal } from "../http.ts";
import type { StoreAnswer, StoreJob, StoreWriterStats } from "./store_job.ts";
import type { SinkResult, WriteVersion } from "./write_handler.ts";
import type { WriteLimits } from "./write_limits.ts";

/** Options of {@linkcode StoreWriterThread.open}. */
export interface StoreWriterThreadOptions {
  /** Store options. Default the store's defaults. */
  store?: StoreOptions;
  /** What one request may hold (see `write_limits.ts`). Default the defaults. */
  limits?: Partial<WriteLimits>;
  /** Told each commit's duration in seconds (for metrics). */
  onCommit?: (seconds: number) => void;
  /** Told once when the worker fails (no more writes can be stored). */
  onFailed?: (reason: string) => void;
}

/** The error a job threw, of its class where that matters here (status codes, exit messages). */
function reviveError(e: WorkerErrorInfo): Error {
  if (e.status !== undefined) return new HttpRefusal(e.status, e.message);
  if (e.name === "InputError") return new InputError(e.message);
  // Deno's I/O errors (PermissionDenied gets a hint in main.ts).
  const DenoError = (Deno.errors as Record<string, unknown>)[e.name];
  if (typeof DenoError === "function") {
    return new (DenoError as new (message: string) => Error)(e.message);
  }
  return new Error(e.message);
}

/** A body in a buffer of its own, which can be handed to the worker (a copy when it shares one). */
function ownBuffer(body: Uint8Array): Uint8Array {
  return body.byteOffset === 0 && body.byteLength === body.buffer.byteLength &&
      body.buffer instanceof ArrayBuffer
    ? body
    : body.slice();
}

/** A store written by a worker thread (see the module doc). */
export class StoreWriterThread {
  #pool: WorkerPool<StoreJob, StoreAnswer>;
  #stats: Omit<StoreWriterStats, "commitSeconds"> = {
    requests: 0,
    samples: 0,
    histograms: 0,
    exemplars: 0,
    duplicateSamples: 0,
  };
  #onCommit?: (seconds: number) => void;
  #failure: string | undefined;

  private constructor(options: StoreWriterThreadOptions) {
    this.#onCommit = options.onCommit;
    this.#pool = new WorkerPool<StoreJob, StoreAnswer>({
      url: WORKER_MODULES.store,
      workers: 1,
      name: "store",
      reviveError,
      transfer: (job) => job.kind === "write" ? [job.body.buffer as ArrayBuffer] : [],
      onWorkerFailed: (reason) => {
        this.#failure = reason;
        options.onFailed?.(reason);
      },
    });
  }

  /**
   * Starts the worker and opens the store `dir` there; throws what opening it threw (a lost
   * index, a directory that is not a store, ...).
   */
  static async open(
    dir: string,
    options: StoreWriterThreadOptions = {},
  ): Promise<StoreWriterThread> {
    const thread = new StoreWriterThread(options);
    try {
      thread.#take(
        await thread.#run({ kind: "open", dir, options: options.store, limits: options.limits }),
      );
    } catch (err) {
      thread.#pool.close();
      throw err;
    }
    return thread;
  }

  async #run(job: StoreJob): Promise<StoreAnswer> {
    try {
      return await this.#pool.run(job);
    } catch (err) {
      if (err instanceof HttpRefusal || err instanceof InputError || !this.#failure) throw err;
      throw new Error(`the store writer failed: ${this.#failure}`);
    }
  }

  #take(answer: StoreAnswer): void {
    const { commitSeconds, ...counters } = answer.stats;
    // Answers may arrive out of order: counters only grow.
    for (const k of Object.keys(counters) as (keyof typeof counters)[]) {
      this.#stats[k] = Math.max(this.#stats[k], counters[k]);
    }
    for (const s of commitSeconds) this.#onCommit?.(s);
  }

  /**
   * The sink to pass as `createWriteHandler({ bodySink })`: resolves with the counts stored once
   * the body's samples are committed; `HttpRefusal`/`InputError` for bodies that cannot be.
   */
  readonly bodySink = async (body: Uint8Array, version: WriteVersion): Promise<SinkResult> => {
    const answer = await this.#run({ kind: "write", body: ownBuffer(body), version });
    this.#take(answer);
    return answer.written ?? "ok";
  };

  /** Requests made durable so far. */
  get requests(): number {
    return this.#stats.requests;
  }

  /** Float samples made durable so far (with those already stored, skipped). */
  get samples(): number {
    return this.#stats.samples;
  }

  /** Native histogram samples made durable so far. */
  get histograms(): number {
    return this.#stats.histograms;
  }

  /** Exemplars made durable so far. */
  get exemplars(): number {
    return this.#stats.exemplars;
  }

  /** Samples not stored again because the store held them. */
  get duplicateSamples(): number {
    return this.#stats.duplicateSamples;
  }

  /** Closes the store in the worker (checkpoint, writer lock released), then stops the worker. */
  async close(): Promise<void> {
    try {
      if (!this.#failure) this.#take(await this.#run({ kind: "close" }));
    } finally {
      this.#pool.close();
    }
  }
}
