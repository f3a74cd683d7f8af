/**
 * `wattwave sample` end to end: fixture powercap trees and a fake nvidia-smi, real processes.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { parseNdjson, runWattwave, spawnWattwave, wattwaveArgv } from "./support/cli.ts";
import { collect } from "./support/net.ts";
import { makePowercapTree, twoSocketZones } from "./fixtures/powercap_tree.ts";
import { makeFakeNvidiaSmi } from "./fixtures/nvidia_smi_fake.ts";

type Rec = Record<string, unknown> & {
  name?: string;
  labels?: Record<string, string>;
  timestamp?: number;
  value?: number;
  metadata?: { name: string; type: string; unit: string; help: string };
};

function samplesOf(recs: Rec[], name: string, labels: Record<string, string> = {}): Rec[] {
  return recs.filter((r) =>
    r.name === name && Object.entries(labels).every(([k, v]) => r.labels?.[k] === v)
  );
}

/** Reads a child's stdout line by line; `next()` waits for the next line (undefined at EOF). */
function lineReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const lines: string[] = [];
  return {
    all: lines,
    async next(timeoutMs = 10_000): Promise<string | undefined> {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const nl = buf.indexOf("\n");
        if (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          lines.push(line);
          return line;
        }
        if (Date.now() > deadline) throw new Error("no line in time");
        const r = await reader.read();
        if (r.done) return undefined;
        buf += r.value;
      }
    },
    async rest(): Promise<void> {
      while ((await this.next(30_000)) !== undefined) { /* drain */ }
    },
  };
}

Deno.test("sample: metadata first, node names and labels, GPU values, non-values absent", async () => {
  const tree = await makePowercapTree();
  const smi = await makeFakeNvidiaSmi();
  try {
    const r = await runWattwave([
      "sample",
      "--powercap-root",
      tree.root,
      "--nvidia-smi",
      smi.path,
      "--period",
      "100ms",
      "--count",
      "5",
      "--power",
      "--label",
      "host=a",
    ]);
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
    // 100 ms apart (or a multiple, should a loaded machine make a tick skip).
    for (let i = 1; i < pkg0.length; i++) {
      const d = pkg0[i].timestamp! - pkg0[i - 1].timestamp!;
      assert(d >= 95 && Math.abs(d - 100 * Math.round(d / 100)) <= 5, `ticks ${d} ms apart`);
    }
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
    assertEquals(samplesOf(recs, "nvidia_smi_memory_used_bytes", g0)[0].value, 19818 * 1048576);
    assertEquals(samplesOf(recs, "nvidia_smi_clocks_current_sm_clock_hz", g1)[0].value, 2055e6);
    assertEquals(samplesOf(recs, "nvidia_smi_utilization_memory_ratio", g0)[0].value, 0.11);
    assertEquals(samplesOf(recs, "nvidia_smi_pstate", g1)[0].value, 2);
    assertEquals(samplesOf(recs, "nvidia_smi_temperature_gpu", g0)[0].value, 59);
    assertEquals(samplesOf(recs, "nvidia_smi_fan_speed_ratio", g1)[0].value, 0.38);
    assertEquals(samplesOf(recs, "nvidia_smi_fan_speed_ratio", g0), []); // [N/A]
    assertEquals(samplesOf(recs, "nvidia_smi_temperature_memory", g1), []); // N/A
    assertEquals(samplesOf(recs, "nvidia_smi_power_draw_average_watts", g1), []); // [N/A]
    assert(samplesOf(recs, "nvidia_smi_energy_joules_total", g0).length >= 1);
    // One long-running nvidia-smi in loop mode.
    const loops = smi.calls().filter((c) => c.includes("-lms"));
    assertEquals(loops.length, 1);
    assertEquals(loops[0].slice(-2), ["-lms", "100"]);
    assert(r.stderr.includes("5 ticks"), r.stderr);
  } finally {
    await tree.remove();
    await smi.remove();
  }
});

Deno.test("sample: wraparound between ticks, equal readings, missing max_energy_range_uj", async () => {
  const tree = await makePowercapTree([
    { dir: "intel-rapl:0", name: "package-0", energyUj: 900_000, maxEnergyRangeUj: 1_000_000 },
    { dir: "intel-rapl:0:0", name: "core", energyUj: 400_000, maxEnergyRangeUj: null },
    { dir: "intel-rapl:0:2", name: "dram", energyUj: 10, maxEnergyRangeUj: 1_000_000 },
  ]);
  const child = spawnWattwave([
    "sample",
    "--powercap-root",
    tree.root,
    "--no-gpu",
    "--period",
    "400ms",
    "--count",
    "3",
    "--power",
  ]);
  const stderr = collect(child.stderr);
  const out = lineReader(child.stdout);
  try {
    const waitTick = async (n: number) => {
      // Each tick writes one counter line per zone (plus watts from the second tick).
      for (let i = 0; i < n; i++) {
        let line: string | undefined;
        do line = await out.next(); while (
          line !== undefined && !line.includes('joules_total","labels')
        );
      }
    };
    await waitTick(3); // tick 0
    tree.setEnergy("intel-rapl:0", 50_000); // wrapped: 50000 + 1000000 - 900000 = 150000 µJ
    tree.setEnergy("intel-rapl:0:0", 400_000); // equal: zero energy
    // dram stays equal too
    await waitTick(3); // tick 1
    tree.setEnergy("intel-rapl:0", 60_000);
    tree.setEnergy("intel-rapl:0:0", 1_000); // smaller without max range: restart from 0 → +1000
    await out.rest();
    const { code } = await child.status;
    const err = await stderr;
    assertEquals(code, 0, err);
    const recs = parseNdjson(out.all.join("\n")) as Rec[];
    const pkg = samplesOf(recs, "node_rapl_package_joules_total").map((x) => x.value);
    assertEquals(pkg, [0.9, 1.05, 1.06]);
    const core = samplesOf(recs, "node_rapl_core_joules_total").map((x) => x.value);
    assertEquals(core, [0.4, 0.4, 0.401]);
    assertEquals(samplesOf(recs, "node_rapl_dram_joules_total").map((x) => x.value), [
      1e-5,
      1e-5,
      1e-5,
    ]);
    const watts = samplesOf(recs, "node_rapl_package_watts");
    assertEquals(watts.length, 2);
    // 0.15 J over the time between the two reads (~0.4 s).
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
    await tree.remove();
  }
});

Deno.test("sample: an unreadable energy_uj is named; the other zones are sampled", async () => {
  const zones = twoSocketZones().slice(0, 4);
  zones[3].unreadable = true;
  const tree = await makePowercapTree(zones);
  try {
    const r = await runWattwave([
      "sample",
      "--powercap-root",
      tree.root,
      "--no-gpu",
      "--period",
      "50ms",
      "--count",
      "2",
    ]);
    assertEquals(r.code, 0, r.stderr);
    assert(r.stderr.includes(tree.energyFile("intel-rapl:0:2")), r.stderr);
    const recs = parseNdjson(r.stdout) as Rec[];
    assertEquals(samplesOf(recs, "node_rapl_package_joules_total").length, 2);
    assertEquals(samplesOf(recs, "node_rapl_dram_joules_total").length, 0);
  } finally {
    await tree.remove();
  }
});

/** Runs wattwave with read access to the energy_uj files denied (what non-root users get). */
async function runDenied(tree: { root: string; energyFile(d: string): string }, args: string[]) {
  const files = twoSocketZones().map((z) => tree.energyFile(z.dir)).join(",");
  const argv = wattwaveArgv(["sample", "--powercap-root", tree.root, ...args]);
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

Deno.test("sample: energy_uj not readable → says how to grant access; goes on with the GPU", async () => {
  const tree = await makePowercapTree();
  const smi = await makeFakeNvidiaSmi();
  try {
    const r = await runDenied(tree, [
      "--nvidia-smi",
      smi.path,
      "--period",
      "100ms",
      "--count",
      "3",
    ]);
    assertEquals(r.code, 0, r.stderr);
    assert(r.stderr.includes(tree.energyFile("intel-rapl:0")), r.stderr);
    assert(r.stderr.includes("chmod"), r.stderr);
    assert(r.stderr.includes("going on without powercap"), r.stderr);
    const recs = parseNdjson(r.stdout) as Rec[];
    assertEquals(recs.filter((x) => x.name?.startsWith("node_rapl")).length, 0);
    assert(samplesOf(recs, "nvidia_smi_power_draw_watts").length > 0, r.stdout);

    // Without a GPU there is nothing to sample: exit 1, same explanation.
    const r2 = await runDenied(tree, ["--no-gpu", "--count", "1"]);
    assertEquals(r2.code, 1);
    assert(r2.stderr.includes("nothing to sample"), r2.stderr);
    assert(r2.stderr.includes("chmod"), r2.stderr);
    assert(!r2.stderr.includes("    at "), r2.stderr); // no stack trace
  } finally {
    await tree.remove();
    await smi.remove();
  }
});

Deno.test("sample: no nvidia-smi → one clear line, CPU sampling alone", async () => {
  const tree = await makePowercapTree();
  try {
    const r = await runWattwave([
      "sample",
      "--powercap-root",
      tree.root,
      "--nvidia-smi",
      "/nonexistent/nvidia-smi",
      "--period",
      "50ms",
      "--count",
      "2",
    ]);
    assertEquals(r.code, 0, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l.includes("nvidia-smi"));
    assertEquals(lines.length, 1, r.stderr);
    assert(lines[0].includes("not found") && lines[0].includes("CPU only"), lines[0]);
    assertEquals(
      samplesOf(parseNdjson(r.stdout) as Rec[], "node_rapl_package_joules_total").length,
      4,
    );
  } finally {
    await tree.remove();
  }
});

Deno.test("sample: nvidia-smi without a driver → one line, CPU only", async () => {
  const tree = await makePowercapTree();
  const smi = await makeFakeNvidiaSmi({ noDriver: true });
  try {
    const r = await runWattwave([
      "sample",
      "--powercap-root",
      tree.root,
      "--nvidia-smi",
      smi.path,
      "--count",
      "1",
    ]);
    assertEquals(r.code, 0, r.stderr);
    assert(r.stderr.includes("couldn't communicate with the NVIDIA driver"), r.stderr);
    assert(r.stderr.includes("CPU only"), r.stderr);
  } finally {
    await tree.remove();
    await smi.remove();
  }
});

Deno.test("sample: nvidia-smi dying mid-run is re-spawned; only supported fields are queried", async () => {
  const smi = await makeFakeNvidiaSmi({
    dieSpawns: 1,
    dieAfterLoops: 2,
    // An older driver: no power.draw.instant/average, no memory temperature, clocks.sm alias only.
    supported: ["index", "uuid", "name", "power.draw", "temperature.gpu", "memory.used", "pstate"],
  });
  try {
    const r = await runWattwave([
      "sample",
      "--no-powercap",
      "--nvidia-smi",
      smi.path,
      "--period",
      "100ms",
      "--duration",
      "2500ms",
    ]);
    assertEquals(r.code, 0, r.stderr);
    const loops = smi.calls().filter((c) => c.includes("-lms"));
    assertEquals(loops.length, 2, JSON.stringify(smi.calls()));
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
  } finally {
    await smi.remove();
  }
});

Deno.test("sample --naming pyjoules: per-interval µJ deltas per component", async () => {
  const tree = await makePowercapTree();
  const smi = await makeFakeNvidiaSmi({ powerW: [100, 50] });
  const child = spawnWattwave([
    "sample",
    "--powercap-root",
    tree.root,
    "--nvidia-smi",
    smi.path,
    "--naming",
    "pyjoules",
    "--period",
    "300ms",
    "--gpu-period",
    "100ms",
    "--count",
    "5",
  ]);
  const stderr = collect(child.stderr);
  const out = lineReader(child.stdout);
  try {
    assert((await out.next())!.includes("pyjoules_remote_write_energy_uj"));
    // Tick 0 (the baseline, which writes nothing) follows the metadata at once; tick 1 is 300 ms later.
    await new Promise((r) => setTimeout(r, 150));
    tree.setEnergy("intel-rapl:0", 1_000_000 + 12_345);
    tree.setEnergy("intel-rapl:1:2", 210_000 + 777);
    await out.rest();
    assertEquals((await child.status).code, 0, await stderr);
    const recs = parseNdjson(out.all.join("\n")) as Rec[];
    assertEquals(recs[0].metadata!.unit, "microjoules");
    const components = new Set(recs.filter((x) => x.name).map((x) => x.labels!.component));
    for (
      const c of [
        "package_0",
        "core_0",
        "uncore_0",
        "dram_0",
        "package_1",
        "core_1",
        "dram_1",
        "psys_0",
        "nvidia_gpu_0",
        "nvidia_gpu_1",
      ]
    ) assert(components.has(c), `${c} missing: ${[...components]}`);
    assert(recs.every((x) => !x.name || x.name === "pyjoules_remote_write_energy_uj"));
    const pkg0 = samplesOf(recs, "pyjoules_remote_write_energy_uj", { component: "package_0" });
    assertEquals(pkg0.map((x) => x.value), [12_345, 0, 0, 0]); // no baseline sample at tick 0
    assertEquals(
      samplesOf(recs, "pyjoules_remote_write_energy_uj", { component: "dram_1" }).map((x) =>
        x.value
      ),
      [777, 0, 0, 0],
    );
    const gpu0 = samplesOf(recs, "pyjoules_remote_write_energy_uj", { component: "nvidia_gpu_0" });
    const gpu1 = samplesOf(recs, "pyjoules_remote_write_energy_uj", { component: "nvidia_gpu_1" });
    // Each GPU's first row can land on either side of a tick (one nvidia-smi line per GPU), so
    // one GPU's first delta may come a tick before the other's, and a first delta covers only
    // part of a tick. Compare the ticks after both GPUs' first delta: whole intervals for both.
    const gpu1At = new Map(gpu1.map((x) => [x.timestamp, x.value!]));
    const bothFrom = Math.max(gpu0[0]?.timestamp ?? Infinity, gpu1[0]?.timestamp ?? Infinity);
    const pairs = gpu0.filter((x) => x.timestamp! > bothFrom && gpu1At.has(x.timestamp)).map((
      x,
    ) => [x.value!, gpu1At.get(x.timestamp)!] as const);
    assert(pairs.length >= 1, JSON.stringify([gpu0, gpu1]));
    assert([...gpu0, ...gpu1].every((x) => Number.isInteger(x.value)));
    for (const [a, b] of pairs) {
      // Rows of the same loop, nearly the same intervals: 100 W vs 50 W is twice the energy.
      assert(Math.abs(a - 2 * b) <= 0.03 * a, `${a} vs ${b}`);
      // 100 W for about one 300 ms tick ≈ 30 J = 3e7 µJ (row timing jitter allowed).
      assert(a > 1.5e7 && a < 4.5e7, `${a}`);
    }
  } finally {
    try {
      child.kill();
    } catch { /* ended */ }
    await tree.remove();
    await smi.remove();
  }
});

Deno.test("sample | head -3 exits cleanly; Ctrl-C stops cleanly and stops nvidia-smi", async () => {
  const tree = await makePowercapTree();
  const smi = await makeFakeNvidiaSmi();
  try {
    const argv = wattwaveArgv([
      "sample",
      "--powercap-root",
      tree.root,
      "--nvidia-smi",
      smi.path,
      "--period",
      "20ms",
    ])
      .map((a) => `'${a}'`).join(" ");
    const out = await new Deno.Command("bash", {
      args: ["-c", `${argv} | head -3; exit \${PIPESTATUS[0]}`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, err);
    assertEquals(new TextDecoder().decode(out.stdout).trimEnd().split("\n").length, 3);
    assert(!/error| {4}at /i.test(err), err);

    const child = spawnWattwave([
      "sample",
      "--powercap-root",
      tree.root,
      "--nvidia-smi",
      smi.path,
      "--period",
      "50ms",
    ]);
    const stderr = collect(child.stderr);
    const lines = lineReader(child.stdout);
    let line: string | undefined;
    do line = await lines.next(); while (
      line !== undefined && !line.includes('nvidia_smi_power_draw_watts","labels')
    );
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
    await new Promise((r) => setTimeout(r, 200));
    const ps = await new Deno.Command("pgrep", { args: ["-f", smi.path], stdout: "piped" })
      .output();
    assertEquals(new TextDecoder().decode(ps.stdout).trim(), "");
  } finally {
    await tree.remove();
    await smi.remove();
  }
});

Deno.test("sample: SAMPLING_PERIOD_S, usage errors", async () => {
  const tree = await makePowercapTree();
  try {
    const r = await runWattwave([
      "sample",
      "--powercap-root",
      tree.root,
      "--no-gpu",
      "--count",
      "3",
    ], {
      env: { SAMPLING_PERIOD_S: "0.05" },
    });
    assertEquals(r.code, 0, r.stderr);
    const ts = samplesOf(parseNdjson(r.stdout) as Rec[], "node_rapl_package_joules_total", {
      index: "0",
    })
      .map((x) => x.timestamp!);
    assertEquals(ts.length, 3);
    // 50 ms apart (not the default 1 s), allowing for a loaded machine's late or skipped ticks.
    assert(ts[2] - ts[0] >= 95 && ts[2] - ts[0] <= 200, JSON.stringify(ts));

    const bad = await runWattwave(["sample", "--no-gpu", "--count", "1"], {
      env: { SAMPLING_PERIOD_S: "fast" },
    });
    assertEquals(bad.code, 2);
    assert(bad.stderr.includes("SAMPLING_PERIOD_S"), bad.stderr);
    assertEquals((await runWattwave(["sample", "--naming", "kepler"])).code, 2);
    assertEquals((await runWattwave(["sample", "--label", "path=x"])).code, 2);
    assertEquals((await runWattwave(["sample", "--period", "0ms"])).code, 2);
    const help = await runWattwave(["sample", "--help"]);
    assert(
      help.stdout.includes("Example:") && help.stdout.includes('default: "node"'),
      help.stdout,
    );
  } finally {
    await tree.remove();
  }
});
