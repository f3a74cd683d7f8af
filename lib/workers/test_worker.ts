/**
 * A worker for `pool_test.ts`: answers `{ n }` with `n * 2`; `{ fail }` throws (the job's
 * error); `{ crash }` dies with an uncaught error (the worker's failure), unless the setup said
 * it is the one worker that never crashes.
 *
 * @module
 */
import { serveJobs } from "./serve.ts";

/** A test job. */
export interface TestJob {
  n: number;
  fail?: boolean;
  crash?: boolean;
}

let steady = false;

serveJobs<TestJob, number>({
  init: (data) => {
    const setup = data as { index: number; steadyIndex: number; failSetup?: boolean };
    if (setup.failSetup) throw new Error("setup refused");
    steady = setup.index === setup.steadyIndex;
  },
  run: (job) => {
    if (job.fail) throw Object.assign(new Error(`job ${job.n} failed`), { status: 418 });
    if (job.crash && !steady) {
      setTimeout(() => {
        throw new Error("worker crashed");
      });
      return new Promise<never>(() => {});
    }
    return { result: job.n * 2 };
  },
});
