/**
 * Takes the README picture: Prometheus' own graph page plotting a series that `serve-read`
 * serves from a wattwave store (headless Chromium from Debian: `apt-get install -y chromium`).
 *
 * Run: `deno run -A bench/screenshot_serve_read.ts [--out docs/serve-read-prometheus-graph.png]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startWattwaveServer } from "../tests/support/receive.ts";
import { startPrometheus } from "../tests/support/prometheus.ts";
import { Store } from "../lib/store/mod.ts";

const { values: args } = parseArgs({
  options: {
    out: { type: "string", default: "docs/serve-read-prometheus-graph.png" },
    chromium: { type: "string", default: Deno.env.get("CHROMIUM_BIN") ?? "chromium" },
  },
});

/** One hour of a GPU's power at 1 s: idle, training bursts, noise (deterministic). */
function powerTrace(endMs: number, gpu: number): { ts: number[]; values: Float64Array } {
  const n = 3600;
  const ts = Array.from({ length: n }, (_, i) => endMs - (n - 1 - i) * 1000);
  const values = new Float64Array(n);
  let seed = 7 + gpu;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < n; i++) {
    const phase = (i + gpu * 400) % 1200;
    const busy = phase > 300 && phase < 1000;
    const base = busy ? 240 + 30 * Math.sin(i / 40) : 62;
    values[i] = Math.round((base + (rand() - 0.5) * (busy ? 18 : 4)) * 100) / 100;
  }
  return { ts, values };
}

const endMs = Math.floor(Date.now() / 1000) * 1000 - 5000;
const dir = await Deno.makeTempDir({ prefix: "wattwave-screenshot-" });
const profile = await Deno.makeTempDir({ prefix: "wattwave-chromium-" });
const cleanup: (() => Promise<unknown>)[] = [
  () => Deno.remove(dir, { recursive: true }),
  () => Deno.remove(profile, { recursive: true }),
];
try {
  const store = await Store.open(dir);
  for (const gpu of [0, 1]) {
    const { ts, values } = powerTrace(endMs, gpu);
    await store.append(
      [["__name__", "nvidia_gpu_power_watts"], ["gpu", String(gpu)], ["host", "demo"]],
      ts,
      values,
    );
  }
  await store.commit();

  const server = await startWattwaveServer(["serve-read", "--port", "0", "--store", dir]);
  const baseUrl = server.baseUrl;
  cleanup.unshift(() => server.stop());

  const prom = await startPrometheus({
    config: `remote_read:\n  - url: ${baseUrl}/api/v1/read\n    read_recent: true\n`,
    remoteWriteReceiver: false,
  });
  cleanup.unshift(prom.stop);

  const expr = "nvidia_gpu_power_watts";
  const url = `${prom.url}/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=0` +
    `&g0.range_input=1h&g0.end_input=${
      encodeURIComponent(new Date(endMs + 60_000).toISOString().slice(0, 19).replace("T", " "))
    }&g0.moment_input=&g0.stacked=0&g0.show_exemplars=0`;
  const out = await Deno.realPath(".").then((cwd) =>
    args.out.startsWith("/") ? args.out : `${cwd}/${args.out}`
  );
  await Deno.mkdir(out.slice(0, out.lastIndexOf("/")), { recursive: true });
  const shot = await new Deno.Command(args.chromium, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--hide-scrollbars",
      `--user-data-dir=${profile}`,
      "--virtual-time-budget=15000",
      `--screenshot=${out}`,
      "--window-size=1400,900",
      url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!shot.success) {
    throw new Error(`chromium failed: ${new TextDecoder().decode(shot.stderr)}`);
  }
  console.log(`wrote ${out} (${(await Deno.stat(out)).size} bytes) from ${url}`);
} finally {
  for (const c of cleanup) await c().catch(() => {});
}
