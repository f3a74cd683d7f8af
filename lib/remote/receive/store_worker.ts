/**
 * Worker entry of {@linkcode StoreWriterThread} (`store_thread.ts`): owns the store of
 * `receive --store` and `serve-read --write-path`, so that decoding and storing a request of a
 * million series (seconds of work and gigabytes of garbage) never holds the HTTP thread.
 * Writes run concurrently, so those arriving during a commit are committed together.
 *
 * @module
 */
import { disableEventLoopPacing } from "../../sleep.ts";
import { serveJobs } from "../../workers/serve.ts";
import { type StoreAnswer, type StoreJob, StoreJobRunner } from "./store_job.ts";

// This thread answers nothing but jobs: loops run to their end (see `disableEventLoopPacing`).
disableEventLoopPacing();
const runner = new StoreJobRunner();

serveJobs<StoreJob, StoreAnswer>({
  concurrent: true,
  run: async (job) => ({ result: await runner.run(job) }),
});
