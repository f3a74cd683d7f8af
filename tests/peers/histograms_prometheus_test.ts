/**
 * Native histograms from NDJSON → `wattwave push` (remote write 1.0, `TimeSeries.histograms`) →
 * a real Prometheus 2.42 with `--enable-feature=native-histograms`: its PromQL
 * `histogram_count`, `histogram_sum` and `histogram_quantile` see what was pushed.
 */
import { assertAlmostEquals, assertEquals } from "../support/assert.ts";
import { runWattwave } from "../support/cli.ts";
import { promQuery, startPrometheus } from "../support/prometheus.ts";
import { peerTest } from "../support/peers.ts";

peerTest(
  ["prometheus"],
  "push native histograms into Prometheus: histogram_count, _sum and _quantile agree",
  async () => {
    const prom = await startPrometheus({ flags: ["--enable-feature=native-histograms"] });
    try {
      const tMs = Date.now() - 60_000;
      // schema 0: buckets (0.5,1] (1,2] (2,4] at indexes 0, 1, 2; counts 2, 5, 3 as deltas 2, 3, -2
      const line = `{"name":"rpc_seconds","labels":{"job":"api"},"timestamp":${tMs},` +
        `"histogram":{"count":11,"sum":19.5,"schema":0,"zeroThreshold":0.001,"zeroCount":1,` +
        `"positiveSpans":[[0,3]],"positiveDeltas":[2,3,-2],"resetHint":"no"}}`;
      const push = await runWattwave(["push", "--url", `${prom.url}/api/v1/write`], {
        stdin: line + "\n",
      });
      assertEquals(push.code, 0, push.stderr);
      const at = tMs / 1000;
      const value = async (q: string) => Number((await promQuery(prom.url, q, at))[0]?.value?.[1]);
      assertEquals(await value("histogram_count(rpc_seconds)"), 11);
      assertEquals(await value("histogram_sum(rpc_seconds)"), 19.5);
      // rank 0.5 × 11 = 5.5: 1 in the zero bucket, 2 up to 1, then the 2.5th of 5 in (1,2];
      // Prometheus 2.42 interpolates linearly inside a bucket: 1 + 2.5/5 = 1.5
      assertAlmostEquals(await value("histogram_quantile(0.5, rpc_seconds)"), 1.5, 1e-9);
    } finally {
      await prom.stop();
    }
  },
);
