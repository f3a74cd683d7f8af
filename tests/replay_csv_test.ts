/**
 * `wattwave replay-csv` end to end: real processes, fixtures in each format written by the test
 * (quoting, BOM, CRLF, non-values, bad rows), exit codes, `| head`, and `--speed` pacing.
 */
import { assert, assertAlmostEquals, assertEquals, assertMatch } from "./support/assert.ts";
import { parseNdjson, runWattwave, spawnWattwave } from "./support/cli.ts";
import { collect } from "./support/net.ts";
import { dcgmCsv, nabCsv, nvidiaSmiCsv, wideCsv } from "./fixtures/csv/fixtures.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-replay-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

type Line = Record<string, unknown>;
const samplesOf = (lines: Line[]) => lines.filter((l) => !("metadata" in l));

Deno.test("replay-csv: dcgm export with BOM and CRLF → NDJSON; bad rows reported, exit 1", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/dcgm.csv`;
    await Deno.writeTextFile(path, dcgmCsv({ bom: true, eol: "\r\n" }));
    const r = await runWattwave(["replay-csv", path]);
    assertEquals(r.code, 1, r.stderr);
    const lines = parseNdjson(r.stdout);
    const samples = samplesOf(lines);
    assertEquals(samples.length, 10);
    assertEquals(samples[0], {
      name: "DCGM_FI_DEV_POWER_USAGE",
      labels: {
        DCGM_FI_DRIVER_VERSION: "535.129.03",
        Hostname: "dgx-01",
        UUID: "GPU-00000000-aaaa-bbbb-cccc-000000000000",
        device: "nvidia0",
        gpu: "0",
        instance: "dgx-01:9400",
        job: "dgx_dcgm_exporter",
        modelName: "NVIDIA H100 80GB HBM3",
      },
      timestamp: Date.UTC(2025, 6, 18, 20, 42, 34),
      value: 66.781,
    });
    assertEquals(lines[0], {
      metadata: {
        name: "DCGM_FI_DEV_POWER_USAGE",
        type: "gauge",
        unit: "",
        help: "Power draw (in W).",
      },
    });
    assertMatch(r.stderr, /bad row .*dcgm\.csv:11: expected 12 fields as in the header, got 3/);
    assertMatch(r.stderr, /bad row .*dcgm\.csv:12: not a timestamp/);
    assertMatch(r.stderr, /out of order .*dcgm\.csv:13: DCGM_FI_DEV_POWER_USAGE/);
    assertMatch(r.stderr, /13 rows \(2 bad\), 10 samples, 1 out of order/);
  });
});

Deno.test("replay-csv: nvidia-smi log in a given zone, with and without units; --strict exits at the bad row", async () => {
  await withTempDir(async (dir) => {
    for (const nounits of [false, true]) {
      const path = `${dir}/smi.csv`;
      await Deno.writeTextFile(path, nvidiaSmiCsv({ nounits, eol: "\r\n" }));
      const r = await runWattwave(["replay-csv", "--timezone", "Europe/Berlin", path]);
      assertEquals(r.code, 1, r.stderr);
      const samples = samplesOf(parseNdjson(r.stdout));
      assertEquals(samples.length, 20);
      const power = samples.filter((s) => s.name === "nvidia_smi_power_draw_watts");
      assertEquals(power.map((s) => [s.timestamp, s.value]), [
        [Date.UTC(2026, 6, 14, 6, 12, 38, 696), 69.85],
        [Date.UTC(2026, 6, 14, 6, 12, 39, 696), 631.95],
      ]);
      assertEquals(power[0].labels, {
        index: "0",
        uuid: "11111111-2222-3333-4444-555555555555",
        name: "NVIDIA H100 80GB HBM3",
      });
      assertMatch(r.stderr, /smi\.csv:6: power\.draw \[W\]: not a value \(got "lots W"\)/);
      const strict = await runWattwave(["replay-csv", "--strict", "--timezone", "UTC", path]);
      assertEquals(strict.code, 1);
      assertMatch(strict.stderr, /smi\.csv:6: bad row: power\.draw/);
    }
  });
});

Deno.test("replay-csv: NAB file from stdin with --metric; wide CSV with comments and label columns", async () => {
  const nab = await runWattwave(["replay-csv", "--metric", "machine_temp", "--timezone", "UTC"], {
    stdin: nabCsv(),
  });
  assertEquals(nab.code, 1, nab.stderr); // line 7 is bad
  const samples = samplesOf(parseNdjson(nab.stdout));
  assertEquals(samples.map((s) => s.value), [73.96732207, 74.935882, 76.12416182, 76.5, 78.14, 80]);
  assertMatch(nab.stderr, /stdin:7: column "value": not a number \(got "hot"\)/);
  assertMatch(nab.stderr, /duplicate stdin:5: machine_temp/);

  await withTempDir(async (dir) => {
    const path = `${dir}/wide.csv`;
    await Deno.writeTextFile(path, wideCsv({ bom: true, eol: "\r\n" }));
    const r = await runWattwave([
      "replay-csv",
      "--comment",
      "#",
      "--label-columns",
      "host",
      "--metric-prefix",
      "node_",
      "--label",
      "site=lab",
      path,
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(samplesOf(parseNdjson(r.stdout)), [
      {
        name: "node_cpu_watts",
        labels: { file: "wide.csv", host: "a,1", site: "lab" },
        timestamp: 1700000000000,
        value: 12.5,
      },
      {
        name: "node_temp_c",
        labels: { file: "wide.csv", host: "a,1", site: "lab" },
        timestamp: 1700000000000,
        value: 40,
      },
      {
        name: "node_temp_c",
        labels: { file: "wide.csv", host: 'b "x"', site: "lab" },
        timestamp: 1700000001000,
        value: 41,
      },
      {
        name: "node_cpu_watts",
        labels: { file: "wide.csv", host: "c", site: "lab" },
        timestamp: 1700000002000,
        value: "NaN",
      },
      {
        name: "node_temp_c",
        labels: { file: "wide.csv", host: "c", site: "lab" },
        timestamp: 1700000002000,
        value: 42,
      },
    ]);
    assertMatch(r.stderr, /"note" is not numeric/);
  });
});

Deno.test("replay-csv: usage errors exit 2", async () => {
  for (
    const args of [
      ["replay-csv", "--speed", "0"],
      ["replay-csv", "--speed", "fast"],
      ["replay-csv", "--timezone", "Mars/Olympus"],
      ["replay-csv", "--loop"],
      ["replay-csv", "--format", "xml"],
      ["replay-csv", "--metric", "m", "--metric-prefix", "p_"],
    ]
  ) {
    const r = await runWattwave(args, { stdin: "" });
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
  }
  const missing = await runWattwave(["replay-csv", "/nonexistent/x.csv"]);
  assertEquals(missing.code, 1);
  assertMatch(missing.stderr, /\/nonexistent\/x\.csv: cannot open input file/);
});

Deno.test("replay-csv | head: a closed pipe ends the replay cleanly (exit 0)", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/big.csv`;
    const rows = ["timestamp,value"];
    for (let i = 0; i < 200_000; i++) rows.push(`${1_700_000_000 + i},${i}`);
    await Deno.writeTextFile(path, rows.join("\n") + "\n");
    const child = spawnWattwave(["replay-csv", "--metric", "m", path]);
    const stderr = collect(child.stderr);
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    assert(!first.done && first.value.startsWith('{"name":"m"'));
    await reader.cancel();
    const status = await child.status;
    assertEquals(status.code, 0, await stderr);
  });
});

Deno.test("replay-csv --speed: a 2-second file takes about 2 s at speed 1 and 0.5 s at speed 4", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/two_seconds.csv`;
    const rows = ["timestamp,value"];
    for (let i = 0; i <= 8; i++) {
      rows.push(`${new Date(Date.UTC(2024, 0, 1, 0, 0, 0, i * 250)).toISOString()},${i}`);
    }
    await Deno.writeTextFile(path, rows.join("\n") + "\n");
    for (const [speed, expectedS] of [["1", 2], ["4", 0.5]] as const) {
      const child = spawnWattwave(["replay-csv", "--speed", speed, "--metric", "m", path]);
      const stderr = collect(child.stderr);
      const arrivals: number[] = [];
      const lines: string[] = [];
      let partial = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        const parts = (partial + chunk).split("\n");
        partial = parts.pop()!;
        for (const p of parts) {
          lines.push(p);
          arrivals.push(performance.now());
        }
      }
      const status = await child.status;
      assertEquals(status.code, 0, await stderr);
      assertEquals(lines.length, 9);
      const spanS = (arrivals[8] - arrivals[0]) / 1000;
      // Generous for a loaded 2-core machine running tests in parallel.
      assertAlmostEquals(spanS, expectedS, 0.3, `--speed ${speed}: took ${spanS} s`);
      // Lines arrive spread out, not in one burst at the end.
      const mid = (arrivals[4] - arrivals[0]) / 1000;
      assertAlmostEquals(mid, expectedS / 2, 0.2, `--speed ${speed}: half-way after ${mid} s`);
    }
  });
});

Deno.test("replay-csv --loop --shift-to-now: passes follow each other until the reader goes away", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/loop.csv`;
    await Deno.writeTextFile(path, "timestamp,value\n1000,1\n1010,2\n1020,3\n");
    const started = Date.now();
    const child = spawnWattwave(["replay-csv", "--loop", "--shift-to-now", "--metric", "m", path]);
    const stderr = collect(child.stderr);
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (text.split("\n").length <= 9) {
      const { done, value } = await reader.read();
      if (done) break;
      text += value;
    }
    await reader.cancel();
    assertEquals((await child.status).code, 0, await stderr);
    const ts = parseNdjson(text.split("\n").slice(0, 9).join("\n")).map((l) =>
      l.timestamp as number
    );
    assert(Math.abs(ts[0] - started) < 30_000, `first at ${ts[0]}, started ${started}`);
    assertEquals(ts.map((t) => (t - ts[0]) / 1000), [0, 10, 20, 30, 40, 50, 60, 70, 80]);
  });
});

Deno.test("replay-csv: two NAB files never merge into one series (file label); empty stdin is exit 1", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/a.csv`,
      "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,2\n",
    );
    await Deno.writeTextFile(
      `${dir}/b.csv`,
      "timestamp,value\n2024-01-01 00:00:00,7\n2024-01-01 00:05:00,8\n",
    );
    const r = await runWattwave(
      ["replay-csv", "--timezone", "UTC", `${dir}/a.csv`, `${dir}/b.csv`],
    );
    assertEquals(r.code, 0, r.stderr);
    const samples = samplesOf(parseNdjson(r.stdout));
    assertEquals(samples.map((s) => [s.name, s.labels, s.value]), [
      ["value", { file: "a.csv" }, 1],
      ["value", { file: "a.csv" }, 2],
      ["value", { file: "b.csv" }, 7],
      ["value", { file: "b.csv" }, 8],
    ]);
    assertMatch(r.stderr, / 0 out of order/);
    // --metric names the metric; the file label still tells the files apart.
    const m = await runWattwave(
      ["replay-csv", "--timezone", "UTC", "--metric", "temp", `${dir}/a.csv`, `${dir}/b.csv`],
    );
    assertEquals(
      samplesOf(parseNdjson(m.stdout)).map((s) => `${s.name}${JSON.stringify(s.labels)}`),
      [
        'temp{"file":"a.csv"}',
        'temp{"file":"a.csv"}',
        'temp{"file":"b.csv"}',
        'temp{"file":"b.csv"}',
      ],
    );
  });
  const empty = await runWattwave(["replay-csv"], { stdin: "" });
  assertEquals(empty.code, 1, empty.stderr);
  assertMatch(empty.stderr, /stdin: empty \(no header row\)/);
});
