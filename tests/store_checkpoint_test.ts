/**
 * The index checkpoint is written in the background while commits go on: every acknowledged
 * sample is in the store, for a reader while the writer runs and after it stops, and the
 * checkpoint on disk advances without waiting for the writer to close.
 */
import { gunzipSync } from "node:zlib";
import { assert, assertEquals } from "./support/assert.ts";
import { runWattwave } from "./support/cli.ts";
import { startReceive } from "./support/receive.ts";
import { snappyEncode } from "../lib/remote/codec/snappy.ts";
import { encodeWriteRequest } from "../lib/remote/codec/write_request.ts";

const T0 = 1_700_000_000_000;
const HEADERS = { "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf" };

Deno.test("receive --store: checkpoints written while commits go on lose nothing and advance the index", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-checkpoint-" });
  try {
    const recv = await startReceive(["--store", dir, "--quiet"], {
      // A checkpoint at every commit that finds none being written.
      env: { WATTWAVE_INDEX_CHECKPOINT_BYTES: "1" },
    });
    let acked = 0;
    // Request k holds 200 series at T0 + k s.
    const post = async (k: number) => {
      const body = snappyEncode(encodeWriteRequest(
        Array.from({ length: 200 }, (_, i) => ({
          labels: [["__name__", "ckpt"], ["id", String(i)]] as [string, string][],
          timestampsMs: [T0 + k * 1000],
          values: new Float64Array([k + i / 1000]),
        })),
      ));
      const res = await fetch(recv.url, { method: "POST", headers: HEADERS, body });
      await res.body?.cancel();
      assertEquals(res.status, 204);
      acked += 200;
    };
    const checkpointGeneration = async () =>
      JSON.parse(
        new TextDecoder().decode(gunzipSync(await Deno.readFile(`${dir}/index.json.gz`))),
      ).generation as number;
    try {
      // Four senders.
      const send = async (first: number) => {
        for (let k = first; k < 60; k += 4) await post(k);
      };
      await Promise.all([0, 1, 2, 3].map(send));
      // The checkpoint on disk advances past the first one: each commit starts a checkpoint
      // when none is being written, so more commits follow until one of a later generation is
      // in place (however slow the machine).
      const deadline = Date.now() + 60_000;
      for (let k = 60; (await checkpointGeneration()) <= 1; k++) {
        assert(Date.now() < deadline, "the checkpoint on disk stayed at generation 1 for 60 s");
        await post(k);
        await new Promise((r) => setTimeout(r, 50));
      }
      // While the writer runs: a reader sees every acknowledged sample.
      const live = await runWattwave(["export", "--store", dir, "--no-metadata"]);
      assertEquals(live.code, 0, live.stderr);
      assertEquals(live.stdout.trim().split("\n").length, acked);
    } finally {
      const { code, stderr } = await recv.stop();
      assertEquals(code, 0, stderr);
      assert(!/checkpoint failed/.test(stderr), stderr);
    }
    const after = await runWattwave(["export", "--store", dir, "--no-metadata"]);
    assertEquals(after.stdout.trim().split("\n").length, acked);
    const lines = after.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(new Set(lines.map((l) => `${l.labels.id}@${l.timestamp}`)).size, acked);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
