/**
 * `wattwave sample` end to end: fixture powercap trees and a fake nvidia-smi, real processes.
 * Waits are on the sampler's own output (a line, a tick), never on the clock alone.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import {
  type CliResult,
  parseNdjson,
  runWattwave,
  spawnWattwave,
  wattwaveArgv,
} from "./support/cli.ts";
import { collect } from "./support/net.ts";
import { twoSocketZones } from "./fixtures/powercap_tree.ts";
import { lineReader, waitUntil } from "./support/lines.ts";
import {
  type Rec,
  type SampleFixtureOptions,
  type SampleFixtures,
  samplesOf,
  withSampleFixtures,
} from "./support/sample.ts";

/** Runs `sample` with `--deny-read` on every energy_uj file (what non-root users get). */
async function runDenied(fx: SampleFixtures, args: string[]): Promise<CliResult> {
  const files = twoSocketZones().map((z) => fx.tree!.energyFile(z.dir)).join(",");
  const argv = wattwaveArgv(fx.argv(...args));
  // Deno's permission flags: --deny-read wins over --allow-read for those files.
  argv.splice(argv.indexOf("--allow-read") + 1, 0, `--deny-read=${files}`);
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("sample: metadata first, node names and labels, GPU values, non-values absent", async () => {
  await withSampleFixtures({}, async (fx) => {
    const tree = fx.tree!;
    const r = await runWattwave(
      fx.argv("--period", "100ms", "--count", "5", "--power", "--label", "host=a"),
    );
    assertEquals(r.code, 0, r.stderr);
    const recs = parseNdjson(r.stdout) as Rec[];
    // Metadata first, for every metric emitted.
    const firstSample = recs.findIndex((x) => x.name !== undefined);
    const meta = new Map(recs.slice(0, firstSample).map((x) => [x.metadata!.name, x.metadata!]));
    assert(recs.slice(firstSample).every((x) => x.name !== undefined), "metadata after samples");
    for (const s of recs.slice(firstSample)) assert(meta.has(s.name!), `no metadata for ${s.name}`);
    assertEquals(meta.get("node_rapl_package_joules_total")!.type, "counter");
    assertEquals(meta.get("node_rapl_package_joules_total")!.unit, "joules");
    assertEquals(meta.get("node_rapl_dram_watts")!.type, "gauge");
    assert(meta.get("nvidia_smi_energy_joules_total")!.help.includes("integrated"));

    // Powercap: node_exporter names, index/path labels, mmio duplicate skipped.
    const pkg0 = samplesOf(recs, "node_rapl_package_joules_total", { index: "0" });
    assertEquals(pkg0.length, 5);
    assertEquals(pkg0[0].labels, { index: "0", path: `${tree.root}/intel-rapl:0`, host: "a" });
    assertEquals(pkg0[0].value, 1);
    // Ticks in order, spanning at least the 4 periods of 100 ms (a loaded machine reads late or
    // skips a tick, which only stretches the span; how late is not this test's business).
    for (let i = 1; i < pkg0.length; i++) {
      assert(pkg0[i].timestamp! > pkg0[i - 1].timestamp!, "ticks out of order");
    }
    const span = pkg0[4].timestamp! - pkg0[0].timestamp!;
    assert(Math.round(span / 100) >= 4, `5 ticks of 100 ms span ${span} ms`);
    assertEquals(samplesOf(recs, "node_rapl_package_joules_total").length, 10);
    assertEquals(
      samplesOf(recs, "node_rapl_dram_joules_total", { index: "1" })[0].labels!.path,
      `${tree.root}/intel-rapl:1:2`,
    );
    assertEquals(samplesOf(recs, "node_rapl_psys_joules_total").length, 5);
    assertEquals(samplesOf(recs, "node_rapl_uncore_watts").length, 8); // from the second tick
    assert(!recs.some((x) => x.labels?.path?.includes("mmio")));

    // GPU: nvidia_gpu_exporter names and base units, uuid without GPU-, non-values absent.
    const g0 = { uuid: "00000000-0000-0000-0000-000000000000" };
    const g1 = { uuid: "11111111-1111-1111-1111-111111111111" };
    const power = samplesOf(recs, "nvidia_smi_power_draw_watts", g0);
    assert(power.length >= 1, r.stdout);
    assertEquals(power[0].labels, {
      index: "0",
      name: "NVIDIA H100 80GB HBM3",
      uuid: g0.uuid,
      host: "a",
    });
    assertEquals(power[0].value, 100);
    const values: [string, Record<string, string>, number][] = [
      ["nvidia_smi_memory_used_bytes", g0, 19818 * 1048576],
      ["nvidia_smi_clocks_current_sm_clock_hz", g1, 2055e6],
      ["nvidia_smi_utilization_memory_ratio", g0, 0.11],
      ["nvidia_smi_pstate", g1, 2],
      ["nvidia_smi_temperature_gpu", g0, 59],
      ["nvidia_smi_fan_speed_ratio", g1, 0.38],
    ];
    for (const [name, gpu, want] of values) assertEquals(samplesOf(recs, name, gpu)[0].value, want);
    const absent: [string, Record<string, string>][] = [
      ["nvidia_smi_fan_speed_ratio", g0], // [N/A]
      ["nvidia_smi_temperature_memory", g1], // N/A
      ["nvidia_smi_power_draw_average_watts", g1], // [N/A]
    ];
    for (const [name, gpu] of absent) assertEquals(samplesOf(recs, name, gpu), [], name);
    assert(samplesOf(recs, "nvidia_smi_energy_joules_total", g0).length >= 1);
    // One long-running nvidia-smi in loop mode.
    const loops = fx.smi!.calls().filter((c) => c.includes("-lms"));
    assertEquals(loops.length, 1);
    assertEquals(loops[0].slice(-2), ["-lms", "100"]);
    assert(r.stderr.includes("5 ticks"), r.stderr);
  });
});

/** A source that is missing or unreadable: what `sample` says and what it goes on with. */
interface DegradedCase {
  name: string;
  fixtures: SampleFixtureOptions;
  args: string[];
  /** Run with read access to every energy_uj denied. */
  denyEnergy?: boolean;
  code: number;
  /** Texts stderr holds ({{file:DIR}} is the energy_uj of zone DIR). */
  stderrHas: string[];
  /** Lines of stderr that mention nvidia-smi, when counted. */
  nvidiaSmiLines?: number;
  /** Samples per metric name expected (0: none). */
  counts?: Record<string, number>;
}

const DEGRADED: DegradedCase[] = [
  {
    name: "an unreadable energy_uj is named; the other zones are sampled",
    fixtures: {
      zones: twoSocketZones().slice(0, 4).map((z, i) => ({ ...z, unreadable: i === 3 })),
      smi: false,
    },
    args: ["--period", "50ms", "--count", "2"],
    code: 0,
    stderrHas: ["{{file:intel-rapl:0:2}}"],
    counts: { node_rapl_package_joules_total: 2, node_rapl_dram_joules_total: 0 },
  },
  {
    name: "energy_uj not readable → says how to grant access; goes on with the GPU",
    fixtures: {},
    args: ["--period", "100ms", "--count", "3"],
    denyEnergy: true,
    code: 0,
    stderrHas: ["{{file:intel-rapl:0}}", "chmod", "going on without powercap"],
    counts: { node_rapl_package_joules_total: 0 },
  },
  {
    name: "energy_uj not readable and no GPU → nothing to sample, exit 1, same explanation",
    fixtures: { smi: false },
    args: ["--count", "1"],
    denyEnergy: true,
    code: 1,
    stderrHas: ["nothing to sample", "chmod"],
  },
  {
    name: "no nvidia-smi → one clear line, CPU sampling alone",
    fixtures: { smi: "missing" },
    args: ["--period", "50ms", "--count", "2"],
    code: 0,
    stderrHas: ["not found", "CPU only"],
    nvidiaSmiLines: 1,
    counts: { node_rapl_package_joules_total: 4 },
  },
  {
    name: "nvidia-smi without a driver → one line, CPU only",
    fixtures: { smi: { noDriver: true } },
    args: ["--count", "1"],
    code: 0,
    stderrHas: ["couldn't communicate with the NVIDIA driver", "CPU only"],
  },
];

for (const c of DEGRADED) {
  Deno.test(`sample: ${c.name}`, async () => {
    await withSampleFixtures(c.fixtures, async (fx) => {
      const r = c.denyEnergy ? await runDenied(fx, c.args) : await runWattwave(fx.argv(...c.args));
      assertEquals(r.code, c.code, r.stderr);
      for (const text of c.stderrHas) {
        const want = text.replace(/\{\{file:([^}]+)\}\}/, (_, d) => fx.tree!.energyFile(d));
        assert(r.stderr.includes(want), `stderr lacks "${want}": ${r.stderr}`);
      }
      assert(!r.stderr.includes("    at "), r.stderr); // no stack trace
      if (c.nvidiaSmiLines !== undefined) {
        const lines = r.stderr.split("\n").filter((l) => l.includes("nvidia-smi"));
        assertEquals(lines.length, c.nvidiaSmiLines, r.stderr);
      }
      const recs = parseNdjson(r.stdout) as Rec[];
      for (const [name, n] of Object.entries(c.counts ?? {})) {
        assertEquals(samplesOf(recs, name).length, n, name);
      }
      if (c.denyEnergy && c.code === 0) {
        assert(samplesOf(recs, "nvidia_smi_power_draw_watts").length > 0, r.stdout);
      }
    });
  });
}

Deno.test("sample: wraparound between ticks, equal readings, missing max_energy_range_uj", async () => {
  const zones = [
    { dir: "intel-rapl:0", name: "package-0", energyUj: 900_000, maxEnergyRangeUj: 1_000_000 },
    { dir: "intel-rapl:0:0", name: "core", energyUj: 400_000, maxEnergyRangeUj: null },
    { dir: "intel-rapl:0:2", name: "dram", energyUj: 10, maxEnergyRangeUj: 1_000_000 },
  ];
  await withSampleFixtures({ zones, smi: false }, async (fx) => {
    const tree = fx.tree!;
    // Energies change right after a tick's lines are read: a long period leaves room for a
    // slow or loaded machine to do it before the next tick.
    const child = spawnWattwave(fx.argv("--period", "1500ms", "--count", "3", "--power"));
    const stderr = collect(child.stderr);
    const out = lineReader(child.stdout);
    try {
      // Each tick writes one counter line per zone (plus watts from the second tick).
      const waitTick = async () => {
        for (let i = 0; i < 3; i++) await out.until('joules_total","labels');
      };
      await waitTick(); // tick 0
      tree.setEnergy("intel-rapl:0", 50_000); // wrapped: 50000 + 1000000 - 900000 = 150000 µJ
      tree.setEnergy("intel-rapl:0:0", 400_000); // equal: zero energy
      // dram stays equal too
      await waitTick(); // tick 1
      tree.setEnergy("intel-rapl:0", 60_000);
      tree.setEnergy("intel-rapl:0:0", 1_000); // smaller without max range: restart from 0 → +1000
      await out.rest();
      const { code } = await child.status;
      const err = await stderr;
      assertEquals(code, 0, err);
      const recs = parseNdjson(out.all.join("\n")) as Rec[];
      const valuesOf = (name: string) => samplesOf(recs, name).map((x) => x.value);
      assertEquals(valuesOf("node_rapl_package_joules_total"), [0.9, 1.05, 1.06]);
      assertEquals(valuesOf("node_rapl_core_joules_total"), [0.4, 0.4, 0.401]);
      assertEquals(valuesOf("node_rapl_dram_joules_total"), [1e-5, 1e-5, 1e-5]);
      const watts = samplesOf(recs, "node_rapl_package_watts");
      assertEquals(watts.length, 2);
      // 0.15 J over the time between the two reads (~1.5 s).
      const pkgTs = samplesOf(recs, "node_rapl_package_joules_total").map((x) => x.timestamp!);
      const expectedW = 0.15 / ((pkgTs[1] - pkgTs[0]) / 1000);
      assert(
        Math.abs(watts[0].value! - expectedW) / expectedW < 0.01,
        `${watts[0].value} W, expected ${expectedW}`,
      );
      assertEquals(samplesOf(recs, "node_rapl_core_watts")[0].value, 0);
      assert(err.includes("intel-rapl:0:0/max_energy_range_uj"), err);
    } finally {
      try {
        child.kill();
      } catch { /* ended */ }
    }
  });
});

Deno.test("sample: nvidia-smi dying mid-run is re-spawned; only supported fields are queried", async () => {
  const smi = {
    dieSpawns: 1,
    dieAfterLoops: 2,
    // An older driver: no power.draw.instant/average, no memory temperature, clocks.sm alias only.
    supported: ["index", "uuid", "name", "power.draw", "temperature.gpu", "memory.used", "pstate"],
  };
  await withSampleFixtures({ zones: false, smi }, async (fx) => {
    const r = await runWattwave(fx.argv("--period", "100ms", "--duration", "2500ms"));
    assertEquals(r.code, 0, r.stderr);
    const loops = fx.smi!.calls().filter((c) => c.includes("-lms"));
    assertEquals(loops.length, 2, JSON.stringify(fx.smi!.calls()));
    assertEquals(
      loops[0][0],
      "--query-gpu=index,uuid,power.draw,temperature.gpu,memory.used,pstate,name",
    );
    assert(
      r.stderr.includes("exited with code 1 (fake nvidia-smi: GPU fell off the bus)"),
      r.stderr,
    );
    assert(r.stderr.includes("restarting"), r.stderr);
    const recs = parseNdjson(r.stdout) as Rec[];
    const ts = samplesOf(recs, "nvidia_smi_power_draw_watts", { index: "0" }).map((x) =>
      x.timestamp!
    );
    // Rows before the death and after the restart (1 s later).
    assert(ts.length >= 4, `${ts.length} rows`);
    assert(ts.at(-1)! - ts[0] > 1000, JSON.stringify(ts));
    assertEquals(
      recs.filter((x) => x.metadata?.name === "nvidia_smi_power_draw_instant_watts").length,
      0,
    );
    // Energy keeps growing across the restart (the gap itself adds nothing).
    const e = samplesOf(recs, "nvidia_smi_energy_joules_total", { index: "0" }).map((x) =>
      x.value!
    );
    for (let i = 1; i < e.length; i++) assert(e[i] >= e[i - 1]);
  });
});

Deno.test("sample --naming pyjoules: per-interval µJ deltas per component", async () => {
  await withSampleFixtures({ smi: { powerW: [100, 50] } }, async (fx) => {
    const tree = fx.tree!;
    const child = spawnWattwave(
      fx.argv(
        "--naming",
        "pyjoules",
        "--period",
        "1000ms",
        "--gpu-period",
        "100ms",
        "--count",
        "5",
      ),
    );
    const stderr = collect(child.stderr);
    const out = lineReader(child.stdout);
    try {
      assert((await out.next())!.includes("pyjoules_remote_write_energy_uj"));
      // Tick 0 is the baseline (it writes nothing); once tick 1's deltas are out, the energy
      // added is in exactly one later tick's delta (a second apart: a slow reader only moves it).
      await out.until('"component":"package_0"');
      tree.setEnergy("intel-rapl:0", 1_000_000 + 12_345);
      tree.setEnergy("intel-rapl:1:2", 210_000 + 777);
      await out.rest();
      assertEquals((await child.status).code, 0, await stderr);
      const recs = parseNdjson(out.all.join("\n")) as Rec[];
      assertEquals(recs[0].metadata!.unit, "microjoules");
      const components = new Set(recs.filter((x) => x.name).map((x) => x.labels!.component));
      const want = ["package_0", "core_0", "uncore_0", "dram_0", "package_1", "core_1", "dram_1"];
      for (const c of [...want, "psys_0", "nvidia_gpu_0", "nvidia_gpu_1"]) {
        assert(components.has(c), `${c} missing: ${[...components]}`);
      }
      assert(recs.every((x) => !x.name || x.name === "pyjoules_remote_write_energy_uj"));
      const deltas = (component: string) =>
        samplesOf(recs, "pyjoules_remote_write_energy_uj", { component }).map((x) => x.value);
      // No baseline sample at tick 0: four deltas, none at tick 1, the added energy in one.
      for (const [component, added] of [["package_0", 12_345], ["dram_1", 777]] as const) {
        const d = deltas(component);
        assertEquals(d.length, 4, component);
        assertEquals(d[0], 0, `${component}: ${d}`);
        assertEquals(d.filter((x) => x !== 0), [added], `${component}: ${d}`);
      }
      const gpu0 = samplesOf(recs, "pyjoules_remote_write_energy_uj", {
        component: "nvidia_gpu_0",
      });
      const gpu1 = samplesOf(recs, "pyjoules_remote_write_energy_uj", {
        component: "nvidia_gpu_1",
      });
      // Each GPU's first row can land on either side of a tick (one nvidia-smi line per GPU), so
      // one GPU's first delta may come a tick before the other's, and a first delta covers only
      // part of a tick. Compare the ticks after both GPUs' first delta: whole intervals for both.
      const gpu1At = new Map(gpu1.map((x) => [x.timestamp, x.value!]));
      const bothFrom = Math.max(gpu0[0]?.timestamp ?? Infinity, gpu1[0]?.timestamp ?? Infinity);
      const pairs = gpu0.filter((x) => x.timestamp! > bothFrom && gpu1At.has(x.timestamp))
        .map((x) => [x.value!, gpu1At.get(x.timestamp)!] as const);
      assert(pairs.length >= 1, JSON.stringify([gpu0, gpu1]));
      assert([...gpu0, ...gpu1].every((x) => Number.isInteger(x.value)));
      for (const [a, b] of pairs) {
        // Rows of the same loop, nearly the same intervals: 100 W vs 50 W is twice the energy.
        assert(Math.abs(a - 2 * b) <= 0.03 * a, `${a} vs ${b}`);
        // 100 W for about one 1 s tick ≈ 100 J = 1e8 µJ (row timing jitter allowed).
        assert(a > 0.5e8 && a < 1.5e8, `${a}`);
      }
    } finally {
      try {
        child.kill();
      } catch { /* ended */ }
    }
  });
});

Deno.test("sample | head -3 exits cleanly; Ctrl-C stops cleanly and stops nvidia-smi", async () => {
  await withSampleFixtures({}, async (fx) => {
    const argv = wattwaveArgv(fx.argv("--period", "20ms")).map((a) => `'${a}'`).join(" ");
    const out = await new Deno.Command("bash", {
      args: ["-c", `${argv} | head -3; exit \${PIPESTATUS[0]}`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, err);
    assertEquals(new TextDecoder().decode(out.stdout).trimEnd().split("\n").length, 3);
    assert(!/error| {4}at /i.test(err), err);

    const child = spawnWattwave(fx.argv("--period", "50ms"));
    const stderr = collect(child.stderr);
    const lines = lineReader(child.stdout);
    await lines.until('nvidia_smi_power_draw_watts","labels');
    child.kill("SIGINT");
    await lines.rest();
    const status = await child.status;
    const e = await stderr;
    assertEquals(status.code, 0, e);
    assert(e.includes("ticks"), e);
    assert(!/error| {4}at /i.test(e), e);
    // Every line is complete JSON.
    parseNdjson(lines.all.join("\n"));
    // The nvidia-smi child is gone.
    const running = async () => {
      const ps = await new Deno.Command("pgrep", { args: ["-f", fx.smi!.path], stdout: "piped" })
        .output();
      return new TextDecoder().decode(ps.stdout).trim() !== "";
    };
    await waitUntil(async () => !(await running()), "nvidia-smi to exit", 10_000);
  });
});

Deno.test("sample: SAMPLING_PERIOD_S sets the period", async () => {
  await withSampleFixtures({ smi: false }, async (fx) => {
    const r = await runWattwave(fx.argv("--count", "3"), { env: { SAMPLING_PERIOD_S: "0.05" } });
    assertEquals(r.code, 0, r.stderr);
    const ts = samplesOf(parseNdjson(r.stdout) as Rec[], "node_rapl_package_joules_total", {
      index: "0",
    }).map((x) => x.timestamp!);
    assertEquals(ts.length, 3);
    // 50 ms periods, not the default 1 s: 3 ticks span 100 ms, not 2 s (a loaded machine reads
    // late or skips a tick; how late is not this test's business).
    assert(ts[0] < ts[1] && ts[1] < ts[2], JSON.stringify(ts));
    assert(ts[2] - ts[0] >= 50 && ts[2] - ts[0] < 1000, JSON.stringify(ts));
  });
});

/** Usage errors: exit 2 with the offending flag or variable named. */
const USAGE_ERRORS: { args: string[]; env?: Record<string, string>; names: string }[] = [
  {
    args: ["--no-gpu", "--count", "1"],
    env: { SAMPLING_PERIOD_S: "fast" },
    names: "SAMPLING_PERIOD_S",
  },
  { args: ["--naming", "kepler"], names: "--naming" },
  { args: ["--label", "path=x"], names: "--label" },
  { args: ["--period", "0ms"], names: "--period" },
  { args: ["--period", "2"], names: "write 2s for seconds" },
  { args: ["--nvidia-smi-timeout", "0"], names: "--nvidia-smi-timeout" },
  { args: ["--no-powercap", "--no-gpu"], names: "--no-powercap" },
];

for (const u of USAGE_ERRORS) {
  Deno.test(`sample: usage error ${u.args.join(" ")}${u.env ? ` with ${JSON.stringify(u.env)}` : ""}`, async () => {
    const r = await runWattwave(["sample", ...u.args], { env: u.env });
    assertEquals(r.code, 2, r.stderr);
    assert(r.stderr.includes(u.names), r.stderr);
    assert(!r.stderr.includes("    at "), r.stderr);
  });
}

Deno.test("sample --help shows the example and the defaults", async () => {
  const help = await runWattwave(["sample", "--help"]);
  assert(help.stdout.includes("Example:") && help.stdout.includes("default: node"), help.stdout);
});
