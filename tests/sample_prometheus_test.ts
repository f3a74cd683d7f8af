/**
 * `wattwave sample | wattwave push` into a real Prometheus: the rate of the energy counters
 * through PromQL equals the power the fixture encodes.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { spawnWattwave } from "./support/cli.ts";
import { collect } from "./support/net.ts";
import { promQuery, startPrometheus } from "./support/prometheus.ts";
import { makePowercapTree } from "./fixtures/powercap_tree.ts";

Deno.test("sample | push → Prometheus: rate(node_rapl_package_joules_total) is the fixture's power", async () => {
  // A small wrap range for package 1, so that the counter wraps during the run.
  const tree = await makePowercapTree([
    { dir: "intel-rapl:0", name: "package-0", energyUj: 0 },
    { dir: "intel-rapl:0:2", name: "dram", energyUj: 0 },
    { dir: "intel-rapl:1", name: "package-1", energyUj: 0, maxEnergyRangeUj: 40_000_000 },
  ]);
  const powerW: Record<string, number> = {
    "intel-rapl:0": 42.5,
    "intel-rapl:0:2": 3.25,
    "intel-rapl:1": 17,
  };
  const initialUj: Record<string, number> = {
    "intel-rapl:0": 5e9,
    "intel-rapl:0:2": 1e6,
    "intel-rapl:1": 39e6,
  };
  const t0 = performance.now();
  // energy_uj = E0 + P × elapsed, in µJ (W × ms × 1000), wrapped at max_energy_range_uj.
  const write = () => {
    const ms = performance.now() - t0;
    for (const [dir, p] of Object.entries(powerW)) {
      let uj = initialUj[dir] + p * ms * 1000;
      if (dir === "intel-rapl:1") uj %= 40_000_000;
      tree.setEnergy(dir, uj);
    }
  };
  write();
  const writer = setInterval(write, 5);
  const prom = await startPrometheus();
  try {
    const sampler = spawnWattwave([
      "sample",
      "--powercap-root",
      tree.root,
      "--no-gpu",
      "--period",
      "100ms",
      "--duration",
      "7s",
      "--label",
      "job=wattwave-test",
    ]);
    const pusher = spawnWattwave(["push", "--url", `${prom.url}/api/v1/write`], { stdin: "piped" });
    const sampleErr = collect(sampler.stderr);
    const pushOut = collect(pusher.stdout);
    const pushErr = collect(pusher.stderr);
    await sampler.stdout.pipeTo(pusher.stdin);
    const [s, p] = await Promise.all([sampler.status, pusher.status]);
    await pushOut;
    assertEquals(s.code, 0, await sampleErr);
    assertEquals(p.code, 0, await pushErr);
    const endS = Date.now() / 1000 - 0.5;

    const rateOf = async (query: string) => {
      const r = await promQuery(prom.url, query, endS);
      assertEquals(r.length, 1, `${query}: ${JSON.stringify(r)}`);
      return Number(r[0].value![1]);
    };
    const pkg0 = await rateOf(
      'rate(node_rapl_package_joules_total{index="0",job="wattwave-test"}[4s])',
    );
    const pkg1 = await rateOf('rate(node_rapl_package_joules_total{index="1"}[4s])');
    const dram = await rateOf("rate(node_rapl_dram_joules_total[4s])");
    // Reading lags writing by at most one writer interval (5 ms): far below 1 % over 4 s.
    assert(Math.abs(pkg0 - 42.5) / 42.5 < 0.01, `package 0: ${pkg0} W, expected 42.5 W`);
    assert(Math.abs(pkg1 - 17) / 17 < 0.01, `package 1 (wrapping): ${pkg1} W, expected 17 W`);
    assert(Math.abs(dram - 3.25) / 3.25 < 0.01, `dram: ${dram} W, expected 3.25 W`);
    // The wrap was corrected: the stored counter never decreased, so there was no counter reset.
    const resets = await rateOf('resets(node_rapl_package_joules_total{index="1"}[10s])');
    assertEquals(resets, 0);
  } finally {
    clearInterval(writer);
    await prom.stop();
    await tree.remove();
  }
});
