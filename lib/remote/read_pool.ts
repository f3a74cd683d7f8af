/**
 * A pool of workers (`read_worker.ts`) that read and encode series from a store in parallel, so
 * that a cold query over many series uses every core: each worker opens the store read-only,
 * refreshes it per job, and sends its {@linkcode WireSamples} back as transferred buffers.
 *
 * If a worker cannot start (e.g. a compiled binary built without
 * `--include lib/remote/read_worker.ts`) or dies, the pool marks itself unusable and rejects
 * with {@linkcode PoolUnavailableError}; callers then read in-process.
 *
 * @module
 */
import { WireSamples } from "./read_samples.ts";

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

/** The pool cannot be used (a worker failed to start or died); read in-process instead. */
export class PoolUnavailableError extends Error {
  override name = "PoolUnavailableError";
}

/** The job read more samples than its budget allowed. */
export class PoolBudgetError extends Error {
  override name = "PoolBudgetError";
}

/** Reads a job's items in the calling thread (the caller's share of {@linkcode SeriesReadPool.read}). */
export type ReadHere = (items: PoolJobItem[], budget: number) => Promise<WireSamples[]>;

interface Job {
  id: number;
  owner: object;
  items: PoolJobItem[];
  budget: number;
  resolve: (r: WireSamples[]) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  busy: Job | undefined;
}

/** Options of {@linkcode SeriesReadPool}. */
export interface SeriesReadPoolOptions {
  /** Workers to start. Default 2. */
  workers?: number;
  /** Called once if the pool becomes unusable, with the reason (for logs). */
  onUnavailable?: (reason: string) => void;
  /** The worker module. Default `read_worker.ts` beside this file (tests point it elsewhere). */
  workerUrl?: URL;
}

/** Workers reading series of the store at `dir` (see the module doc). */
export class SeriesReadPool {
  #slots: Slot[] = [];
  #queue: Job[] = [];
  #nextJob = 1;
  #broken: string | undefined;
  #onUnavailable?: (reason: string) => void;

  /** Starts the workers; they open the store in the background. */
  constructor(dir: string, options: SeriesReadPoolOptions = {}) {
    this.#onUnavailable = options.onUnavailable;
    const n = Math.max(1, options.workers ?? 2);
    for (let i = 0; i < n; i++) {
      let worker: Worker;
      try {
        const url = options.workerUrl ?? new URL("./read_worker.ts", import.meta.url);
        worker = new Worker(url, { type: "module" });
      } catch (err) {
        this.#fail(`cannot start a read worker: ${(err as Error).message}`);
        return;
      }
      const slot: Slot = { worker, ready: false, busy: undefined };
      worker.onmessage = (e) => this.#onMessage(slot, e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        this.#fail(`read worker failed: ${e.message}`);
      };
      worker.postMessage({ type: "open", dir });
      this.#slots.push(slot);
    }
  }

  /** Whether jobs can be sent (some worker is ready and none failed). */
  get usable(): boolean {
    return this.#broken === undefined && this.#slots.some((s) => s.ready);
  }

  /** Workers ready to take jobs. */
  get readyWorkers(): number {
    return this.#broken === undefined ? this.#slots.filter((s) => s.ready).length : 0;
  }

  /**
   * Reads `items` split into jobs spread over the workers (and over `here`, the calling thread,
   * when given: it takes this call's jobs that no worker has taken yet); results come back in
   * item order. Rejects with {@linkcode PoolBudgetError} when a job reads more than `budget`
   * samples, with {@linkcode PoolUnavailableError} when the pool cannot be used.
   */
  async read(items: PoolJobItem[], budget: number, here?: ReadHere): Promise<WireSamples[]> {
    const workers = this.readyWorkers;
    if (workers === 0) throw new PoolUnavailableError(this.#broken ?? "no read worker is ready");
    // About four jobs per reader: even shares of work even when series differ in length.
    const readers = workers + (here ? 1 : 0);
    const per = Math.max(1, Math.ceil(items.length / (readers * 4)));
    const owner = {};
    const jobs: Promise<WireSamples[]>[] = [];
    for (let i = 0; i < items.length; i += per) {
      jobs.push(
        new Promise((resolve, reject) => {
          const job = { id: this.#nextJob++, owner, items: items.slice(i, i + per), budget };
          this.#queue.push({ ...job, resolve, reject });
        }),
      );
    }
    this.#pump();
    const all = Promise.all(jobs);
    if (here) {
      let failed = false;
      all.catch(() => failed = true); // (awaited below) the loop stops at the first failure
      while (!failed) {
        const at = this.#queue.findIndex((j) => j.owner === owner);
        if (at < 0) break;
        const [job] = this.#queue.splice(at, 1);
        try {
          job.resolve(await here(job.items, job.budget));
        } catch (err) {
          job.reject(err as Error);
          break;
        }
      }
    }
    return (await all).flat();
  }

  #pump(): void {
    for (const slot of this.#slots) {
      if (!this.#queue.length) return;
      if (!slot.ready || slot.busy) continue;
      const job = this.#queue.shift()!;
      slot.busy = job;
      slot.worker.postMessage({ type: "read", job: job.id, items: job.items, budget: job.budget });
    }
  }

  #onMessage(slot: Slot, msg: { type: string; message?: string; results?: PoolJobResult[] }) {
    if (msg.type === "ready") {
      slot.ready = true;
      this.#pump();
      return;
    }
    if (msg.type === "failed") {
      this.#fail(`a read worker cannot open the store: ${msg.message}`);
      return;
    }
    const job = slot.busy;
    if (!job) return;
    slot.busy = undefined;
    if (msg.type === "done") {
      job.resolve(
        msg.results!.map((r) =>
          new WireSamples(
            new Uint8Array(r.buffer, r.byteOffset, r.byteLength),
            r.count,
            r.stride,
            r.offsets,
          )
        ),
      );
    } else if (msg.type === "over") job.reject(new PoolBudgetError("sample budget exceeded"));
    else job.reject(new Error(msg.message ?? "read worker error"));
    this.#pump();
  }

  #fail(reason: string): void {
    if (this.#broken !== undefined) return;
    this.#broken = reason;
    this.#onUnavailable?.(reason);
    const pending = [...this.#queue, ...this.#slots.flatMap((s) => (s.busy ? [s.busy] : []))];
    this.#queue = [];
    for (const s of this.#slots) {
      s.busy = undefined;
      s.worker.terminate();
    }
    for (const job of pending) job.reject(new PoolUnavailableError(reason));
  }

  /** Stops the workers; pending jobs are rejected. */
  close(): void {
    this.#onUnavailable = undefined;
    this.#fail("the read pool was closed");
  }
}
