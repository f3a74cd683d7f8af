import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { WorkerFailedError, WorkerPool, WorkerPoolUnavailableError } from "./pool.ts";
import type { TestJob } from "./test_worker.ts";

const url = new URL("./test_worker.ts", import.meta.url);

function pool(
  options: { workers?: number; steadyIndex?: number; failSetup?: boolean; here?: boolean } = {},
) {
  const failures: string[] = [];
  const p = new WorkerPool<TestJob, number>({
    url,
    workers: options.workers ?? 2,
    name: "test",
    init: (index) => ({
      index,
      steadyIndex: options.steadyIndex ?? -1,
      failSetup: options.failSetup,
    }),
    runHere: options.here ? (job) => Promise.resolve(-job.n) : undefined,
    reviveError: (e) => Object.assign(new Error(e.message), { status: e.status }),
    onWorkerFailed: (r) => failures.push(r),
  });
  return { p, failures };
}

Deno.test("WorkerPool: answers matched by id, in job order for runAll", async () => {
  const { p } = pool({ workers: 3 });
  try {
    const jobs = Array.from({ length: 50 }, (_, n) => ({ n }));
    deepStrictEqual(await p.runAll(jobs), jobs.map((j) => j.n * 2));
    strictEqual(await p.run({ n: 21 }), 42);
    ok(p.idle);
  } finally {
    p.close();
  }
});

Deno.test("WorkerPool: a job's own error rejects that job only; the worker stays", async () => {
  const { p, failures } = pool({ workers: 1 });
  try {
    await rejects(p.run({ n: 1, fail: true }), (e: Error & { status?: number }) => {
      strictEqual(e.message, "job 1 failed");
      strictEqual(e.status, 418);
      return true;
    });
    strictEqual(await p.run({ n: 2 }), 4);
    deepStrictEqual(failures, []);
    strictEqual(p.liveWorkers, 1);
  } finally {
    p.close();
  }
});

Deno.test("WorkerPool: a failed worker leaves the rotation and its job runs on another", async () => {
  // Worker 1 never crashes; a crashing job on worker 0 goes to worker 1.
  const { p, failures } = pool({ workers: 2, steadyIndex: 1 });
  try {
    while (p.readyWorkers < 2) await new Promise((r) => setTimeout(r, 10));
    const answers = await p.runAll([{ n: 1, crash: true }, { n: 2, crash: true }, { n: 3 }]);
    deepStrictEqual(answers, [2, 4, 6]);
    strictEqual(failures.length, 1, failures.join("; "));
    ok(failures[0].includes("worker crashed"), failures[0]);
    strictEqual(p.liveWorkers, 1);
    strictEqual(await p.run({ n: 5, crash: true }), 10);
  } finally {
    p.close();
  }
});

Deno.test("WorkerPool: with no worker left, jobs run here, or are refused without runHere", async () => {
  const withHere = pool({ workers: 2, here: true });
  try {
    strictEqual(await withHere.p.run({ n: 7, crash: true }), -7);
    strictEqual(withHere.p.liveWorkers, 0);
    strictEqual(withHere.failures.length, 2);
    strictEqual(await withHere.p.run({ n: 8 }), -8);
  } finally {
    withHere.p.close();
  }
  const without = pool({ workers: 1, failSetup: true });
  try {
    await rejects(without.p.run({ n: 1 }), WorkerPoolUnavailableError);
    ok(without.failures[0].includes("setup refused"), without.failures[0]);
    ok(!without.p.usable);
  } finally {
    without.p.close();
  }
});

Deno.test("WorkerPool: runAll shares jobs with the calling thread; close rejects what is left", async () => {
  const { p } = pool({ workers: 1 });
  try {
    let here = 0;
    const jobs = Array.from({ length: 40 }, (_, n) => ({ n }));
    const answers = await p.runAll(jobs, (job) => {
      here++;
      return Promise.resolve(job.n * 2);
    });
    deepStrictEqual(answers, jobs.map((j) => j.n * 2));
    ok(here > 0, "the calling thread took some jobs");
  } finally {
    p.close();
  }
  await rejects(p.run({ n: 1 }), WorkerPoolUnavailableError);
});

Deno.test("WorkerPool: a job whose buffers were handed over fails with its worker", async () => {
  const failures: string[] = [];
  const p = new WorkerPool<TestJob & { bytes?: Uint8Array }, number>({
    url,
    workers: 2,
    name: "test",
    init: (index) => ({ index, steadyIndex: -1 }),
    transfer: (job) => (job.bytes ? [job.bytes.buffer as ArrayBuffer] : []),
    onWorkerFailed: (r) => failures.push(r),
  });
  try {
    const bytes = new Uint8Array(16);
    await rejects(p.run({ n: 1, crash: true, bytes }), WorkerFailedError);
    strictEqual(bytes.byteLength, 0, "the buffer went to the worker");
    strictEqual(await p.run({ n: 4, bytes: new Uint8Array(4) }), 8);
    strictEqual(failures.length, 1);
  } finally {
    p.close();
  }
});
