/**
 * A real Prometheus scrapes a real node-exporter and remote-writes to `wattwave receive`:
 * the NDJSON equals what Prometheus' own query API returns for those series.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { parseNdjson } from "../support/cli.ts";
import { startReceive } from "../support/receive.ts";
import { startNodeExporter } from "../support/node_exporter.ts";
import { promQuery, startPrometheus } from "../support/prometheus.ts";
import { peerTest } from "../support/peers.ts";

const NAMES = [
  "node_load1",
  "node_memory_MemFree_bytes",
  "node_cpu_seconds_total",
  "up",
  "scrape_duration_seconds",
];

peerTest(
  ["prometheus", "node-exporter"],
  "Prometheus remote_write → receive: NDJSON equals Prometheus' own data",
  async () => {
    const recv = await startReceive(["--quiet"]);
    const node = await startNodeExporter();
    const prom = await startPrometheus({
      config: `
global:
  scrape_interval: 500ms
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["${node.target}"]
remote_write:
  - url: ${recv.url}
    queue_config:
      batch_send_deadline: 100ms
      max_samples_per_send: 500
    metadata_config:
      send_interval: 1s
`,
    });
    let stopped = false;
    try {
      // Prometheus' discovery hands targets to the scraper after a few seconds: wait for the first scrape.
      const deadline = Date.now() + 30_000;
      while ((await promQuery(prom.url, 'up{job="node"}')).length === 0) {
        assert(Date.now() < deadline, "Prometheus never scraped node-exporter");
        await new Promise((r) => setTimeout(r, 250));
      }
      await new Promise((r) => setTimeout(r, 3000));
      const cutoffS = Math.floor(Date.now() / 1000) - 1;
      await new Promise((r) => setTimeout(r, 2500)); // let the queue deliver everything up to the cutoff
      const selector = `{job="node",__name__=~"${NAMES.join("|")}"}[1m]`;
      const fromProm = await promQuery(prom.url, selector, cutoffS);
      await prom.stop();
      stopped = true;
      const out = await recv.stop();
      assertEquals(out.code, 0, out.stderr);
      const records = parseNdjson(out.stdout);

      const expected = new Set<string>();
      for (const s of fromProm) {
        const { __name__: name, ...labels } = s.metric;
        for (const [t, v] of s.values!) {
          expected.add(JSON.stringify([name, labels, Math.round(t * 1000), v]));
        }
      }
      const got = new Set<string>();
      const fromMs = (cutoffS - 60) * 1000;
      for (const r of records) {
        if (!("name" in r) || !NAMES.includes(r.name as string)) continue;
        const labels = r.labels as Record<string, string>;
        if (labels.job !== "node") continue;
        const ts = r.timestamp as number;
        if (ts <= fromMs || ts > cutoffS * 1000) continue;
        got.add(JSON.stringify([r.name, sortObject(labels), ts, String(r.value)]));
      }
      assert(expected.size > 50, `too few samples from Prometheus: ${expected.size}`);
      const normalise = (set: Set<string>) =>
        [...set].map((s) => {
          const [n, l, t, v] = JSON.parse(s);
          return JSON.stringify([n, sortObject(l), t, v]);
        }).sort();
      assertEquals(normalise(got), normalise(expected));
      const meta = records.filter((r) => "metadata" in r).map((r) =>
        r.metadata as Record<string, string>
      );
      assert(
        meta.some((m) => m.name === "node_load1" && m.type === "gauge"),
        "metadata for node_load1 arrived",
      );
    } finally {
      if (!stopped) await prom.stop();
      await recv.stop().catch(() => {});
      await node.stop();
    }
  },
);

function sortObject(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}
