import {
  deepStrictEqual as assertEquals,
  ok as assert,
  strictEqual as assertStrictEquals,
} from "node:assert";
import {
  findNvidiaField,
  gpuLabels,
  NVIDIA_FIELDS,
  nvidiaLabelName,
  nvidiaMetadata,
  nvidiaValue,
  parseNvidiaValue,
} from "./nvidia_fields.ts";
import { METRIC_NAME_RE } from "../model/sample.ts";

Deno.test("parseNvidiaValue: numbers with and without units", () => {
  assertStrictEquals(parseNvidiaValue("69.85 W"), 69.85);
  assertStrictEquals(parseNvidiaValue("81559 MiB"), 81559);
  assertStrictEquals(parseNvidiaValue("0 %"), 0);
  assertStrictEquals(parseNvidiaValue("100 %"), 100);
  assertStrictEquals(parseNvidiaValue("1980 MHz"), 1980);
  assertStrictEquals(parseNvidiaValue(" 59"), 59);
  assertStrictEquals(parseNvidiaValue("28.16"), 28.16);
  assertStrictEquals(parseNvidiaValue("0 us"), 0);
  assertStrictEquals(parseNvidiaValue("P0"), 0);
  assertStrictEquals(parseNvidiaValue("P12"), 12);
});

Deno.test("parseNvidiaValue: non-values are undefined, never 0", () => {
  for (
    const t of [
      "[N/A]",
      "N/A",
      "[Not Supported]",
      "[Requested functionality has been deprecated]",
      "[Unknown Error]",
      "[Insufficient Permissions]",
      "[GPU requires reset]",
      "",
      "  ",
      "Enabled",
      "Unknown",
      "NaN",
      "Infinity",
    ]
  ) {
    assertStrictEquals(parseNvidiaValue(t), undefined, t);
  }
});

Deno.test("nvidiaValue converts to base units", () => {
  const f = (name: string) => findNvidiaField(name)!;
  assertStrictEquals(nvidiaValue(f("power.draw [W]"), "631.95 W"), 631.95);
  assertStrictEquals(nvidiaValue(f("memory.used [MiB]"), "19818 MiB"), 19818 * 1048576);
  assertStrictEquals(nvidiaValue(f("clocks.sm"), "1980"), 1.98e9);
  assertStrictEquals(nvidiaValue(f("clocks.current.memory [MHz]"), "2619 MHz"), 2.619e9);
  assertStrictEquals(nvidiaValue(f("utilization.memory [%]"), "11 %"), 0.11);
  assertStrictEquals(nvidiaValue(f("fan.speed [%]"), "38 %"), 0.38);
  assertStrictEquals(nvidiaValue(f("temperature.gpu"), "59"), 59);
  assertStrictEquals(nvidiaValue(f("pstate"), "P2"), 2);
  assertStrictEquals(nvidiaValue(f("pstate"), "[N/A]"), undefined);
  assertStrictEquals(nvidiaValue(f("power.draw"), "P2"), undefined);
  assertStrictEquals(nvidiaValue(f("temperature.memory"), "N/A"), undefined);
});

Deno.test("findNvidiaField: headers, aliases, unknowns", () => {
  assertEquals(findNvidiaField("clocks.sm")?.metric, "nvidia_smi_clocks_current_sm_clock_hz");
  assertEquals(
    findNvidiaField(" power.draw.instant [W]")?.metric,
    "nvidia_smi_power_draw_instant_watts",
  );
  assertEquals(findNvidiaField("gpu.power.draw.average")?.query, "power.draw.average");
  assertStrictEquals(findNvidiaField("uuid"), undefined);
  assertStrictEquals(findNvidiaField("timestamp"), undefined);
  assertEquals(nvidiaLabelName("gpu_uuid"), "uuid");
  assertEquals(nvidiaLabelName(" name"), "name");
  assertStrictEquals(nvidiaLabelName("power.draw"), undefined);
});

Deno.test("table: valid unique metric names, metadata, labels", () => {
  const seen = new Set<string>();
  for (const f of NVIDIA_FIELDS) {
    assert(METRIC_NAME_RE.test(f.metric), f.metric);
    assert(!seen.has(f.metric), f.metric);
    seen.add(f.metric);
    const m = nvidiaMetadata(f);
    assertEquals(m.kind, "metadata");
    assert(m.help.length > 0);
  }
  assertEquals(
    gpuLabels({ index: "0", uuid: "GPU-ef1b2c9b-38d8", name: "Tesla P100-PCIE-16GB" }),
    { index: "0", name: "Tesla P100-PCIE-16GB", uuid: "ef1b2c9b-38d8" },
  );
});
