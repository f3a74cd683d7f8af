import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { LatenessHistogram, pyjoulesComponent, runSampler, samplePrefix } from "./sampler.ts";
import { discoverPowercapZones, PowercapReader } from "./powercap.ts";
import { formatJsonValue, formatSample, parseLine } from "../ndjson/contract.ts";
import { NdjsonWriter } from "../ndjson/writer.ts";
import type { ScheduleClock } from "./schedule.ts";
import type { NdjsonRecord } from "../model/sample.ts";
import { makePowercapTree } from "../../tests/fixtures/powercap_tree.ts";

function collectingSink(): { sink: WritableStream<Uint8Array>; text: () => string } {
  const dec = new TextDecoder();
  let text = "";
  return {
    sink: new WritableStream({ write: (chunk) => void (text += dec.decode(chunk)) }),
    text: () => text,
  };
}

function fakeClock(): ScheduleClock & { t: number } {
  const c = {
    t: 0,
    now: () => c.t,
    sleepUntil(due: number) {
      c.t = Math.max(c.t, due);
      return Promise.resolve();
    },
  };
  return c;
}

Deno.test("samplePrefix + timestamp + value is exactly formatSample's line", () => {
  const labels = { index: "0", path: '/sys/class/powercap/intel-rapl:0 "x"', host: "ü" };
  for (const v of [0, 1.5, 123456.789, 1e-7, -0]) {
    const line = samplePrefix("node_rapl_package_joules_total", labels) + 1732350000123 +
      ',"value":' + formatJsonValue(v) + "}";
    assertEquals(
      line,
      formatSample({
        kind: "sample",
        name: "node_rapl_package_joules_total",
        labels,
        timestampMs: 1732350000123,
        value: v,
      }),
    );
  }
});

Deno.test("runSampler: valid NDJSON, metadata first, counters, watts, pyjoules components", async () => {
  const tree = await makePowercapTree();
  const zones = discoverPowercapZones(tree.root).zones;
  assertEquals(zones.map(pyjoulesComponent), [
    "package_0",
    "core_0",
    "uncore_0",
    "dram_0",
    "package_1",
    "core_1",
    "uncore_1",
    "dram_1",
    "psys_0",
  ]);
  try {
    for (const naming of ["node", "pyjoules"] as const) {
      let readMs = 1_000_000;
      const reader = new PowercapReader(zones, () => {}, { nowMs: () => readMs });
      const out = collectingSink();
      const clock = fakeClock();
      let tick = 0;
      const origSleep = clock.sleepUntil;
      clock.sleepUntil = (due: number) => {
        // Between ticks the package-0 counter advances by 2 J: 20 W over 100 ms.
        tick++;
        tree.setEnergy("intel-rapl:0", 1_000_000 + tick * 2_000_000);
        readMs += 100;
        return origSleep(due);
      };
      const stats = await runSampler({
        periodMs: 100,
        count: 3,
        naming,
        power: true,
        powercap: reader,
        writer: new NdjsonWriter(out.sink),
        clock,
        labels: { host: "a" },
      });
      reader.close();
      assertEquals(stats.ticks, 3);
      assertEquals(stats.skipped, 0);
      const recs: NdjsonRecord[] = out.text().trimEnd().split("\n").map(parseLine);
      const firstSample = recs.findIndex((r) => r.kind === "sample");
      assert(recs.slice(firstSample).every((r) => r.kind === "sample"));
      const samples = recs.filter((r) => r.kind === "sample");
      const pkg0 = (name: string) =>
        samples.filter((s) =>
          s.name === name && (s.labels.index === "0" || s.labels.component === "package_0")
        ).map((s) => s.value);
      if (naming === "node") {
        assertEquals(pkg0("node_rapl_package_joules_total"), [1, 3, 5]);
        assertEquals(pkg0("node_rapl_package_watts"), [20, 20]);
        assertEquals(samples[0].labels, {
          index: "0",
          path: `${tree.root}/intel-rapl:0`,
          host: "a",
        });
        assertEquals(samples[0].timestampMs, 1_000_000);
      } else {
        assertEquals(
          recs[0].kind === "metadata" && recs[0].name,
          "pyjoules_remote_write_energy_uj",
        );
        assertEquals(pkg0("pyjoules_remote_write_energy_uj"), [2_000_000, 2_000_000]);
        assertEquals(samples.length, 2 * 9);
      }
      tree.setEnergy("intel-rapl:0", 1_000_000);
    }
  } finally {
    await tree.remove();
  }
});

Deno.test("lateness histogram: a percentile is never above the max (bins' upper edges)", () => {
  const h = new LatenessHistogram();
  for (let i = 0; i < 100; i++) h.add(0.381);
  assertEquals(h.max, 0.381);
  assert(h.quantile(0.99) <= h.max && h.quantile(0.5) <= h.max, `${h.quantile(0.99)}`);
  assertEquals(h.quantile(0.99), 0.381);
});
