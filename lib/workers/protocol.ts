/**
 * The messages between a {@linkcode WorkerPool} (`pool.ts`) and its workers (`serve.ts`): one
 * shape for every pool.
 *
 * @module
 */

/** A job's error as a worker reports it. */
export interface WorkerErrorInfo {
  /** The error's class name (`InputError`, `HttpRefusal`, ...). */
  name: string;
  /** Its message. */
  message: string;
  /** An HTTP status, when the error carries one. */
  status?: number;
}

/** Pool to worker: setup data once (when the pool has setup), then jobs. */
export type ToWorker =
  | { kind: "init"; data: unknown }
  | { kind: "job"; id: number; job: unknown };

/** Worker to pool: whether setup worked, then one answer per job, matched by `id`. */
export type FromWorker =
  | { kind: "init"; ok: true }
  | { kind: "init"; ok: false; message: string }
  | { kind: "done"; id: number; result: unknown }
  | { kind: "error"; id: number; error: WorkerErrorInfo };
