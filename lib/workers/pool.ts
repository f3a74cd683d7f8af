/**
 * One worker pool for every parallel path of wattwave (the receive formatter, the push parser,
 * the remote-read series reader): spawn, optional per-worker setup, dispatch, answers matched by
 * job id, results handed back as transferred buffers, and close.
 *
 * Jobs go to the ready worker with the fewest jobs in flight (at most `maxInFlightPerWorker`
 * each; the rest wait in a queue). Jobs are copied to the worker, so that a job whose worker
 * fails can run again: a worker that fails (an uncaught error, a setup that fails, a module that
 * cannot load) leaves the rotation for good and its jobs go back to the front of the queue for
 * another worker or, when none is left, to `runHere` on the calling thread (or are rejected with
 * {@linkcode WorkerPoolUnavailableError} without one). A pool may instead hand a job's buffers
 * over (`transfer`): no second copy, but such a job cannot run again, so when its worker fails it
 * is rejected with {@linkcode WorkerFailedError}. A job that throws inside a healthy worker is
 * that job's error, not the worker's: it is rejected with the error `reviveError` makes of it.
 *
 * The worker side is `serve.ts`.
 *
 * @module
 */
import type { FromWorker, ToWorker, WorkerErrorInfo } from "./protocol.ts";

/** No worker of the pool can take jobs (all failed, or the pool was closed). */
export class WorkerPoolUnavailableError extends Error {
  override name = "WorkerPoolUnavailableError";
}

/** A job's buffers were handed to a worker that failed: the job cannot run again. */
export class WorkerFailedError extends Error {
  override name = "WorkerFailedError";
}

/** Options of {@linkcode WorkerPool}. */
export interface WorkerPoolOptions<J, R> {
  /** The worker module (one of `WORKER_MODULES`, or a test's). */
  url: URL;
  /** Workers to start (at least 1). */
  workers: number;
  /** What the workers do, for messages: `format`, `parse`, `read`. */
  name: string;
  /** Setup data for worker `index` (0-based), sent before its first job. Default: no setup. */
  init?: (index: number) => unknown;
  /** Most jobs in flight on one worker. Default unbounded (the least busy takes each job). */
  maxInFlightPerWorker?: number;
  /** Runs a job on the calling thread once no worker is left. Default: none (reject). */
  runHere?: (job: J) => Promise<R>;
  /** Turns a job's error as a worker reported it into the error to reject with. Default `Error`. */
  reviveError?: (info: WorkerErrorInfo) => Error;
  /** Told once per worker that fails, with the reason (for logs). */
  onWorkerFailed?: (reason: string) => void;
  /**
   * The buffers of a job to hand over to its worker instead of copying them (they become
   * unusable here; see the module doc). Default: none, every job is copied.
   */
  transfer?: (job: J) => Transferable[];
}

interface Job<J, R> {
  id: number;
  job: J;
  transferred?: boolean;
  owner: object | undefined;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

interface Slot<J, R> {
  index: number;
  worker: Worker | undefined;
  ready: boolean;
  dead: boolean;
  inFlight: Map<number, Job<J, R>>;
}

/** Workers running jobs of type `J` that answer `R` (see the module doc). */
export class WorkerPool<J, R> {
  #slots: Slot<J, R>[] = [];
  #queue: Job<J, R>[] = [];
  #nextId = 1;
  #closed = false;
  #options: WorkerPoolOptions<J, R>;
  #maxInFlight: number;

  /** Starts the workers; those with setup take jobs once it is done. Call {@linkcode close}. */
  constructor(options: WorkerPoolOptions<J, R>) {
    this.#options = options;
    this.#maxInFlight = options.maxInFlightPerWorker ?? Infinity;
    const n = Math.max(1, options.workers);
    for (let index = 0; index < n; index++) {
      const slot: Slot<J, R> = {
        index,
        worker: undefined,
        ready: false,
        dead: false,
        inFlight: new Map(),
      };
      this.#slots.push(slot);
      this.#start(slot);
    }
  }

  #start(slot: Slot<J, R>): void {
    let worker: Worker;
    try {
      worker = new Worker(this.#options.url, { type: "module" });
    } catch (err) {
      this.#failSlot(
        slot,
        `cannot start a ${this.#options.name} worker: ${(err as Error).message}`,
      );
      return;
    }
    slot.worker = worker;
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.#onMessage(slot, e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      this.#failSlot(slot, `${this.#options.name} worker failed: ${e.message}`);
    };
    worker.onmessageerror = () => {
      this.#failSlot(slot, `${this.#options.name} worker sent a message that cannot be read`);
    };
    if (this.#options.init) {
      const msg: ToWorker = { kind: "init", data: this.#options.init(slot.index) };
      worker.postMessage(msg);
    } else slot.ready = true;
  }

  /** Workers that can take jobs now. */
  get readyWorkers(): number {
    let n = 0;
    for (const s of this.#slots) if (s.ready && !s.dead) n++;
    return this.#closed ? 0 : n;
  }

  /** Workers that have not failed (ready or still in setup). */
  get liveWorkers(): number {
    let n = 0;
    for (const s of this.#slots) if (!s.dead) n++;
    return this.#closed ? 0 : n;
  }

  /** Whether some worker can take jobs now. */
  get usable(): boolean {
    return this.readyWorkers > 0;
  }

  /** Whether no job is queued or in flight. */
  get idle(): boolean {
    if (this.#queue.length > 0) return false;
    for (const s of this.#slots) if (s.inFlight.size > 0) return false;
    return true;
  }

  /** Runs one job on a worker; resolves with its answer. */
  run(job: J): Promise<R> {
    return this.#enqueue(job, undefined);
  }

  /**
   * Runs `jobs` on the workers and, when `here` is given, on the calling thread too: it takes
   * this call's jobs that no worker has taken yet, one after the other. Answers come back in job
   * order; the first failure rejects (and the calling thread stops taking jobs).
   */
  async runAll(jobs: J[], here?: (job: J) => Promise<R>): Promise<R[]> {
    const owner = {};
    const answers = jobs.map((j) => this.#enqueue(j, owner));
    const all = Promise.all(answers);
    if (here) {
      let failed = false;
      all.catch(() => failed = true); // (awaited below) the loop stops at the first failure
      while (!failed) {
        const at = this.#queue.findIndex((j) => j.owner === owner);
        if (at < 0) break;
        const [job] = this.#queue.splice(at, 1);
        try {
          job.resolve(await here(job.job));
        } catch (err) {
          job.reject(err);
          break;
        }
      }
    }
    return await all;
  }

  #enqueue(job: J, owner: object | undefined): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, job, owner, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let best: Slot<J, R> | undefined;
      let live = false;
      for (const s of this.#slots) {
        if (s.dead) continue;
        live = true;
        if (!s.ready || s.inFlight.size >= this.#maxInFlight) continue;
        if (!best || s.inFlight.size < best.inFlight.size) best = s;
      }
      if (!live || this.#closed) return this.#drainWithoutWorkers();
      if (!best) return; // all busy or still in setup: jobs wait
      const job = this.#queue.shift()!;
      best.inFlight.set(job.id, job);
      const msg: ToWorker = { kind: "job", id: job.id, job: job.job };
      const transfer = this.#options.transfer?.(job.job) ?? [];
      if (transfer.length) job.transferred = true;
      best.worker!.postMessage(msg, transfer);
    }
  }

  /** No worker is left: queued jobs run here or are rejected. */
  #drainWithoutWorkers(): void {
    const jobs = this.#queue;
    this.#queue = [];
    const reason = this.#closed
      ? `the ${this.#options.name} pool was closed`
      : `no ${this.#options.name} worker is left`;
    for (const j of jobs) {
      if (this.#options.runHere && !this.#closed) {
        this.#options.runHere(j.job).then(j.resolve, j.reject);
      } else j.reject(new WorkerPoolUnavailableError(reason));
    }
  }

  #onMessage(slot: Slot<J, R>, msg: FromWorker): void {
    if (msg.kind === "init") {
      if (msg.ok) {
        slot.ready = true;
        this.#pump();
      } else this.#failSlot(slot, `a ${this.#options.name} worker's setup failed: ${msg.message}`);
      return;
    }
    const job = slot.inFlight.get(msg.id);
    if (!job) return;
    slot.inFlight.delete(msg.id);
    if (msg.kind === "done") job.resolve(msg.result as R);
    else {
      const revive = this.#options.reviveError;
      job.reject(revive ? revive(msg.error) : new Error(msg.error.message));
    }
    this.#pump();
  }

  #failSlot(slot: Slot<J, R>, reason: string): void {
    if (slot.dead) return;
    slot.dead = true;
    slot.ready = false;
    slot.worker?.terminate();
    if (!this.#closed) this.#options.onWorkerFailed?.(reason);
    // Its jobs run again first, in their order, on another worker or here (those whose buffers
    // it was handed cannot: they fail with it).
    const back: Job<J, R>[] = [];
    for (const j of [...slot.inFlight.values()].sort((a, b) => a.id - b.id)) {
      if (j.transferred) j.reject(new WorkerFailedError(reason));
      else back.push(j);
    }
    slot.inFlight.clear();
    this.#queue = back.concat(this.#queue);
    this.#pump();
  }

  /** Stops the workers; queued and in-flight jobs are rejected. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#slots) {
      s.dead = true;
      s.worker?.terminate();
      for (const j of s.inFlight.values()) this.#queue.push(j);
      s.inFlight.clear();
    }
    this.#drainWithoutWorkers();
  }
}
