/**
 * `push --queue-dir` through an outage of a real Prometheus 2.42: input pushed while it is down,
 * `push` killed with SIGKILL twice meanwhile; once Prometheus is up, every sample that reached
 * the queue is in its TSDB, exactly once.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { runWattwave } from "../support/cli.ts";
import { freePort } from "../support/net.ts";
import { promQuery, startPrometheus } from "../support/prometheus.ts";
import { peerTest } from "../support/peers.ts";
import { pushIntoQueue, queuedSamples } from "../support/queue.ts";

const SERIES = 4;
const STEPS = 300;

peerTest(
  ["prometheus"],
  "push --queue-dir: Prometheus down, two kill -9, Prometheus up: every queued sample once",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "wattwave-queue-prom-" });
    const port = freePort();
    const url = `http://127.0.0.1:${port}/api/v1/write`;
    // Recent timestamps (Prometheus refuses samples far older than a series' newest).
    const t0 = Math.floor(Date.now() / 1000) * 1000 - (STEPS + 60) * 1000;
    const reached = new Set<string>();
    try {
      for (let run = 0; run < 3; run++) {
        const lines: string[] = [];
        for (let i = (run * STEPS) / 3; i < ((run + 1) * STEPS) / 3; i++) {
          for (let s = 0; s < SERIES; s++) {
            lines.push(
              `{"name":"queued_outage","labels":{"s":"${s}"},"timestamp":${
                t0 + i * 1000
              },"value":${i}}`,
            );
          }
        }
        // The first two are killed once half of their input is queued: their own progress.
        await pushIntoQueue({
          url,
          dir,
          lines,
          flags: ["--batch-size", "50", "--shutdown-grace", "300ms"],
          killAfterQueued: run < 2 ? 200 : undefined,
        });
        for (const q of await queuedSamples(dir)) reached.add(`${q.labels.s}/${q.timestampMs}`);
      }
      const prom = await startPrometheus({ port });
      try {
        const r = await runWattwave(["push", "--url", url, "--queue-dir", dir], { stdin: "" });
        assertEquals(r.code, 0, r.stderr);
        const series = await promQuery(prom.url, `queued_outage[1h]`);
        const got: string[] = [];
        for (const s of series) {
          for (const [t] of s.values!) got.push(`${s.metric.s}/${Math.round(t * 1000)}`);
        }
        assertEquals(new Set(got).size, got.length);
        for (const k of reached) assert(got.includes(k), `queued sample ${k} is not in Prometheus`);
        assert(
          reached.size >= 2 * 4 * 50,
          `${reached.size} samples reached the queue: ${r.stderr}`,
        );
      } finally {
        await prom.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
