/**
 * `wattwave sample | wattwave push` into a real Prometheus: the rate of the energy counters
 * through PromQL equals the power the fixture encodes.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { wattwaveArgv } from "../support/cli.ts";
import { promQuery, startPrometheus } from "../support/prometheus.ts";
import { makePowercapTree } from "../fixtures/powercap_tree.ts";
import { peerTest } from "../support/peers.ts";

peerTest(
  ["prometheus"],
  "sample | push → Prometheus: rate(node_rapl_package_joules_total) is the fixture's power",
  async () => {
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
      // The pipe runs in a shell, so that this process only has to keep the fixture's writer going.
      const q = (args: string[]) => wattwaveArgv(args).map((a) => `'${a}'`).join(" ");
      const sampleArgs = [
        "sample",
        "--powercap-root",
        tree.root,
        "--no-gpu",
        "--period",
        "100ms",
        "--duration",
        "12s",
        "--label",
        "job=wattwave-test",
      ];
      const pushArgs = ["push", "--url", `${prom.url}/api/v1/write`];
      const pipeline = await new Deno.Command("bash", {
        args: [
          "-c",
          `set -o pipefail; ${q(sampleArgs)} | ${
            q(pushArgs)
          }; s=("\${PIPESTATUS[@]}"); echo "status \${s[*]}" >&2; exit \${s[0]}`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(pipeline.stderr);
      assertEquals(pipeline.code, 0, err);
      assert(err.includes("status 0 0"), err);
      // Evaluate inside the sampled span, so that the whole rate() window is covered by samples
      // (otherwise rate() divides a partial increase by the full window).
      const last = await promQuery(prom.url, "max(timestamp(node_rapl_package_joules_total))");
      assertEquals(last.length, 1, JSON.stringify(last));
      const endS = Number(last[0].value![1]) - 0.5;

      const rateOf = async (query: string) => {
        const r = await promQuery(prom.url, query, endS);
        assertEquals(r.length, 1, `${query}: ${JSON.stringify(r)}`);
        return Number(r[0].value![1]);
      };
      const pkg0 = await rateOf(
        'rate(node_rapl_package_joules_total{index="0",job="wattwave-test"}[10s])',
      );
      const pkg1 = await rateOf('rate(node_rapl_package_joules_total{index="1"}[10s])');
      const dram = await rateOf("rate(node_rapl_dram_joules_total[10s])");
      // Reading lags writing by about one writer interval (5 ms, more on a loaded machine): the
      // error that adds is that lag's variation over the 10 s window.
      assert(Math.abs(pkg0 - 42.5) / 42.5 < 0.015, `package 0: ${pkg0} W, expected 42.5 W`);
      assert(Math.abs(pkg1 - 17) / 17 < 0.015, `package 1 (wrapping): ${pkg1} W, expected 17 W`);
      assert(Math.abs(dram - 3.25) / 3.25 < 0.015, `dram: ${dram} W, expected 3.25 W`);
      // The wrap was corrected: the stored counter never decreased, so there was no counter reset.
      const resets = await rateOf('resets(node_rapl_package_joules_total{index="1"}[15s])');
      assertEquals(resets, 0);
    } finally {
      clearInterval(writer);
      await prom.stop();
      await tree.remove();
    }
  },
);
