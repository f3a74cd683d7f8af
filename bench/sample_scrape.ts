/**
 * Benchmark: `wattwave sample --web.listen-address` as a scrape target next to
 * `prometheus-node-exporter --collector.disable-defaults --collector.rapl` on the same fixture
 * powercap tree (two sockets with core/uncore/dram, psys: 9 zones), both scraped every second for
 * `--duration` (default 60s) by this script. Prints each one's CPU time over the run (from
 * /proc/<pid>/stat), peak RSS (VmHWM), mean scrape latency, and the ratios; and checks that the
 * RAPL series both expose have the same names and labels.
 *
 * Usage: deno run -A bench/sample_scrape.ts [--duration 60s]
 *
 * @module
 */
import { makePowercapTree } from "../tests/fixtures/powercap_tree.ts";
import { wattwaveArgv } from "../tests/support/cli.ts";
import { freePort, waitForHttp } from "../tests/support/net.ts";
import { parseDurationMs } from "../lib/cli/parse.ts";
import { fmt, peakRssMiB } from "./support.ts";

const args = Deno.args;
const i = args.indexOf("--duration");
const durationMs = parseDurationMs(i >= 0 ? args[i + 1] : "60s");
const CLK_TCK = 100;

function cpuSeconds(pid: number): number {
  const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (fields 14 and 15)
}

const sys = await Deno.makeTempDir({ prefix: "wattwave-sysfs-" });
const tree = await makePowercapTree();
await Deno.mkdir(`${sys}/class`, { recursive: true });
await Deno.symlink(tree.root, `${sys}/class/powercap`);
const wwPort = freePort();
const nePort = freePort();
const [cmd, ...rest] = wattwaveArgv([
  "sample",
  "--powercap-root",
  `${sys}/class/powercap`,
  "--no-gpu",
  "--period",
  "1s",
  "--no-stdout",
  "--web.listen-address",
  `127.0.0.1:${wwPort}`,
]);
const ww = new Deno.Command(cmd, { args: rest, stdout: "null", stderr: "null" }).spawn();
const ne = new Deno.Command("prometheus-node-exporter", {
  args: [
    `--web.listen-address=127.0.0.1:${nePort}`,
    "--collector.disable-defaults",
    "--collector.rapl",
    `--path.sysfs=${sys}`,
  ],
  stdout: "null",
  stderr: "null",
}).spawn();
const targets = [
  { name: "wattwave sample", pid: ww.pid, url: `http://127.0.0.1:${wwPort}/metrics` },
  {
    name: "node-exporter --collector.rapl",
    pid: ne.pid,
    url: `http://127.0.0.1:${nePort}/metrics`,
  },
];
try {
  for (const t of targets) await waitForHttp(t.url, 30_000);
  await new Promise((r) => setTimeout(r, 1500)); // one tick, so that readings exist
  const cpu0 = targets.map((t) => cpuSeconds(t.pid));
  const latency = targets.map(() => [] as number[]);
  const bodies = targets.map(() => "");
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    const next = performance.now() + 1000;
    for (let k = 0; k < targets.length; k++) {
      const t0 = performance.now();
      bodies[k] = await (await fetch(targets[k].url)).text();
      latency[k].push(performance.now() - t0);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  const cpu = targets.map((t, k) => cpuSeconds(t.pid) - cpu0[k]);
  const rss = targets.map((t) => peakRssMiB(t.pid) ?? NaN);
  // node-exporter also lists the intel-rapl-mmio duplicate of package 0, which wattwave skips.
  const raplSeries = (body: string) =>
    body.split("\n").filter((l) => l.startsWith("node_rapl_") && !l.includes("intel-rapl-mmio"))
      .map((l) => l.split(" ")[0]).sort();
  const same = JSON.stringify(raplSeries(bodies[0])) === JSON.stringify(raplSeries(bodies[1]));
  console.log(`scraped every 1 s for ${durationMs / 1000} s, 9 RAPL zones`);
  console.log(
    "target                          | CPU s | CPU % of a core | peak RSS MiB | scrape ms",
  );
  for (let k = 0; k < targets.length; k++) {
    const mean = latency[k].reduce((a, b) => a + b, 0) / latency[k].length;
    console.log(
      `${targets[k].name.padEnd(31)} | ${fmt(cpu[k], 2)} | ${
        fmt(100 * cpu[k] / (durationMs / 1000), 2)
      } | ${fmt(rss[k], 1)} | ${fmt(mean, 2)}`,
    );
  }
  console.log(
    `ratio wattwave / node-exporter: CPU ${fmt(cpu[0] / cpu[1], 2)}x, RSS ${
      fmt(rss[0] / rss[1], 2)
    }x; RAPL series names and labels identical (mmio duplicate aside): ${same}`,
  );
  if (!same) {
    console.log("wattwave:", raplSeries(bodies[0]).join(" "));
    console.log("node-exporter:", raplSeries(bodies[1]).join(" "));
  }
} finally {
  for (const c of [ww, ne]) {
    try {
      c.kill("SIGTERM");
    } catch { /* gone */ }
    await c.status;
  }
  await tree.remove();
  await Deno.remove(sys, { recursive: true });
}
