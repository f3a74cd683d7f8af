/**
 * The work of the store writer thread (`store_worker.ts`, driven by `store_thread.ts`): opens a
 * store, then decodes, validates and appends remote-write bodies and answers once they are
 * committed (requests that arrive meanwhile are committed together, see `StoreWriteSink`).
 * Kept apart from the worker entry so that it can run (and be tested) on any thread.
 *
 * @module
 */
import { Store, type StoreOptions } from "../../store/mod.ts";
import { StoreWriteSink } from "./store_sink.ts";
import { decodeWriteBodyBatched, type WriteVersion, type WrittenCounts } from "./write_handler.ts";
import { type WriteLimits, writeLimits } from "./write_limits.ts";

/** One job of the store writer thread. */
export type StoreJob =
  | {
    /** Opens the store (first job, once). */
    kind: "open";
    /** Store directory. */
    dir: string;
    /** Store options. Default the store's defaults. */
    options?: StoreOptions;
    /** What one request may hold. Default the defaults. */
    limits?: Partial<WriteLimits>;
  }
  | {
    /** Stores one snappy remote-write body (its buffer is handed over). */
    kind: "write";
    body: Uint8Array;
    version: WriteVersion;
  }
  | {
    /** Closes the store (last job: checkpoint, writer lock released). */
    kind: "close";
  };

/** What the writer has done so far (its counters travel with every answer). */
export interface StoreWriterStats {
  /** Requests made durable. */
  requests: number;
  /** Float samples made durable (counting those skipped as already stored). */
  samples: number;
  /** Native histogram samples made durable. */
  histograms: number;
  /** Exemplars made durable. */
  exemplars: number;
  /** Samples not stored again because the store held them. */
  duplicateSamples: number;
  /** Durations of the commits finished since the previous answer, seconds. */
  commitSeconds: number[];
}

/** The answer to a job: the counts of a write, and the writer's counters. */
export interface StoreAnswer {
  /** What a `write` job stored. */
  written?: WrittenCounts;
  /** The writer's counters after the job. */
  stats: StoreWriterStats;
}

/** Runs {@linkcode StoreJob}s against one store (see the module doc). */
export class StoreJobRunner {
  #store: Store | undefined;
  #sink: StoreWriteSink | undefined;
  #limits: WriteLimits = writeLimits();
  #commitSeconds: number[] = [];

  /** Runs one job; errors are the job's (`HttpRefusal`/`InputError` for bodies refused). */
  async run(job: StoreJob): Promise<StoreAnswer> {
    switch (job.kind) {
      case "open": {
        if (this.#store) throw new Error("store writer: the store is open already");
        this.#limits = writeLimits(job.limits);
        this.#store = await Store.open(job.dir, job.options);
        this.#sink = new StoreWriteSink(this.#store, {
          onCommit: (seconds) => this.#commitSeconds.push(seconds),
        });
        return { stats: this.#stats() };
      }
      case "write": {
        if (!this.#sink) throw new Error("store writer: no store open");
        const decoded = decodeWriteBodyBatched(job.body, this.#limits, job.version);
        const result = await this.#sink.sink(decoded);
        const written = typeof result === "object" ? result : {
          samples: decoded.sampleCount,
          histograms: decoded.histogramCount,
          exemplars: decoded.exemplarCount,
        };
        return { written, stats: this.#stats() };
      }
      case "close": {
        await this.#store?.close();
        return { stats: this.#stats() };
      }
    }
  }

  #stats(): StoreWriterStats {
    const commitSeconds = this.#commitSeconds;
    this.#commitSeconds = [];
    return {
      requests: this.#sink?.requests ?? 0,
      samples: this.#sink?.samples ?? 0,
      histograms: this.#sink?.histograms ?? 0,
      exemplars: this.#sink?.exemplars ?? 0,
      duplicateSamples: this.#store?.duplicateSamples ?? 0,
      commitSeconds,
    };
  }
}
