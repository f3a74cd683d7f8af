/**
 * An idempotent store: the same input ingested twice (`compress`, `receive --store`) is stored
 * once; a sample at a stored timestamp with another value is kept and counted.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { encodeWriteRequest } from "../lib/remote/codec/write_request.ts";
import { snappyEncode } from "../lib/remote/codec/snappy.ts";
import { PROTOCOL_HEADERS } from "../lib/remote/push/write_client.ts";
import { runWattwave } from "./support/cli.ts";
import { startReceive } from "./support/receive.ts";

const T0 = 1_732_350_000_000;

function input(series: number, steps: number, from = 0): string {
  const lines: string[] = [];
  for (let i = from; i < from + steps; i++) {
    for (let s = 0; s < series; s++) {
      lines.push(
        `{"name":"idem","labels":{"s":"${s}"},"timestamp":${T0 + i * 1000},"value":${
          (i * 7 + s) / 4
        }}`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

async function compress(dir: string, text: string) {
  const r = await runWattwave(["compress", "--store", dir, "--report", "json"], { stdin: text });
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

Deno.test("compress of the same input twice: export equals one copy; the rerun says what it skipped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-idem-" });
  try {
    const text = input(20, 500);
    const first = await compress(dir, text);
    assertEquals(first.duplicateSamples, 0);
    const once = await runWattwave(["export", "--store", dir]);
    const again = await compress(dir, text);
    assertEquals(again.samples, 10_000);
    assertEquals(again.duplicateSamples, 10_000);
    assertEquals(again.conflictingSamples, 0);
    assertEquals(again.store.samples, 10_000);
    const twice = await runWattwave(["export", "--store", dir]);
    assert(twice.stdout === once.stdout, "export changed after the rerun");
    // Overlapping input: the old part is skipped, the new part stored.
    const more = await compress(dir, input(20, 500, 250));
    assertEquals(more.duplicateSamples, 5_000);
    assertEquals(more.store.samples, 15_000);
    // Text summary of a rerun.
    const r = await runWattwave(["compress", "--store", dir], { stdin: text });
    assert(/10000 samples already stored \(skipped\)/.test(r.stderr), r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a stored timestamp with another value is kept and counted as conflicting", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-idem-" });
  try {
    await compress(dir, `{"name":"c","timestamp":${T0},"value":1}\n`);
    const r = await compress(
      dir,
      `{"name":"c","timestamp":${T0},"value":2}\n{"name":"c","timestamp":${T0},"value":1}\n`,
    );
    assertEquals(r.duplicateSamples, 1);
    assertEquals(r.conflictingSamples, 1);
    const e = await runWattwave(["export", "--store", dir]);
    assertEquals(e.stdout.trim().split("\n").map((l) => JSON.parse(l).value), [1, 2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("receive --store: a request sent twice (a retry after a lost 204) is stored once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-idem-" });
  const server = await startReceive(["--store", dir]);
  try {
    const ts = Array.from({ length: 300 }, (_, i) => T0 + i * 1000);
    const body = snappyEncode(encodeWriteRequest([
      {
        labels: [["__name__", "retried"], ["job", "x"]],
        timestampsMs: ts,
        values: Float64Array.from(ts, (t) => t % 97),
      },
    ]));
    for (let i = 0; i < 2; i++) {
      const res = await fetch(server.url, { method: "POST", headers: PROTOCOL_HEADERS, body });
      await res.body?.cancel();
      assertEquals(res.status, 204);
    }
  } finally {
    const out = await server.stop();
    assertEquals(out.code, 0, out.stderr);
    assert(/300 samples stored .*\(300 already stored, skipped\)/.test(out.stderr), out.stderr);
  }
  try {
    const e = await runWattwave(["export", "--store", dir]);
    assertEquals(e.stdout.trim().split("\n").length, 300);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
