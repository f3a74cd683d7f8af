import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { snappyEncode } from "../codec/snappy.ts";
import { encodeWriteRequest } from "../codec/write_request.ts";
import { Store } from "../../store/mod.ts";
import { HttpRefusal } from "../http.ts";
import { InputError } from "../../errors.ts";
import { StoreJobRunner } from "./store_job.ts";
import { StoreWriterThread } from "./store_thread.ts";

function body(n: number, timestampMs: number): Uint8Array {
  const series = [];
  for (let i = 0; i < n; i++) {
    series.push({
      labels: [["__name__", "up"], ["id", String(i)]] as [string, string][],
      timestampsMs: [timestampMs],
      values: new Float64Array([i]),
    });
  }
  return snappyEncode(encodeWriteRequest(series));
}

Deno.test("StoreJobRunner: writes are committed and counted; a bad body is refused, nothing kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const runner = new StoreJobRunner();
    await runner.run({ kind: "open", dir });
    const answers = await Promise.all([
      runner.run({ kind: "write", body: body(3, 1000), version: 1 }),
      runner.run({ kind: "write", body: body(2, 2000), version: 1 }),
    ]);
    deepStrictEqual(answers.map((a) => a.written?.samples), [3, 2]);
    await rejects(
      runner.run({ kind: "write", body: new Uint8Array([5, 1, 2]), version: 1 }),
      HttpRefusal,
    );
    const closed = await runner.run({ kind: "close" });
    deepStrictEqual(closed.stats.samples, 5);
    deepStrictEqual(closed.stats.requests, 2);
    const store = await Store.open(dir, { readOnly: true });
    deepStrictEqual(store.stats().samples, 5);
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StoreWriterThread: bodies stored by the worker; a store that cannot open is the open's error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const commits: number[] = [];
    const thread = await StoreWriterThread.open(dir, { onCommit: (s) => commits.push(s) });
    const written = await thread.bodySink(body(4, 1000), 1);
    deepStrictEqual(written, { samples: 4, histograms: 0, exemplars: 0 });
    await rejects(thread.bodySink(new Uint8Array([9, 0]), 1), HttpRefusal);
    deepStrictEqual([thread.requests, thread.samples], [1, 4]);
    ok(commits.length >= 1);
    await thread.close();
    const store = await Store.open(dir, { readOnly: true });
    deepStrictEqual(store.stats().samples, 4);
    await store.close();
    await Deno.writeTextFile(`${dir}/not-a-dir`, "");
    await rejects(StoreWriterThread.open(`${dir}/not-a-dir`), Deno.errors.NotADirectory);
    // A store whose index was lost is refused, with the store's own message.
    const lost = `${dir}/lost`;
    await Deno.mkdir(`${lost}/segments`, { recursive: true });
    await Deno.writeFile(`${lost}/segments/a-1.flac`, new Uint8Array(4));
    await rejects(StoreWriterThread.open(lost), (err: Error) => {
      ok(err instanceof InputError && /index/.test(err.message), err.message);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
