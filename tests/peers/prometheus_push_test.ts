/**
 * NDJSON → `wattwave push` → a real Prometheus 2.42 (remote-write receiver) → its PromQL API
 * returns exactly those samples, labels and values, for many series.
 */
import { assertEquals } from "../support/assert.ts";
import { runWattwave } from "../support/cli.ts";
import { promQuery, startPrometheus } from "../support/prometheus.ts";
import { formatJsonValue } from "../../lib/ndjson/contract.ts";
import { peerTest } from "../support/peers.ts";

peerTest(
  ["prometheus"],
  "push into Prometheus: the query API returns exactly what was pushed",
  async () => {
    const prom = await startPrometheus();
    try {
      const nowMs = Date.now();
      const startMs = nowMs - 10 * 60_000;
      const expected = new Map<string, [number, string][]>();
      const lines: string[] = [];
      const specials = [NaN, Infinity, -Infinity, 0.1, 1e-300, 123456789.123456, -2.5];
      for (let s = 0; s < 60; s++) {
        const name = `wattwave_e2e_${s % 3 === 0 ? "counter_total" : "gauge"}`;
        const labels = { host: `h${s}`, rack: `r${s % 7}` };
        const key = JSON.stringify(sortKeys({ __name__: name, ...labels, job: "wattwave" }));
        const samples: [number, string][] = [];
        for (let i = 0; i < 100; i++) {
          const ts = startMs + i * 5000;
          const v = s === 0 && i < specials.length
            ? specials[i]
            : Math.sin(s + i) * 1000 + s * i / 7;
          const json = formatJsonValue(v, Number.isNaN(v) ? "7ff8000000000001" : undefined);
          lines.push(
            `{"name":"${name}","labels":${
              JSON.stringify(labels)
            },"timestamp":${ts},"value":${json}}`,
          );
          // Prometheus' API prints the shortest exact decimal, with an exponent where JS uses one too.
          samples.push([ts / 1000, formatJsonValue(v).replace(/"/g, "")]);
        }
        expected.set(key, samples);
      }
      const push = await runWattwave(
        [
          "push",
          "--url",
          `${prom.url}/api/v1/write`,
          "--label",
          "job=wattwave",
          "--batch-size",
          "1000",
        ],
        { stdin: lines.join("\n") + "\n" },
      );
      assertEquals(push.code, 0, push.stderr);
      const result = await promQuery(prom.url, '{job="wattwave"}[11m]', nowMs / 1000);
      const got = new Map(result.map((r) => [JSON.stringify(sortKeys(r.metric)), r.values!]));
      assertEquals(got.size, expected.size);
      for (const [key, samples] of expected) {
        assertEquals(got.get(key), samples, key);
      }
    } finally {
      await prom.stop();
    }
  },
);

function sortKeys(o: Record<string, string>): Record<string, string> {
  const key = (k: string) => (k === "__name__" ? "" : k);
  return Object.fromEntries(Object.entries(o).sort((a, b) => (key(a[0]) < key(b[0]) ? -1 : 1)));
}
