/**
 * Regression tests of store fixes: compaction across long gaps terminates, concurrent writers
 * with automatic compaction, SIGINT and --strict still commit, export date validation.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
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

Deno.test("concurrent compress writers with automatic compaction: all succeed, every sample once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-concurrent-" });
  try {
    const WRITERS = 3;
    const SERIES = 20;
    const PER_SERIES = 1500;
    const inputs: string[] = [];
    for (let w = 0; w < WRITERS; w++) {
      const lines: string[] = [];
      for (let i = 0; i < PER_SERIES; i++) {
        for (let s = 0; s < SERIES; s++) {
          // Same series in every writer, disjoint timestamps: compactions meet each other's ranges.
          const ts = 1_700_000_000_000 + (w * PER_SERIES + i) * 1000;
          lines.push(
            `{"name":"conc_metric","labels":{"s":"${s}"},"timestamp":${ts},"value":${i + s}}`,
          );
        }
      }
      const path = `${dir}/in${w}.ndjson`;
      await Deno.writeTextFile(path, lines.join("\n") + "\n");
      inputs.push(path);
    }
    const store = `${dir}/store`;
    const results = await Promise.all(inputs.map((path) =>
      runWattwave([
        "compress",
        "--store",
        store,
        "--commit-samples",
        "200",
        "--report",
        "json",
        "--no-progress",
        path,
      ])
    ));
    for (const r of results) assertEquals(r.code, 0, r.stderr);
    const compacted = results.map((r) =>
      JSON.parse(r.stderr.trim().split("\n").at(-1)!).compaction.rangesIn
    );
    assert(compacted.some((n) => n > 0), `no automatic compaction ran: ${compacted}`);
    const out = await runWattwave(["export", "--store", store]);
    assertEquals(out.code, 0, out.stderr);
    const rows = parseNdjson(out.stdout);
    assertEquals(rows.length, WRITERS * SERIES * PER_SERIES);
    const seen = new Set(
      rows.map((r) => `${(r.labels as Record<string, string>).s}@${r.timestamp}`),
    );
    assertEquals(seen.size, rows.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
