/**
 * Self-metrics: `GET /metrics` of `receive` and `serve-read` pass `promtool check metrics`, and a
 * real Prometheus scraping `receive` while `push` writes to it sees counters that agree with what
 * was sent.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { runWattwave } from "../support/cli.ts";
import { promQuery, startPrometheus } from "../support/prometheus.ts";
import { peerBin, peerTest } from "../support/peers.ts";
import { startReceive, startServeRead } from "../support/receive.ts";
import { waitUntil } from "../support/lines.ts";

async function promtoolCheck(text: string): Promise<string> {
  const child = new Deno.Command(peerBin("promtool"), {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  assertEquals(out.code, 0, dec.decode(out.stdout) + dec.decode(out.stderr));
  return dec.decode(out.stdout) + dec.decode(out.stderr);
}

function ndjson(n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) {
    out += `{"name":"x","labels":{"k":"${i % 5}"},"timestamp":${
      1700000000000 + i * 1000
    },"value":${i}}\n`;
  }
  return out;
}

peerTest(
  ["prometheus", "promtool"],
  "/metrics: promtool accepts it; Prometheus scraping receive sees what push sent",
  async () => {
    const recv = await startReceive(["--quiet"]);
    const prom = await startPrometheus({
      config: `scrape_configs:\n  - job_name: wattwave\n    static_configs:\n      - targets: ["${
        new URL(recv.baseUrl).host
      }"]\n`,
    });
    try {
      const p = await runWattwave(["push", "--url", recv.url, "--batch-size", "500"], {
        stdin: ndjson(3000),
      });
      assertEquals(p.code, 0, p.stderr);
      const bad = await fetch(recv.url, {
        method: "POST",
        headers: { "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf" },
        body: "garbage",
      });
      await bad.body?.cancel();
      assertEquals(bad.status, 400);
      const text = await (await fetch(`${recv.baseUrl}/metrics`)).text();
      await promtoolCheck(text);
      for (
        const name of [
          "process_cpu_seconds_total",
          "process_resident_memory_bytes",
          "process_open_fds",
          "process_start_time_seconds",
          "wattwave_build_info",
          "wattwave_http_request_duration_seconds_bucket",
        ]
      ) assert(text.includes(name), `${name} missing:\n${text}`);
      const value = async (q: string) => Number((await promQuery(prom.url, q))[0]?.value?.[1]);
      await waitUntil(
        async () =>
          (await value("wattwave_samples_written_total")) === 3000 &&
          (await value('wattwave_remote_write_refused_total{code="400"}')) === 1 &&
          (await value('wattwave_http_requests_total{handler="/api/v1/write",code="204"}')) === 6,
        "Prometheus to scrape the counters of what was sent",
        30_000,
      );
      assertEquals(await value("wattwave_remote_write_requests_total"), 6);
      assertEquals(await value('up{job="wattwave"}'), 1);
    } finally {
      await prom.stop();
      await recv.stop();
    }

    // serve-read: read counters and the cache, promtool-clean.
    const dir = await Deno.makeTempDir();
    try {
      const c = await runWattwave(["compress", "--store", dir], { stdin: ndjson(100) });
      assertEquals(c.code, 0, c.stderr);
      const sr = await startServeRead(["--store", dir, "--write-path", "/api/v1/write"]);
      try {
        const text = await (await fetch(`${sr.baseUrl}/metrics`)).text();
        await promtoolCheck(text);
        assert(text.includes("wattwave_read_cache_misses_total 0"), text);
        assert(text.includes("wattwave_store_commits_total 0"), text);
        const page = await (await fetch(`${sr.baseUrl}/`)).text();
        assert(page.includes("/api/v1/read") && page.includes("/metrics"), page);
      } finally {
        await sr.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
