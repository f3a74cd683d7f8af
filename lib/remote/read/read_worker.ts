/**
 * Worker side of {@linkcode SeriesReadPool} (`read_pool.ts`): opens the store read-only at setup
 * and, for each job, reads the asked series ranges and encodes them into wire samples
 * (`WireSamplesBuilder`), whose buffers are transferred back (not copied). A job that reads more
 * than its budget fails with a `PoolBudgetError`.
 *
 * @module
 */
import { Store } from "../../store/mod.ts";
import { serveJobs } from "../../workers/serve.ts";
import { type WireSamples, WireSamplesBuilder } from "../codec/wire_samples.ts";
import { PoolBudgetError, type PoolJob, type PoolJobResult, toResults } from "./read_pool.ts";

let store: Store | undefined;

async function readJob(job: PoolJob): Promise<WireSamples[]> {
  await store!.refresh();
  const out: WireSamples[] = [];
  let total = 0;
  for (const item of job.items) {
    const builder = new WireSamplesBuilder(item.expectedSamples);
    for await (const block of store!.read(item.id, item.startMs, item.endMs)) {
      const n = block.timestampsMs.length;
      if (n === 0) continue;
      builder.add(block.timestampsMs, block.values, 0, n);
      if (total + builder.count > job.budget) {
        throw new PoolBudgetError("sample budget exceeded");
      }
    }
    const w = builder.finish();
    total += w.count;
    out.push(w);
  }
  return out;
}

serveJobs<PoolJob, PoolJobResult[]>({
  init: async (data) => {
    store = await Store.open((data as { dir: string }).dir, { readOnly: true });
  },
  run: async (job) => {
    const result = toResults(await readJob(job));
    const transfer: ArrayBuffer[] = [];
    for (const r of result) {
      transfer.push(r.buffer);
      if (r.offsets) transfer.push(r.offsets.buffer as ArrayBuffer);
    }
    return { result, transfer };
  },
});
