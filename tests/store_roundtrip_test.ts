/**
 * NDJSON → `wattwave compress` → `wattwave export` is bit-exact, through real processes.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { runWattwave } from "./support/cli.ts";
import { formatJsonValue } from "../lib/ndjson/contract.ts";
import { seededRandom } from "./support/random.ts";

const T0 = 1_732_350_000_000;

function line(name: string, labels: Record<string, string>, ts: number, value: string): string {
  const l = Object.keys(labels).sort().map((k) =>
    `${JSON.stringify(k)}:${JSON.stringify(labels[k])}`
  )
    .join(",");
  return `{"name":${JSON.stringify(name)},"labels":{${l}},"timestamp":${ts},"value":${value}}`;
}

/** Groups NDJSON lines by series (the text before `"timestamp"`), keeping order. */
function bySeries(lines: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const l of lines) {
    const key = l.slice(0, l.indexOf(',"timestamp":'));
    let list = out.get(key);
    if (!list) out.set(key, list = []);
    list.push(l);
  }
  return out;
}

function tsOf(l: string): number {
  const i = l.indexOf(',"timestamp":') + 13;
  return Number(l.slice(i, l.indexOf(",", i)));
}

/** What export must print for each series: input order, stably sorted by timestamp. */
function expected(lines: string[]): Map<string, string[]> {
  const groups = bySeries(lines);
  for (const [k, list] of groups) {
    groups.set(
      k,
      list.map((l, i) => [l, i] as const).sort((a, b) => tsOf(a[0]) - tsOf(b[0]) || a[1] - b[1])
        .map((x) => x[0]),
    );
  }
  return groups;
}

function edgeCaseLines(): string[] {
  const r = seededRandom(42);
  const lines: string[] = [];
  const add = (name: string, labels: Record<string, string>, ts: number, v: number | string) =>
    lines.push(line(name, labels, ts, typeof v === "string" ? v : formatJsonValue(v)));
  // Integers up to 2^53.
  const ints = [
    0,
    1,
    -1,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 31),
    2 ** 32 + 5,
    2 ** 53,
    -(2 ** 53),
    2 ** 53 - 1,
  ];
  for (let i = 0; i < 200; i++) ints.push(Math.floor((r() - 0.5) * 2 ** 53));
  ints.forEach((v, i) => add("ints", { kind: "big" }, T0 + i * 1000, v));
  // A counter in microjoules above 2^32 (dec2).
  let uj = 2 ** 40;
  for (let i = 0; i < 300; i++) {
    add("rapl_uj", { zone: "package-0" }, T0 + i * 1000, uj += Math.floor(r() * 5e6));
  }
  // Decimals with 1 to 15 digits, one series per digit count.
  for (let d = 1; d <= 15; d++) {
    for (let i = 0; i < 50; i++) {
      const v = Number((r() * 1000).toFixed(d));
      add("decimals", { digits: String(d) }, T0 + i * 15_000, v);
    }
  }
  // Specials mixed into a decimal series, and a series of nothing but specials.
  const specials = [
    '"NaN"',
    '"StaleNaN"',
    '"+Inf"',
    '"-Inf"',
    "-0",
    '"0x7ff4000000000abc"',
    '"0xfff8000000000000"',
    "5e-324",
    "2.2250738585072e-308",
    "1e-310",
    "1.7976931348623157e+308",
  ];
  for (let i = 0; i < 400; i++) {
    const v = i % 37 === 5
      ? specials[((i / 37) | 0) % specials.length]
      : formatJsonValue(Math.round(r() * 10000) / 100);
    add("gpu_power_watts", { gpu: "0" }, T0 + i * 1000 + Math.floor(r() * 7), v);
  }
  specials.forEach((v, i) => add("specials", {}, T0 + i, v));
  // Arbitrary doubles (the f64 fallback), irregular and out-of-order timestamps with duplicates.
  let t = T0;
  for (let i = 0; i < 500; i++) {
    t += Math.floor(r() * 5000) - 1000;
    if (i % 50 === 0) t -= 3_300_000; // a backwards jump
    add("random_doubles", { job: "x" }, t, r() * 1e6 - 5e5);
  }
  for (let i = 0; i < 100; i++) add("dupes", {}, T0 + Math.floor(i / 4) * 1000, i % 3);
  // One-sample series, a far-apart pair (a gap beyond the 32-bit channel), labels needing escapes.
  add("single", { a: "1" }, T0, 3.14);
  add("single", { a: "2" }, 0, '"StaleNaN"');
  add("gap", {}, T0, 1);
  add("gap", {}, T0 + 2 ** 33, 2);
  add("escapes", { path: 'C:\\x "q" é\u2028' }, T0, 1);
  // Shuffle series interleaving but keep per-series order.
  return lines.map((l, i) => [l, r() * 1000 + (i % 7)] as const).sort((a, b) => a[1] - b[1]).map((
    x,
  ) => x[0]);
}

async function compressExport(
  input: string,
  compressArgs: string[] = [],
  exportArgs: string[] = [],
): Promise<{ out: string[]; stderr: string; report: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-roundtrip-" });
  const c = await runWattwave(["compress", "--store", dir, "--report", "json", ...compressArgs], {
    stdin: input,
  });
  assertEquals(c.code, 0, c.stderr);
  const e = await runWattwave(["export", "--store", dir, ...exportArgs]);
  assertEquals(e.code, 0, e.stderr);
  return {
    out: e.stdout.split("\n").filter((l) => l !== ""),
    stderr: c.stderr,
    report: c.stdout,
    dir,
  };
}

Deno.test("compress → export round-trips edge cases bit for bit", async () => {
  const lines = edgeCaseLines();
  const { out, stderr, report: reportText, dir } = await compressExport(lines.join("\n") + "\n", [
    "--verify",
    "--segment-samples",
    "100",
  ]);
  try {
    const report = JSON.parse(reportText);
    assertEquals(report.samples, lines.length);
    assertEquals(report.verifiedSamples, lines.length);
    assert(report.bytesPerSample > 0 && report.ratio > 1, stderr);
    const want = expected(lines);
    const got = bySeries(out);
    assertEquals(got.size, want.size);
    for (const [k, list] of want) assertEquals(got.get(k), list, k);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export --match and --start/--end select series and time ranges", async () => {
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    for (const job of ["api", "db", "web"]) {
      lines.push(line("req_total", { job }, T0 + i * 1000, formatJsonValue(i * 3)));
    }
    lines.push(
      line("temp_celsius", { job: "api" }, T0 + i * 1000, formatJsonValue(40 + (i % 10) / 10)),
    );
  }
  const start = T0 + 1234 * 1000;
  const end = T0 + 2345 * 1000;
  const { out, dir } = await compressExport(lines.join("\n"), ["--segment-samples", "500"], [
    "--match",
    '{__name__="req_total",job=~"a.*|w.b"}',
    "--start",
    String(start),
    "--end",
    new Date(end).toISOString(),
  ]);
  try {
    const want = lines.filter((l) =>
      l.startsWith('{"name":"req_total"') && !l.includes('"db"') && tsOf(l) >= start &&
      tsOf(l) <= end
    );
    const got = bySeries(out);
    const w = expected(want);
    assertEquals([...got.keys()].sort(), [...w.keys()].sort());
    for (const [k, list] of w) assertEquals(got.get(k), list);
    const bad = await runWattwave(["export", "--store", dir, "--match", '{job=~"("}']);
    assertEquals(bad.code, 2, bad.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a one-million-sample series round-trips and appends from a later run", async () => {
  const n = 1_000_000;
  const parts: string[] = [];
  let uj = 123_456_789;
  const r = seededRandom(7);
  for (let i = 0; i < n; i++) {
    uj += 20_000 + Math.floor(r() * 3000);
    parts.push(
      `{"name":"energy_uj","labels":{"zone":"p0"},"timestamp":${
        T0 + i * 5 + (i % 3)
      },"value":${uj}}`,
    );
  }
  const half = n / 2;
  const dir = await Deno.makeTempDir({ prefix: "wattwave-1m-" });
  try {
    for (const chunk of [parts.slice(0, half), parts.slice(half)]) {
      const c = await runWattwave(["compress", "--store", dir, "--report", "json"], {
        stdin: chunk.join("\n") + "\n",
      });
      assertEquals(c.code, 0, c.stderr);
    }
    const e = await runWattwave(["export", "--store", dir]);
    assertEquals(e.code, 0, e.stderr);
    const out = e.stdout.split("\n");
    out.pop();
    assertEquals(out.length, n);
    for (let i = 0; i < n; i++) {
      if (out[i] !== parts[i]) assertEquals(out[i], parts[i], `line ${i}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("metadata records round-trip: stored in the index, exported first for the exported metrics", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wattwave-meta-" });
  try {
    const meta = (name: string, type: string, unit: string, help: string) =>
      JSON.stringify({ metadata: { name, type, unit, help } });
    const input = [
      meta("gpu_power_watts", "gauge", "watts", "old help"),
      line("gpu_power_watts", { gpu: "0" }, T0, "69.85"),
      meta("rapl_energy_joules_total", "counter", "joules", 'Energy "package" \\ RAPL\nzone'),
      line("rapl_energy_joules_total", { zone: "package-0" }, T0, "12345.678"),
      meta("gpu_power_watts", "gauge", "watts", "Board power draw"), // the last one wins
      meta("never_sampled", "gauge", "", "no samples: not exported"),
      line("gpu_power_watts", { gpu: "1" }, T0 + 1000, "70"),
    ].join("\n") + "\n";
    const c = await runWattwave(["compress", "--store", dir, "--report", "json"], { stdin: input });
    assertEquals(c.code, 0, c.stderr);
    assertEquals(JSON.parse(c.stdout).metadataRecords, 4);
    const e = await runWattwave(["export", "--store", dir]);
    assertEquals(e.code, 0, e.stderr);
    const out = e.stdout.trim().split("\n");
    assertEquals(out.slice(0, 2), [
      meta("gpu_power_watts", "gauge", "watts", "Board power draw"),
      meta("rapl_energy_joules_total", "counter", "joules", 'Energy "package" \\ RAPL\nzone'),
    ]);
    assertEquals(out.length, 5);
    assert(out.slice(2).every((l) => JSON.parse(l).timestamp !== undefined));
    // Re-importing the export gives the same export.
    const dir2 = `${dir}/again`;
    const c2 = await runWattwave(["compress", "--store", dir2], { stdin: e.stdout });
    assertEquals(c2.code, 0, c2.stderr);
    assertEquals((await runWattwave(["export", "--store", dir2])).stdout, e.stdout);
    // Only the metadata of the metrics selected.
    const m = await runWattwave(["export", "--store", dir, "--match", "rapl_energy_joules_total"]);
    assertEquals(m.stdout.trim().split("\n"), [
      meta("rapl_energy_joules_total", "counter", "joules", 'Energy "package" \\ RAPL\nzone'),
      line("rapl_energy_joules_total", { zone: "package-0" }, T0, "12345.678"),
    ]);
    // A later run updates a record.
    const c3 = await runWattwave(["compress", "--store", dir], {
      stdin: meta("rapl_energy_joules_total", "counter", "joules", "new help") + "\n",
    });
    assertEquals(c3.code, 0, c3.stderr);
    const m2 = await runWattwave(["export", "--store", dir, "--match", "rapl_energy_joules_total"]);
    assertEquals(
      m2.stdout.split("\n")[0],
      meta("rapl_energy_joules_total", "counter", "joules", "new help"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
