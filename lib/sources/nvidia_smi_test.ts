import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import {
  chooseNvidiaQuery,
  GpuTable,
  NvidiaSmiProcess,
  parseHelpQueryGpu,
  parseNvidiaRow,
  probeNvidiaSmi,
} from "./nvidia_smi.ts";
import { makeFakeNvidiaSmi } from "../../tests/fixtures/nvidia_smi_fake.ts";

const HELP = `List of valid properties to query for the switch "--query-gpu":

"timestamp"
The timestamp of when the query was made in format "YYYY/MM/DD HH:MM:SS.msec".

"name" or "gpu_name"
The official product name of the GPU.

"power.draw.instant" or "gpu.power.draw.instant"
The last measured instant power draw for the entire board, in watts.

"clocks.current.sm" or "clocks.sm"
Current frequency of SM (Streaming Multiprocessor) clock.

"power.draw"
The last measured power draw for the entire board, in watts.
`;

Deno.test("parseHelpQueryGpu: names and aliases, not the description text", () => {
  const names = parseHelpQueryGpu(HELP);
  assertEquals(
    [...names].sort(),
    [
      "clocks.current.sm",
      "clocks.sm",
      "gpu.power.draw.instant",
      "gpu_name",
      "name",
      "power.draw",
      "power.draw.instant",
      "timestamp",
    ],
  );
});

Deno.test("chooseNvidiaQuery: only supported fields, name last; baseline when unknown", () => {
  const q = chooseNvidiaQuery(parseHelpQueryGpu(HELP));
  assertEquals(q.names, [
    "index",
    "uuid",
    "power.draw",
    "power.draw.instant",
    "clocks.current.sm",
    "name",
  ]);
  const alias = chooseNvidiaQuery(new Set(["clocks.sm", "power.draw"]));
  assertEquals(alias.names, ["index", "uuid", "power.draw", "clocks.sm", "name"]);
  const base = chooseNvidiaQuery(undefined);
  assert(base.names.includes("power.draw") && !base.names.includes("power.draw.instant"));
});

Deno.test("parseNvidiaRow: values in base units, non-values NaN, a name with commas", () => {
  const q = chooseNvidiaQuery(new Set(["power.draw", "memory.used", "fan.speed", "pstate"]));
  const row = parseNvidiaRow(
    q,
    "0, GPU-ab, 69.85, 81559, P8, [N/A], Tesla, Model X, rev 2",
  )!;
  assertEquals(row.index, "0");
  assertEquals(row.uuid, "GPU-ab");
  assertEquals(row.name, "Tesla, Model X, rev 2");
  assertEquals(row.values[0], 69.85);
  assertEquals(row.values[1], 81559 * 1048576);
  assertEquals(row.values[2], 8); // pstate
  assert(Number.isNaN(row.values[3])); // fan.speed [N/A]
  assertEquals(parseNvidiaRow(q, "0, GPU-ab, 1"), undefined);
  assertEquals(parseNvidiaRow(q, "No devices were found"), undefined);
});

Deno.test("GpuTable: trapezoidal energy from power.draw, gaps not integrated, fresh rows", () => {
  const q = chooseNvidiaQuery(new Set(["power.draw"]));
  const t = new GpuTable(q, { maxGapMs: 1000 });
  const row = (p: string) => parseNvidiaRow(q, `0, GPU-a, ${p}, H100`)!;
  t.update(row("100"), 0);
  t.update(row("200"), 500); // (100 + 200) / 2 × 0.5 s = 75 J
  t.update(row("[N/A]"), 600); // no power: nothing
  t.update(row("200"), 1000); // 200 × 0.5 s = 100 J
  t.update(row("300"), 5000); // gap of 4 s > 1 s: nothing
  t.update(row("300"), 5100); // 300 × 0.1 = 30 J
  const g = [...t.takeFresh()];
  assertEquals(g.length, 1);
  assert(Math.abs(g[0].energyJ - 205) < 1e-9, `${g[0].energyJ}`);
  assertEquals(g[0].labels, { index: "0", name: "H100", uuid: "a" });
  assertEquals([...t.takeFresh()].length, 0);
});

Deno.test("probe and process against the fake nvidia-smi; re-spawn after death", async () => {
  const smi = await makeFakeNvidiaSmi({ dieSpawns: 1, dieAfterLoops: 2 });
  try {
    const probe = await probeNvidiaSmi(smi.path);
    assert(probe.ok);
    assertEquals(probe.gpuCount, 2);
    const rows: string[] = [];
    const logs: string[] = [];
    const p = new NvidiaSmiProcess({
      path: smi.path,
      query: probe.query,
      periodMs: 50,
      onRow: (r) => rows.push(r.index),
      log: (m) => logs.push(m),
      restartDelayMs: 100,
    });
    p.start();
    const deadline = Date.now() + 5000;
    while (p.spawns < 2 || rows.length < 8) {
      if (Date.now() > deadline) throw new Error(`spawns ${p.spawns}, rows ${rows.length}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await p.stop();
    assert(logs.some((l) => l.includes("restarting")), logs.join("\n"));
    assertEquals(p.badLines, 0);
    assertEquals((await probeNvidiaSmi("/nonexistent/nvidia-smi")).ok, false);
  } finally {
    await smi.remove();
  }
});
