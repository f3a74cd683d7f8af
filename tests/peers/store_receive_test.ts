/**
 * Remote write into the store under a real Prometheus scraping a real node-exporter: what
 * `wattwave export` returns equals what Prometheus' query API returns for the same window.
 *
 * The receiver is `wattwave receive --store DIR` when that flag exists, else
 * `wattwave serve-read --write-path` (the same store write path), so the test runs either way.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { runWattwave, spawnWattwave } from "../support/cli.ts";
import { collect, freePort, waitForHttp } from "../support/net.ts";
import { promQuery, startPrometheus } from "../support/prometheus.ts";
import { peerTest } from "../support/peers.ts";

type SeriesMap = Map<string, string[]>;

function keyOf(labels: Record<string, string>): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

/** Prometheus' raw samples: series → `ts value` strings (value as a JS number's spelling). */
async function fromPrometheus(url: string, endMs: number, rangeS: number): Promise<SeriesMap> {
  const result = await promQuery(url, `{job="node"}[${rangeS}s]`, endMs / 1000);
  const out: SeriesMap = new Map();
  for (const s of result) {
    out.set(
      keyOf(s.metric),
      (s.values ?? []).map(([t, v]) =>
        `${Math.round(t * 1000)} ${v === "NaN" ? "NaN" : Number(v)}`
      ),
    );
  }
  return out;
}

async function fromStore(dir: string, startMs: number, endMs: number): Promise<SeriesMap> {
  const e = await runWattwave([
    "export",
    "--store",
    dir,
    "--match",
    '{job="node"}',
    "--start",
    String(startMs),
    "--end",
    String(endMs),
  ]);
  if (e.code !== 0) throw new Error(e.stderr);
  const out: SeriesMap = new Map();
  for (const line of e.stdout.split("\n")) {
    if (!line) continue;
    const r = JSON.parse(line);
    if (r.value === "StaleNaN") continue; // the query API hides staleness markers
    const k = keyOf({ __name__: r.name, ...r.labels });
    if (!out.has(k)) out.set(k, []);
    out.get(k)!.push(`${r.timestamp} ${r.value === "NaN" ? "NaN" : Number(r.value)}`);
  }
  return out;
}

peerTest(
  ["prometheus"],
  "remote write from Prometheus into the store: export equals the query API",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "wattwave-receive-store-" });
    const exporterPort = freePort();
    const exporter = new Deno.Command("prometheus-node-exporter", {
      args: [`--web.listen-address=127.0.0.1:${exporterPort}`],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const help = await runWattwave(["receive", "--help"]);
    const receivePort = freePort();
    const receiver = help.stdout.includes("--store")
      ? spawnWattwave(["receive", "--store", dir, "--port", String(receivePort)])
      : spawnWattwave([
        "serve-read",
        "--store",
        dir,
        "--port",
        String(receivePort),
        "--write-path",
        "/api/v1/write",
      ]);
    const receiverLog = collect(receiver.stderr);
    const receiverOut = collect(receiver.stdout);
    let prom: Awaited<ReturnType<typeof startPrometheus>> | undefined;
    try {
      await waitForHttp(`http://127.0.0.1:${exporterPort}/metrics`);
      await waitForHttp(`http://127.0.0.1:${receivePort}/-/ready`);
      prom = await startPrometheus({
        config: `scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["127.0.0.1:${exporterPort}"]
remote_write:
  - url: http://127.0.0.1:${receivePort}/api/v1/write
    queue_config:
      batch_send_deadline: 500ms
      min_backoff: 100ms
`,
      });
      await new Promise((r) => setTimeout(r, 9000));
      const endMs = Math.floor(Date.now() / 1000) * 1000 - 2000;
      const rangeS = 6;
      const want = await fromPrometheus(prom.url, endMs, rangeS);
      assert(want.size > 100, `Prometheus has only ${want.size} node series`);
      // Remote write lags the TSDB a little: poll until the store has caught up (bounded).
      let got: SeriesMap = new Map();
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        got = await fromStore(dir, endMs - rangeS * 1000, endMs);
        if (
          got.size === want.size && [...want].every(([k, v]) => got.get(k)?.length === v.length)
        ) {
          break;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      assertEquals([...got.keys()].sort(), [...want.keys()].sort());
      for (const [k, v] of want) assertEquals(got.get(k), v, k);
    } finally {
      if (prom) await prom.stop();
      try {
        receiver.kill("SIGTERM");
      } catch { /* gone */ }
      await receiver.status;
      await receiverLog;
      await receiverOut;
      exporter.kill("SIGTERM");
      await exporter.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
);
