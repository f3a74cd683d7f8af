import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { Store } from "../../store/mod.ts";
import {
  PoolBudgetError,
  type PoolJobItem,
  PoolUnavailableError,
  SeriesReadPool,
} from "./read_pool.ts";
import { WireSamplesBuilder } from "../codec/wire_samples.ts";
import { createReadHandler } from "./read_handler.ts";
import { encodeReadRequest } from "../codec/read_request.ts";
import { decodeReadResponse } from "../codec/read_response.ts";
import { snappyDecode, snappyEncode } from "../codec/snappy.ts";

const T0 = 1_732_350_000_000;

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("SeriesReadPool: workers read what the store reads in-process, in item order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-read-pool-" });
  const pool = new SeriesReadPool(dir, { workers: 2 });
  try {
    const store = await Store.open(dir);
    for (let s = 0; s < 20; s++) {
      const n = 500 + s * 37;
      const ts = Array.from({ length: n }, (_, i) => T0 + i * 1000 + (s % 3));
      const values = Float64Array.from(ts, (_, i) => Math.round(Math.cos(i / 9 + s) * 1e4) / 100);
      await store.append([["__name__", "m"], ["s", String(s)]], ts, values);
    }
    await store.commit();
    await waitUntil(() => pool.readyWorkers === 2, "two ready workers");
    const items: PoolJobItem[] = store.series().map((s, i) => ({
      id: s.id,
      startMs: T0 + i * 1000,
      endMs: T0 + 400_000,
      expectedSamples: s.count,
    }));
    const got = await pool.read(items, 1e9);
    strictEqual(got.length, items.length);
    for (let i = 0; i < items.length; i++) {
      const b = new WireSamplesBuilder();
      for await (const block of store.read(items[i].id, items[i].startMs, items[i].endMs)) {
        b.add(block.timestampsMs, block.values, 0, block.timestampsMs.length);
      }
      const want = b.finish();
      strictEqual(got[i].count, want.count, `item ${i}`);
      deepStrictEqual(got[i].bytes, want.bytes, `item ${i}`);
    }
    // With the calling thread reading too: the same answer, shared between both.
    let hereItems = 0;
    const here = async (list: PoolJobItem[]) => {
      hereItems += list.length;
      const out = [];
      for (const it of list) {
        const b = new WireSamplesBuilder();
        for await (const block of store.read(it.id, it.startMs, it.endMs)) {
          b.add(block.timestampsMs, block.values, 0, block.timestampsMs.length);
        }
        out.push(b.finish());
      }
      return out;
    };
    const shared = await pool.read(items, 1e9, here);
    ok(hereItems > 0 && hereItems < items.length, `${hereItems} items read here`);
    deepStrictEqual(shared.map((w) => w.bytes), got.map((w) => w.bytes));
    // Segments committed later are seen by the next job.
    await store.append([["__name__", "m"], ["s", "new"]], [T0], new Float64Array([1]));
    await store.commit();
    const fresh = store.series().find((s) => s.labels[1][1] === "new")!;
    const [late] = await pool.read([{
      id: fresh.id,
      startMs: 0,
      endMs: 2 * T0,
      expectedSamples: 1,
    }], 10);
    strictEqual(late.count, 1);
    await rejects(pool.read(items, 1000), PoolBudgetError);
    ok(pool.usable, "a refused job leaves the pool usable");
  } finally {
    pool.close();
    await Deno.remove(dir, { recursive: true });
  }
  ok(!pool.usable);
  await rejects(pool.read([], 1), PoolUnavailableError);
});

Deno.test("SeriesReadPool: a store that cannot be opened makes it unusable, once", async () => {
  const reasons: string[] = [];
  const pool = new SeriesReadPool("/nonexistent/wattwave-store", {
    workers: 2,
    onUnavailable: (r) => reasons.push(r),
  });
  try {
    await waitUntil(() => reasons.length > 0, "the failure");
    ok(!pool.usable);
    strictEqual(reasons.length, 1);
    ok(reasons[0].includes("does not exist"), reasons[0]);
    await rejects(
      pool.read([{ id: "x", startMs: 0, endMs: 1, expectedSamples: 1 }], 1),
      PoolUnavailableError,
    );
  } finally {
    pool.close();
  }
});

Deno.test("SeriesReadPool: a worker module that cannot load (a compiled binary without it) falls back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-read-pool-" });
  const reasons: string[] = [];
  // (Deno prints the worker's error on stderr; the pool only has to survive it.)
  const pool = new SeriesReadPool(dir, {
    workers: 1,
    // A module that fails as it loads, like a missing one: the same error event reaches the pool.
    workerUrl: new URL(
      "data:text/javascript,throw new Error('simulated: read worker module missing')",
    ),
    onUnavailable: (r) => reasons.push(r),
  });
  try {
    const store = await Store.open(dir);
    for (let s = 0; s < 10; s++) {
      await store.append(
        [["__name__", "m"], ["s", String(s)]],
        [T0, T0 + 1000],
        new Float64Array([s, s]),
      );
    }
    await store.commit();
    await waitUntil(() => reasons.length > 0, "the failure");
    ok(!pool.usable);
    // The read handler reads in-process instead.
    const handler = createReadHandler({ store, readPool: pool, cacheBytes: 0 });
    const body = snappyEncode(encodeReadRequest({
      queries: [{
        startMs: 0,
        endMs: 2 * T0,
        matchers: [{ name: "__name__", type: "=", value: "m" }],
      }],
      acceptedResponseTypes: [],
    }));
    const r = await handler(new Request("http://x/api/v1/read", { method: "POST", body }));
    strictEqual(r.status, 200);
    const [series] = decodeReadResponse(
      snappyDecode(new Uint8Array(await r.arrayBuffer()), 1 << 20),
    );
    strictEqual(series.length, 10);
  } finally {
    pool.close();
    await Deno.remove(dir, { recursive: true });
  }
});
