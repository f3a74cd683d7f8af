/**
 * `wattwave sample --web.listen-address` as a scrape target: a real Prometheus scrapes it every
 * second; `rate(node_rapl_package_joules_total[30s])` is the fixture's power within 2%, and the
 * GPU gauges are the fake nvidia-smi's capture.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { spawnWattwave } from "../support/cli.ts";
import { promQuery, startPrometheus } from "../support/prometheus.ts";
import { makePowercapTree } from "../fixtures/powercap_tree.ts";
import { makeFakeNvidiaSmi } from "../fixtures/nvidia_smi_fake.ts";
import { peerTest } from "../support/peers.ts";
import { collect, freePort } from "../support/net.ts";
import { waitUntil } from "../support/lines.ts";

peerTest(
  ["prometheus"],
  "sample --web.listen-address: Prometheus scrapes it; rate() of the counters is the fixture's power",
  async () => {
    const tree = await makePowercapTree([
      { dir: "intel-rapl:0", name: "package-0", energyUj: 0 },
      { dir: "intel-rapl:0:2", name: "dram", energyUj: 0 },
      { dir: "intel-rapl:1", name: "package-1", energyUj: 0, maxEnergyRangeUj: 40_000_000 },
    ]);
    const smi = await makeFakeNvidiaSmi({ powerW: [212.5, 48.25] });
    const powerW: Record<string, number> = {
      "intel-rapl:0": 42.5,
      "intel-rapl:0:2": 3.25,
      "intel-rapl:1": 17,
    };
    const t0 = performance.now();
    const write = () => {
      const ms = performance.now() - t0;
      for (const [dir, p] of Object.entries(powerW)) {
        let uj = 5e9 + p * ms * 1000;
        if (dir === "intel-rapl:1") uj %= 40_000_000; // wraps every ~2.4 s
        tree.setEnergy(dir, uj);
      }
    };
    write();
    const writer = setInterval(write, 5);
    const port = freePort();
    const sample = spawnWattwave([
      "sample",
      "--powercap-root",
      tree.root,
      "--nvidia-smi",
      smi.path,
      "--period",
      "100ms",
      "--web.listen-address",
      `127.0.0.1:${port}`,
      "--no-stdout",
    ]);
    const stderr = collect(sample.stderr);
    const stdout = collect(sample.stdout);
    const prom = await startPrometheus({
      config: `scrape_configs:\n  - job_name: sample\n    scrape_interval: 1s\n` +
        `    static_configs:\n      - targets: ["127.0.0.1:${port}"]\n`,
    });
    try {
      const count = async () =>
        Number(
          (await promQuery(
            prom.url,
            'count_over_time(node_rapl_package_joules_total{index="0"}[30s])',
          ))[0]?.value?.[1] ?? 0,
        );
      await waitUntil(async () => (await count()) >= 30, "30 s of scrapes", 120_000);
      const last = await promQuery(prom.url, "max(timestamp(node_rapl_package_joules_total))");
      const atS = Number(last[0].value![1]);
      const one = async (query: string) => {
        const r = await promQuery(prom.url, query, atS);
        assertEquals(r.length, 1, `${query}: ${JSON.stringify(r)}`);
        return Number(r[0].value![1]);
      };
      const pkg0 = await one('rate(node_rapl_package_joules_total{index="0"}[30s])');
      const pkg1 = await one('rate(node_rapl_package_joules_total{index="1"}[30s])');
      const dram = await one("rate(node_rapl_dram_joules_total[30s])");
      assert(Math.abs(pkg0 - 42.5) / 42.5 < 0.02, `package 0: ${pkg0} W, expected 42.5 W`);
      assert(Math.abs(pkg1 - 17) / 17 < 0.02, `package 1 (wrapping): ${pkg1} W, expected 17 W`);
      assert(Math.abs(dram - 3.25) / 3.25 < 0.02, `dram: ${dram} W, expected 3.25 W`);
      assertEquals(await one('resets(node_rapl_package_joules_total{index="1"}[30s])'), 0);
      // GPU gauges: the capture's values, under nvidia_gpu_exporter's names and labels.
      assertEquals(await one('nvidia_smi_power_draw_watts{index="0"}'), 212.5);
      assertEquals(await one('nvidia_smi_power_draw_watts{index="1"}'), 48.25);
      assertEquals(await one('nvidia_smi_temperature_gpu{name="NVIDIA H100 80GB HBM3"}'), 59);
      assertEquals(await one('up{job="sample"}'), 1);
      assert((await one("wattwave_sample_ticks_total")) > 0);
    } finally {
      clearInterval(writer);
      try {
        sample.kill("SIGTERM");
      } catch { /* gone */ }
      const status = await sample.status;
      await prom.stop();
      await tree.remove();
      await smi.remove();
      const err = await stderr;
      assertEquals(status.code, 0, err);
      assertEquals(await stdout, ""); // --no-stdout
      assert(/\d+ ticks, 0 skipped|\d+ ticks, \d+ skipped/.test(err), err);
    }
  },
);
