/**
 * Regression tests of store fixes: compaction across long gaps terminates, concurrent writers
 * with automatic compaction, SIGINT and --strict still commit, export date validation.
 */
import { deepStrictEqual as assertEquals } from "node:assert";
import { parseNdjson, runWattwave } from "./support/cli.ts";

Deno.test("compress --compact terminates on a series with a gap over 2^30 ms", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-gap-" });
  try {
    const input =
      '{"name":"m","timestamp":0,"value":1}\n{"name":"m","timestamp":3000000000,"value":2}\n';
    const a = await runWattwave(["compress", "--store", dir, "--report", "json", "-"], {
      stdin: input,
    });
    assertEquals(a.code, 0, a.stderr);
    const b = await runWattwave(["compress", "--store", dir, "--compact", "--report", "json"]);
    assertEquals(b.code, 0, b.stderr);
    const report = JSON.parse(b.stderr.trim().split("\n").at(-1)!);
    assertEquals(report.compaction.rangesIn, 0);
    const out = await runWattwave(["export", "--store", dir]);
    assertEquals(out.code, 0, out.stderr);
    assertEquals(parseNdjson(out.stdout).map((r) => r.timestamp), [0, 3000000000]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
