/**
 * The worker side of {@linkcode WorkerPool}: a worker module calls {@linkcode serveJobs} once
 * with its setup and job functions; answers go back matched by job id, with the buffers the job
 * function names transferred (not copied).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { FromWorker, ToWorker, WorkerErrorInfo } from "./protocol.ts";

/** A job's answer and the buffers to transfer with it. */
export interface JobAnswer<R> {
  /** The answer. */
  result: R;
  /** Buffers inside `result` to hand over to the pool (they become unusable here). */
  transfer?: Transferable[];
}

/** What a worker module does: optional setup, then jobs. */
export interface JobHandlers<J, R> {
  /** Runs once before the first job with the pool's setup data; a throw fails this worker. */
  init?: (data: unknown) => Promise<void> | void;
  /** Runs one job; a throw is that job's error (with `status` kept when the error has one). */
  run: (job: J) => Promise<JobAnswer<R>> | JobAnswer<R>;
  /**
   * Start each job as it arrives (after the setup) instead of once the previous one ended: for
   * jobs that wait on each other, e.g. writes committed together. Default false.
   */
  concurrent?: boolean;
}

function errorInfo(err: unknown): WorkerErrorInfo {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const status = (err as { status?: unknown }).status;
  return typeof status === "number"
    ? { name: err.name, message: err.message, status }
    : { name: err.name, message: err.message };
}

/** Serves the pool's messages in this worker with `handlers`. */
export function serveJobs<J, R>(handlers: JobHandlers<J, R>): void {
  // Jobs run one at a time, in arrival order, behind the setup (`concurrent`: as they come,
  // behind the setup).
  let chain: Promise<void> = Promise.resolve();
  self.onmessage = (e: MessageEvent<ToWorker>) => {
    const msg = e.data;
    const next = chain.then(async () => {
      if (msg.kind === "init") {
        try {
          await handlers.init?.(msg.data);
          self.postMessage({ kind: "init", ok: true } satisfies FromWorker);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          self.postMessage({ kind: "init", ok: false, message } satisfies FromWorker);
        }
        return;
      }
      try {
        const answer = await handlers.run(msg.job as J);
        const out: FromWorker = { kind: "done", id: msg.id, result: answer.result };
        self.postMessage(out, answer.transfer ?? []);
      } catch (err) {
        self.postMessage({ kind: "error", id: msg.id, error: errorInfo(err) } satisfies FromWorker);
      }
    });
    if (msg.kind === "init" || !handlers.concurrent) chain = next;
  };
}
