import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import {
  discoverPowercapZones,
  energyAccessHint,
  energyDeltaUj,
  parseUjBytes,
  PowercapReader,
} from "./powercap.ts";
import { makePowercapTree, twoSocketZones } from "../../tests/fixtures/powercap_tree.ts";

Deno.test("energyDeltaUj: normal, equal, wrap, unknown range", () => {
  assertEquals(energyDeltaUj(100, 250, 1000), 150);
  assertEquals(energyDeltaUj(250, 250, 1000), 0); // equal is zero energy, not a wrap
  assertEquals(energyDeltaUj(900, 50, 1000), 150); // wrapped: 50 + 1000 - 900
  assertEquals(energyDeltaUj(900, 50, undefined), 50); // no range: restart from 0
});

Deno.test("parseUjBytes", () => {
  const enc = new TextEncoder();
  const p = (s: string) => {
    const b = enc.encode(s);
    return parseUjBytes(b, b.length);
  };
  assertEquals(p("262143328850\n"), 262143328850);
  assertEquals(p("0\n"), 0);
  assertEquals(p(""), -1);
  assertEquals(p("\n"), -1);
  assertEquals(p("12a\n"), -1);
});

Deno.test("discovery: two sockets, subzones by name, psys, mmio duplicate skipped", async () => {
  const tree = await makePowercapTree();
  try {
    const d = discoverPowercapZones(tree.root);
    assertEquals(d.unreadable, []);
    assertEquals(d.warnings, []);
    assertEquals(
      d.zones.map((z) => `${z.dir} ${z.kind} ${z.index} ${z.socket}`),
      [
        "intel-rapl:0 package 0 0",
        "intel-rapl:0:0 core 0 0",
        "intel-rapl:0:1 uncore 0 0",
        "intel-rapl:0:2 dram 0 0",
        "intel-rapl:1 package 1 1",
        "intel-rapl:1:0 core 1 1",
        "intel-rapl:1:1 uncore 1 1",
        "intel-rapl:1:2 dram 1 1",
        "intel-rapl:2 psys 0 0",
      ],
    );
    assertEquals(d.zones[0].path, `${tree.root}/intel-rapl:0`);
    assertEquals(d.zones[0].maxEnergyRangeUj, 262143328850);
  } finally {
    await tree.remove();
  }
});

Deno.test("discovery: nested subzones, mmio-only package kept", async () => {
  const tree = await makePowercapTree([
    { dir: "intel-rapl:0", name: "package-0" },
    { dir: "intel-rapl:0/intel-rapl:0:0", name: "dram" },
    { dir: "intel-rapl-mmio:0", name: "package-1" },
  ]);
  try {
    const d = discoverPowercapZones(tree.root);
    assertEquals(d.zones.map((z) => `${z.dir} ${z.kind} ${z.index}`), [
      "intel-rapl-mmio:0 package 1",
      "intel-rapl:0 package 0",
      "intel-rapl:0:0 dram 0",
    ]);
    assertEquals(d.zones[2].path, `${tree.root}/intel-rapl:0/intel-rapl:0:0`);
  } finally {
    await tree.remove();
  }
});

Deno.test("discovery: unreadable energy_uj and missing max_energy_range_uj", async () => {
  const zones = twoSocketZones().slice(0, 4);
  zones[2].unreadable = true;
  zones[3].maxEnergyRangeUj = null;
  const tree = await makePowercapTree(zones);
  try {
    const d = discoverPowercapZones(tree.root);
    assertEquals(d.zones.map((z) => z.dir), ["intel-rapl:0", "intel-rapl:0:0", "intel-rapl:0:2"]);
    assertEquals(d.unreadable.length, 1);
    assertEquals(d.unreadable[0].zone.energyFile, tree.energyFile("intel-rapl:0:1"));
    assertEquals(d.zones[2].maxEnergyRangeUj, undefined);
    assertEquals(d.warnings.length, 1);
    assert(d.warnings[0].includes("intel-rapl:0:2/max_energy_range_uj"), d.warnings[0]);
    assert(energyAccessHint([tree.energyFile("intel-rapl:0:1")]).includes("chmod"));
  } finally {
    await tree.remove();
  }
});

Deno.test("discovery: missing root", () => {
  const d = discoverPowercapZones("/nonexistent/powercap");
  assertEquals(d.rootExists, false);
  assertEquals(d.zones, []);
});

Deno.test("PowercapReader: cumulative energy with wrap, equal readings, bad reads", async () => {
  const tree = await makePowercapTree([
    { dir: "intel-rapl:0", name: "package-0", energyUj: 900_000, maxEnergyRangeUj: 1_000_000 },
    { dir: "intel-rapl:0:0", name: "dram", energyUj: 10, maxEnergyRangeUj: null },
  ]);
  let now = 1000;
  const errors: string[] = [];
  const r = new PowercapReader(
    discoverPowercapZones(tree.root).zones,
    (_z, m) => errors.push(m),
    { nowMs: () => now },
  );
  try {
    assertEquals(r.read(), 2);
    assertEquals([...r.cumulativeUj], [900_000, 10]);
    assertEquals([...r.intervalMs], [0, 0]);

    now += 100;
    tree.setEnergy("intel-rapl:0", 950_000);
    tree.setEnergy("intel-rapl:0:0", 10); // equal: zero energy
    r.read();
    assertEquals([...r.deltaUj], [50_000, 0]);
    assertEquals([...r.intervalMs], [100, 100]);

    now += 100;
    tree.setEnergy("intel-rapl:0", 20_000); // wrapped: 20000 + 1000000 - 950000 = 70000
    tree.setEnergy("intel-rapl:0:0", 4); // smaller without a range: restart from 0 → 4
    r.read();
    assertEquals([...r.deltaUj], [70_000, 4]);
    assertEquals([...r.cumulativeUj], [1_020_000, 14]);
    assertEquals([...r.wraps], [1, 1]);

    now += 100;
    Deno.writeTextFileSync(tree.energyFile("intel-rapl:0"), ""); // caught mid-rewrite
    assertEquals(r.read(), 1);
    assertEquals(r.ok[0], 0);
    assertEquals(errors.length, 1);

    now += 100;
    tree.setEnergy("intel-rapl:0", 30_000);
    r.read();
    assertEquals(r.ok[0], 1);
    assertEquals(r.deltaUj[0], 10_000);
    assertEquals(r.intervalMs[0], 200); // since the last good read
  } finally {
    r.close();
    await tree.remove();
  }
});
