/**
 * Regression tests of store fixes: compaction across long gaps terminates, concurrent writers
 * with automatic compaction, SIGINT and --strict still commit, export date validation.
 */
import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert";
import { parseTimeMs } from "../lib/cli/time.ts";
import { parseNdjson, runWattwave, spawnWattwave } from "./support/cli.ts";
import { collect } from "./support/net.ts";
import { peerBin, peerTest } from "./support/peers.ts";

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
    const report = JSON.parse(b.stdout);
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
    const compacted = results.map((r) => JSON.parse(r.stdout).compaction.rangesIn);
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

Deno.test("compress: SIGINT on a live pipe commits what was read and exits 0; --commit-interval commits meanwhile", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-sigint-" });
  const child = spawnWattwave(
    ["compress", "--store", dir, "--commit-interval", "200ms", "--no-progress", "-"],
    { stdin: "piped" },
  );
  try {
    const w = child.stdin.getWriter();
    const enc = new TextEncoder();
    for (let i = 0; i < 3; i++) {
      await w.write(enc.encode(`{"name":"slow","timestamp":${1000 + i},"value":${i}}\n`));
      await new Promise((r) => setTimeout(r, 100));
    }
    // The interval commit makes them visible while the pipe is still open.
    let seen = 0;
    for (let t = 0; t < 50 && seen < 3; t++) {
      await new Promise((r) => setTimeout(r, 100));
      const out = await runWattwave(["export", "--store", dir]);
      if (out.code === 0) seen = parseNdjson(out.stdout).length;
    }
    assertEquals(seen, 3);
    await w.write(enc.encode(`{"name":"slow","timestamp":2000,"value":9}\n`));
    await new Promise((r) => setTimeout(r, 100));
    child.kill("SIGINT");
    const status = await child.status;
    const stderr = await collect(child.stderr);
    assertEquals(status.code, 0, stderr);
    w.releaseLock();
    const out = await runWattwave(["export", "--store", dir]);
    assertEquals(out.code, 0, out.stderr);
    assertEquals(parseNdjson(out.stdout).map((r) => r.value), [0, 1, 2, 9]);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compress --strict: the valid lines before a bad one are committed, exit 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-strict-" });
  try {
    const input =
      '{"name":"m","timestamp":1,"value":1}\n{"name":"m","timestamp":2,"value":2}\nnot json\n' +
      '{"name":"m","timestamp":3,"value":3}\n';
    const r = await runWattwave(["compress", "--store", dir, "--strict", "-"], { stdin: input });
    assertEquals(r.code, 1, r.stderr);
    const out = await runWattwave(["export", "--store", dir]);
    assertEquals(out.code, 0, out.stderr);
    assertEquals(parseNdjson(out.stdout).map((x) => x.value), [1, 2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compress summary counts compaction's files and bytes, and verification separately", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-summary-" });
  try {
    const run = async (from: number, extra: string[]) => {
      const lines = Array.from(
        { length: 10 },
        (_, i) => `{"name":"m","timestamp":${(from + i) * 1000},"value":${from + i}}`,
      );
      const r = await runWattwave(
        ["compress", "--store", dir, "--report", "json", "--no-progress", ...extra, "-"],
        { stdin: lines.join("\n") + "\n" },
      );
      assertEquals(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    let last;
    for (let k = 0; k < 3; k++) last = await run(k * 10, []);
    const r = await run(30, ["--compact", "--verify"]);
    assertEquals(r.compaction.rangesIn, 4);
    assertEquals(r.compaction.rangesOut, 1);
    assertEquals(r.samples, 10);
    assertEquals(r.verifiedSamples, 10);
    assertEquals(r.verifiedCompactedSamples, 40);
    assertEquals(r.segments, 1 + r.compaction.filesWritten);
    assertEquals(r.bytesOnDisk, r.store.bytes - last.store.bytes);
    assertEquals(r.store.segments, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export --start/--end: RFC 3339 fields are range-checked, leap second accepted", async () => {
  assertEquals(parseTimeMs("2024-11-23T08:20:00Z"), Date.UTC(2024, 10, 23, 8, 20, 0));
  assertEquals(
    parseTimeMs("2024-11-23T08:20:00.1239+01:00"),
    Date.UTC(2024, 10, 23, 7, 20, 0, 123),
  );
  assertEquals(parseTimeMs("2024-02-29T00:00Z"), Date.UTC(2024, 1, 29));
  assertEquals(parseTimeMs("2016-12-31T23:59:60Z"), Date.UTC(2016, 11, 31, 23, 59, 59, 999));
  assertEquals(parseTimeMs("2016-12-31T23:59:60.5Z"), Date.UTC(2016, 11, 31, 23, 59, 59, 999));
  assertEquals(parseTimeMs("1732350000123"), 1732350000123);
  for (
    const bad of [
      "2024-02-30T00:00:00Z",
      "2023-02-29T00:00:00Z",
      "2024-04-31T00:00:00Z",
      "2024-13-01T00:00:00Z",
      "2024-00-01T00:00:00Z",
      "2024-01-00T00:00:00Z",
      "2024-01-01T24:00:00Z",
      "2024-01-01T00:60:00Z",
      "2024-01-01T00:00:61Z",
      "2024-01-01T00:00:00+24:00",
      "2024-01-01",
    ]
  ) {
    assertThrows(() => parseTimeMs(bad), (e: Error) => e.message.includes(`"${bad}"`), bad);
  }
  const dir = await Deno.makeTempDir({ prefix: "wattwave-export-time-" });
  try {
    const w = await runWattwave(["compress", "--store", dir, "-"], {
      stdin: '{"name":"m","timestamp":1,"value":1}\n',
    });
    assertEquals(w.code, 0, w.stderr);
    const r = await runWattwave(["export", "--store", dir, "--start", "2024-02-30T00:00:00Z"]);
    assertEquals(r.code, 2, r.stderr);
    assert(r.stderr.includes("2024-02-30T00:00:00Z"), r.stderr);
    const ok = await runWattwave(["export", "--store", dir, "--end", "2016-12-31T23:59:60Z"]);
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(parseNdjson(ok.stdout).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

peerTest(
  ["flac"],
  "a writer that ends cleanly leaves only segments behind (its .writer lock file is removed)",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "wattwave-writer-" });
    try {
      const a = await runWattwave(["compress", "--store", dir, "-"], {
        stdin: '{"name":"m","timestamp":1000,"value":1}\n',
      });
      assertEquals(a.code, 0, a.stderr);
      const names = [...Deno.readDirSync(`${dir}/segments`)].map((e) => e.name);
      assert(names.length > 0 && names.every((n) => n.endsWith(".flac")), names.join(", "));
      const flac = await new Deno.Command(peerBin("flac"), {
        args: ["-t", "-s", ...names.map((n) => `${dir}/segments/${n}`)],
        stderr: "piped",
      }).output();
      assertEquals(flac.code, 0, new TextDecoder().decode(flac.stderr));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("a store whose index.json.gz is gone is refused by export, compress and serve-read; no segment is deleted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-noindex-" });
  try {
    const c = await runWattwave(["compress", "--store", dir], {
      stdin: `{"name":"kept","timestamp":1000,"value":1}\n`,
    });
    assertEquals(c.code, 0, c.stderr);
    await Deno.remove(`${dir}/index.json.gz`);
    for (
      const args of [
        ["export", "--store", dir],
        ["inspect", "--store", dir],
        ["serve-read", "--store", dir, "--port", "0"],
      ]
    ) {
      const r = await runWattwave(args);
      assertEquals(r.code, 1, `${args[0]}: ${r.stderr}`);
      assert(
        /index\.json\.gz is missing but segments\/ holds 1 FLAC files/.test(r.stderr),
        `${args[0]}: ${r.stderr}`,
      );
    }
    const again = await runWattwave(["compress", "--store", dir], {
      stdin: `{"name":"new","timestamp":1000,"value":1}\n`,
    });
    assertEquals(again.code, 1, again.stderr);
    let flac = 0;
    for await (const e of Deno.readDir(`${dir}/segments`)) if (e.name.endsWith(".flac")) flac++;
    assertEquals(flac, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
