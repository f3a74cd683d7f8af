/**
 * Worker side of {@linkcode SeriesReadPool} (`read_pool.ts`): opens the store read-only and, for
 * each job, reads the asked series ranges and encodes them into wire samples
 * (`WireSamplesBuilder`), whose buffers are transferred back (not copied).
 *
 * Messages in: `{ type: "open", dir }` once, then `{ type: "read", job, items, budget }`.
 * Messages out: `{ type: "ready" }` or `{ type: "failed", message }` after open;
 * `{ type: "done", job, results }`, `{ type: "over", job }` when more than `budget` samples were
 * read, or `{ type: "error", job, message }`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { Store } from "../store/mod.ts";
import { WireSamplesBuilder } from "./read_samples.ts";
import type { PoolJobItem, PoolJobResult } from "./read_pool.ts";

let store: Store | undefined;

async function readJob(items: PoolJobItem[], budget: number): Promise<PoolJobResult[] | "over"> {
  await store!.refresh();
  const results: PoolJobResult[] = [];
  let total = 0;
  for (const item of items) {
    const builder = new WireSamplesBuilder(item.expectedSamples);
    for await (const block of store!.read(item.id, item.startMs, item.endMs)) {
      const n = block.timestampsMs.length;
      if (n === 0) continue;
      builder.add(block.timestampsMs, block.values, 0, n);
      if (total + builder.count > budget) return "over";
    }
    const w = builder.finish();
    total += w.count;
    results.push({
      buffer: w.bytes.buffer as ArrayBuffer,
      byteOffset: w.bytes.byteOffset,
      byteLength: w.bytes.byteLength,
      count: w.count,
      stride: w.stride,
      offsets: w.offsets,
    });
  }
  return results;
}

self.onmessage = async (e: MessageEvent) => {
  const msg = e.data;
  if (msg.type === "open") {
    try {
      store = await Store.open(msg.dir, { readOnly: true });
      self.postMessage({ type: "ready" });
    } catch (err) {
      self.postMessage({ type: "failed", message: (err as Error).message });
    }
    return;
  }
  if (msg.type !== "read") return;
  try {
    const results = await readJob(msg.items, msg.budget);
    if (results === "over") {
      self.postMessage({ type: "over", job: msg.job });
      return;
    }
    const transfer: ArrayBuffer[] = [];
    for (const r of results) {
      transfer.push(r.buffer);
      if (r.offsets) transfer.push(r.offsets.buffer as ArrayBuffer);
    }
    self.postMessage({ type: "done", job: msg.job, results }, transfer);
  } catch (err) {
    self.postMessage({ type: "error", job: msg.job, message: (err as Error).message });
  }
};
