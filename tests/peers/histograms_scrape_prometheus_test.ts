/**
 * The scenario of issue 14 with a real Prometheus 2.42 (`--enable-feature=native-histograms,
 * exemplar-storage`, `send_native_histograms`, `send_exemplars`): it scrapes a protobuf target
 * with a native histogram and a counter with exemplars and remote-writes to `wattwave receive`
 * (NDJSON) and `wattwave receive --store`. Every histogram and exemplar Prometheus counts as
 * sent is kept by both (before: 204 and none kept), and the store exports them.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { runWattwave } from "../support/cli.ts";
import { startReceive } from "../support/receive.ts";
import { startPrometheus } from "../support/prometheus.ts";
import { startProtobufTarget } from "../support/protobuf_target.ts";
import { peerTest } from "../support/peers.ts";

async function metric(url: string, name: string, match = ""): Promise<number> {
  const text = await (await fetch(url)).text();
  let total = 0;
  for (const line of text.split("\n")) {
    if ((line.startsWith(name + " ") || line.startsWith(name + "{")) && line.includes(match)) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}

peerTest(
  ["prometheus"],
  "Prometheus scrapes native histograms and exemplars and remote-writes them: receive and receive --store keep every one",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "wattwave-hist-scrape-" });
    const target = startProtobufTarget();
    const plain = await startReceive();
    const stored = await startReceive(["--store", `${dir}/store`]);
    const remote = (url: string, name: string) =>
      `  - url: ${url}\n    name: ${name}\n    send_native_histograms: true\n    send_exemplars: true\n` +
      `    queue_config: { batch_send_deadline: 500ms, min_backoff: 50ms, max_backoff: 200ms }\n`;
    const prom = await startPrometheus({
      flags: ["--enable-feature=native-histograms,exemplar-storage"],
      remoteWriteReceiver: false,
      config: `scrape_configs:\n  - job_name: target\n    scrape_interval: 200ms\n` +
        `    static_configs: [{ targets: ["${target.address}"] }]\n` +
        `remote_write:\n${remote(plain.url, "plain")}${remote(stored.url, "stored")}`,
    });
    let plainOut = { code: -1, stdout: "", stderr: "" };
    try {
      const promMetrics = `${prom.url}/metrics`;
      // Until Prometheus has sent at least 10 histograms and 10 exemplars to each (90 s at most).
      const deadline = Date.now() + 90_000;
      for (;;) {
        const h = await metric(promMetrics, "prometheus_remote_storage_histograms_total");
        const e = await metric(promMetrics, "prometheus_remote_storage_exemplars_total");
        if (h >= 20 && e >= 20) break;
        assert(Date.now() < deadline, `Prometheus sent only ${h} histograms, ${e} exemplars`);
        await new Promise((r) => setTimeout(r, 200));
      }
      target.down();
      // Until what Prometheus counts as sent stops moving and both receivers hold it (60 s at most).
      const settle = Date.now() + 60_000;
      let last = "";
      for (;;) {
        const counts = [];
        for (const remoteName of ["plain", "stored"]) {
          const match = `remote_name="${remoteName}"`;
          counts.push(
            await metric(promMetrics, "prometheus_remote_storage_histograms_total", match),
            await metric(promMetrics, "prometheus_remote_storage_exemplars_total", match),
            await metric(promMetrics, "prometheus_remote_storage_histograms_failed_total", match),
            await metric(promMetrics, "prometheus_remote_storage_exemplars_failed_total", match),
          );
        }
        for (const r of [plain, stored]) {
          counts.push(
            await metric(`${r.baseUrl}/metrics`, "wattwave_histograms_written_total"),
            await metric(`${r.baseUrl}/metrics`, "wattwave_exemplars_written_total"),
          );
        }
        const now = JSON.stringify(counts);
        const [ph, pe, phf, pef, sh, se, shf, sef, rh, re, qh, qe] = counts;
        if (now === last && ph === rh && pe === re && sh === qh && se === qe) {
          assertEquals([phf, pef, shf, sef], [0, 0, 0, 0], "Prometheus counted failed sends");
          console.log(
            `Prometheus sent ${ph} histograms and ${pe} exemplars to each receiver; ` +
              `receive kept ${rh}/${re}, receive --store kept ${qh}/${qe}`,
          );
          break;
        }
        assert(Date.now() < settle, `not settled: ${now}`);
        last = now;
        await new Promise((r) => setTimeout(r, 1000));
      }
    } finally {
      await prom.stop();
      plainOut = await plain.stop();
      await stored.stop();
      await target.stop();
    }
    try {
      // receive wrote them as NDJSON lines; the store exports the same histograms and exemplars.
      const lines = (text: string, key: string) =>
        text.split("\n").filter((l) => l.includes(`"${key}":`)).sort();
      const e = await runWattwave(["export", "--store", `${dir}/store`]);
      assertEquals(e.code, 0, e.stderr);
      const hs = lines(plainOut.stdout, "histogram");
      assert(hs.length >= 10, `${hs.length} histogram lines`);
      assertEquals(lines(e.stdout, "histogram"), hs);
      assertEquals(lines(e.stdout, "exemplar"), lines(plainOut.stdout, "exemplar"));
      assert(hs.some((l) => l.includes('"positiveSpans":[[0,3]]')), hs[0]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
