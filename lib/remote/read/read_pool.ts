/**
 * A pool of workers (`read_worker.ts`, on `lib/workers`) that read and encode series from a
 * store in parallel, so that a cold query over many series uses every core: each worker opens
 * the store read-only, refreshes it per job, and sends its {@linkcode WireSamples} back as
 * transferred buffers.
 *
 * A worker that cannot start (e.g. a compiled binary built without its module) or dies leaves
 * the rotation and its jobs go to the others; once none is left the pool is unusable and rejects
 * with {@linkcode PoolUnavailableError}; callers then read in-process.
 *
 * @module
 */
import { WireSamples } from "../codec/wire_samples.ts";
import { defaultReadWorkers } from "../../workers/counts.ts";
import { WORKER_MODULES } from "../../workers/modules.ts";
import { WorkerPool, WorkerPoolUnavailableError } from "../../workers/pool.ts";
import type { WorkerErrorInfo } from "../../workers/protocol.ts";

/** The pool cannot be used (no worker is left, or it was closed); read in-process instead. */
export { WorkerPoolUnavailableError as PoolUnavailableError };

/** One series range a job reads. */
export interface PoolJobItem {
  /** Series id. */
  id: string;
  /** Inclusive start, ms. */
  startMs: number;
  /** Inclusive end, ms. */
  endMs: number;
  /** Sizing hint for the encoder (the series' sample count). */
  expectedSamples: number;
}

/** A job: series ranges to read, and the most samples they may hold together. */
export interface PoolJob {
  /** The ranges. */
  items: PoolJobItem[];
  /** Most samples the job may read ({@linkcode PoolBudgetError} beyond). */
  budget: number;
}

/** A WireSamples as posted back by a worker. */
export interface PoolJobResult {
  /** Buffer holding the encoded samples (transferred). */
  buffer: ArrayBuffer;
  /** Start of the samples in `buffer`. */
  byteOffset: number;
  /** Bytes of samples. */
  byteLength: number;
  /** Samples. */
  count: number;
  /** Common sample length, or 0. */
  stride: number;
  /** Offset table when `stride` is 0. */
  offsets: Uint32Array | undefined;
}

/** The job read more samples than its budget allowed. */
export class PoolBudgetError extends Error {
  override name = "PoolBudgetError";
}

/** Reads a job's items in the calling thread (the caller's share of {@linkcode SeriesReadPool.read}). */
export type ReadHere = (items: PoolJobItem[], budget: number) => Promise<WireSamples[]>;

/** Options of {@linkcode SeriesReadPool}. */
export interface SeriesReadPoolOptions {
  /** Workers to start. Default {@linkcode defaultReadWorkers} (at least 1). */
  workers?: number;
  /** Called once if the pool becomes unusable, with the reason (for logs). */
  onUnavailable?: (reason: string) => void;
  /** The worker module. Default `WORKER_MODULES.read` (tests point it elsewhere). */
  workerUrl?: URL;
}

function reviveError(e: WorkerErrorInfo): Error {
  return e.name === "PoolBudgetError" ? new PoolBudgetError(e.message) : new Error(e.message);
}

/** Workers reading series of the store at `dir` (see the module doc). */
export class SeriesReadPool {
  #pool: WorkerPool<PoolJob, PoolJobResult[]>;
  #onUnavailable?: (reason: string) => void;

  /** Starts the workers; they open the store in the background. */
  constructor(dir: string, options: SeriesReadPoolOptions = {}) {
    this.#onUnavailable = options.onUnavailable;
    this.#pool = new WorkerPool<PoolJob, PoolJobResult[]>({
      url: options.workerUrl ?? WORKER_MODULES.read,
      workers: options.workers ?? Math.max(1, defaultReadWorkers()),
      name: "read",
      init: () => ({ dir }),
      maxInFlightPerWorker: 1, // queued jobs stay here, for the calling thread to take
      reviveError,
      onWorkerFailed: (reason) => {
        if (this.#pool?.liveWorkers > 0) return;
        this.#onUnavailable?.(reason);
        this.#onUnavailable = undefined;
      },
    });
  }

  /** Whether jobs can be sent (some worker is ready). */
  get usable(): boolean {
    return this.#pool.usable;
  }

  /** Workers ready to take jobs. */
  get readyWorkers(): number {
    return this.#pool.readyWorkers;
  }

  /**
   * Reads `items` split into jobs spread over the workers (and over `here`, the calling thread,
   * when given: it takes this call's jobs that no worker has taken yet); results come back in
   * item order. Rejects with {@linkcode PoolBudgetError} when a job reads more than `budget`
   * samples, with {@linkcode PoolUnavailableError} when the pool cannot be used.
   */
  async read(items: PoolJobItem[], budget: number, here?: ReadHere): Promise<WireSamples[]> {
    const workers = this.readyWorkers;
    if (workers === 0) throw new WorkerPoolUnavailableError("no read worker is ready");
    // About four jobs per reader: even shares of work even when series differ in length.
    const readers = workers + (here ? 1 : 0);
    const per = Math.max(1, Math.ceil(items.length / (readers * 4)));
    const jobs: PoolJob[] = [];
    for (let i = 0; i < items.length; i += per) {
      jobs.push({ items: items.slice(i, i + per), budget });
    }
    const answers = await this.#pool.runAll(
      jobs,
      here && (async (job) => toResults(await here(job.items, job.budget))),
    );
    const out: WireSamples[] = [];
    for (const results of answers) {
      for (const r of results) {
        out.push(
          new WireSamples(
            new Uint8Array(r.buffer, r.byteOffset, r.byteLength),
            r.count,
            r.stride,
            r.offsets,
          ),
        );
      }
    }
    return out;
  }

  /** Stops the workers; pending jobs are rejected. */
  close(): void {
    this.#onUnavailable = undefined;
    this.#pool.close();
  }
}

/** WireSamples as {@linkcode PoolJobResult}s (what a worker posts back). */
export function toResults(list: WireSamples[]): PoolJobResult[] {
  return list.map((w) => ({
    buffer: w.bytes.buffer as ArrayBuffer,
    byteOffset: w.bytes.byteOffset,
    byteLength: w.bytes.byteLength,
    count: w.count,
    stride: w.stride,
    offsets: w.offsets,
  }));
}
