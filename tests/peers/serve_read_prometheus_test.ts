/**
 * `wattwave serve-read` with a real Prometheus 2.42 as the remote-read client:
 * PromQL through Prometheus' HTTP API over a store built from known data equals the same queries
 * over the input (computed by hand, and by a second Prometheus holding the input in its own TSDB),
 * and Prometheus' remote write into `--write-path` reads back as what Prometheus itself has.
 */
import { startServeRead } from "../support/receive.ts";
import { deepStrictEqual, ok } from "node:assert/strict";
import {
  promQuery,
  promQueryRange,
  type PromSeries,
  startPrometheus,
} from "../support/prometheus.ts";
import { startNodeExporter } from "../support/node_exporter.ts";
import { Store } from "../../lib/store/mod.ts";
import { encodeWriteRequest, type WireSeries } from "../../lib/remote/codec/write_request.ts";
import { snappyEncode } from "../../lib/remote/codec/snappy.ts";
import { peerTest } from "../support/peers.ts";

const STEP_MS = 1000;
const SPAN_MS = 40 * 60_000;
const STALE_NAN = [0x7ff00000, 0x00000002];

/** Known input: gauges with a stale marker, counters growing by exactly `k` per second. */
function knownInput(endMs: number): WireSeries[] {
  const startMs = endMs - SPAN_MS;
  const n = SPAN_MS / STEP_MS + 1;
  const ts = Array.from({ length: n }, (_, i) => startMs + i * STEP_MS);
  const out: WireSeries[] = [];
  for (const host of ["a", "b"]) {
    for (const gpu of ["0", "1", "2"]) {
      const g = Number(gpu);
      const watts = Float64Array.from(
        ts,
        (_, i) => Math.round((150 + 40 * g + 25 * Math.sin(i / (37 + g))) * 100) / 100,
      );
      let wattTs = ts;
      if (host === "b" && gpu === "2") { // this one stops 10 min before the end, with a stale marker
        const cut = n - 600;
        wattTs = ts.slice(0, cut + 1);
        const w = watts.slice(0, cut + 1);
        const dv = new DataView(w.buffer);
        dv.setUint32(cut * 8 + 4, STALE_NAN[0], true);
        dv.setUint32(cut * 8, STALE_NAN[1], true);
        out.push({
          labels: [["__name__", "power_watts"], ["gpu", gpu], ["host", host]],
          timestampsMs: wattTs,
          values: w,
        });
      } else {
        out.push({
          labels: [["__name__", "power_watts"], ["gpu", gpu], ["host", host]],
          timestampsMs: ts,
          values: watts,
        });
      }
      const k = 100 + 10 * g + (host === "b" ? 1 : 0);
      out.push({
        labels: host === "a"
          ? [["__name__", "energy_joules_total"], ["gpu", gpu], ["host", host], ["zone", "z1"]]
          : [["__name__", "energy_joules_total"], ["gpu", gpu], ["host", host]],
        timestampsMs: ts,
        values: Float64Array.from(ts, (_, i) => 1e6 + k * i),
      });
    }
  }
  return out;
}

function sortSeries(r: PromSeries[]): PromSeries[] {
  return [...r].sort((a, b) => JSON.stringify(a.metric) < JSON.stringify(b.metric) ? -1 : 1);
}

const QUERIES = [
  "power_watts",
  'power_watts{host="a"}',
  'power_watts{host!="a"}',
  'power_watts{gpu=~"0|2"}',
  'power_watts{gpu!~"0|2"}',
  '{__name__=~"energy_.*", zone=""}',
  '{__name__=~"energy_.*", zone!~"z.+", gpu!="1"}',
  "sum by (host) (power_watts)",
  "rate(energy_joules_total[1m])",
  "sum by (host) (rate(energy_joules_total[5m]))",
  "count_over_time(power_watts[2m])",
];

peerTest(
  ["prometheus"],
  "serve-read: PromQL through Prometheus' remote_read equals PromQL over the input",
  async () => {
    const endMs = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    const input = knownInput(endMs);
    const dir = await Deno.makeTempDir({ prefix: "wattwave-serve-read-" });
    const cleanup: (() => Promise<unknown>)[] = [() => Deno.remove(dir, { recursive: true })];
    try {
      const store = await Store.open(dir);
      for (const s of input) await store.append(s.labels, s.timestampsMs, s.values);
      await store.commit();

      const server = await startServeRead(["--store", dir]);
      cleanup.unshift(server.stop);
      const remote = await startPrometheus({
        config: `remote_read:\n  - url: ${server.baseUrl}/api/v1/read\n    read_recent: true\n`,
        remoteWriteReceiver: false,
      });
      cleanup.unshift(remote.stop);
      // The oracle: the same input in a Prometheus' own TSDB.
      const local = await startPrometheus();
      cleanup.unshift(local.stop);
      const w = await fetch(`${local.url}/api/v1/write`, {
        method: "POST",
        headers: {
          "Content-Encoding": "snappy",
          "Content-Type": "application/x-protobuf",
          "X-Prometheus-Remote-Write-Version": "0.1.0",
        },
        body: snappyEncode(encodeWriteRequest(input)),
      });
      ok(w.ok, `oracle write: ${w.status} ${await w.text()}`);

      // By hand: an instant selector and a sum at a time inside the data.
      const tS = (endMs - 15 * 60_000 + 500) / 1000;
      const at = (s: WireSeries) => {
        const i = s.timestampsMs.findLastIndex((t) => t <= tS * 1000);
        return s.values[i];
      };
      const one = input.find((s) =>
        s.labels[0][1] === "power_watts" && s.labels[1][1] === "1" &&
        s.labels[2][1] === "a"
      )!;
      const got = await promQuery(remote.url, 'power_watts{gpu="1",host="a"}', tS);
      deepStrictEqual(got.length, 1);
      deepStrictEqual(Number(got[0].value![1]), at(one));
      const sums = await promQuery(remote.url, "sum by (host) (power_watts)", tS);
      for (const host of ["a", "b"]) {
        const expected = input.filter((s) =>
          s.labels[0][1] === "power_watts" && s.labels[2][1] === host
        )
          .reduce((sum, s) => sum + at(s), 0);
        const r = sums.find((s) => s.metric.host === host)!;
        ok(
          Math.abs(Number(r.value![1]) - expected) < 1e-9,
          `sum ${host}: ${r.value![1]} vs ${expected}`,
        );
      }
      const rates = await promQuery(remote.url, "rate(energy_joules_total[1m])", tS);
      deepStrictEqual(rates.length, 6);
      for (const r of rates) {
        const k = 100 + 10 * Number(r.metric.gpu) + (r.metric.host === "b" ? 1 : 0);
        ok(Math.abs(Number(r.value![1]) - k) < 1e-9, `rate ${JSON.stringify(r)} vs ${k}`);
      }
      // After the stale marker, the series is gone from instant queries.
      const late = await promQuery(
        remote.url,
        'power_watts{host="b",gpu="2"}',
        (endMs - 60_000) / 1000,
      );
      deepStrictEqual(late, []);

      // Every query, instant at a few times and over ranges, equals the oracle's answer.
      for (const q of QUERIES) {
        for (
          const t of [
            endMs - SPAN_MS + 90_000,
            endMs - 20 * 60_000 + 123,
            endMs - 5_000,
            endMs + 60_000,
          ]
        ) {
          const [a, b] = await Promise.all([
            promQuery(remote.url, q, t / 1000),
            promQuery(local.url, q, t / 1000),
          ]);
          deepStrictEqual(sortSeries(a), sortSeries(b), `${q} at ${t}`);
          if (t < endMs) ok(a.length > 0, `${q} at ${t} is empty`);
        }
        const [a, b] = await Promise.all([
          promQueryRange(remote.url, q, (endMs - SPAN_MS) / 1000, endMs / 1000 + 120, 15),
          promQueryRange(local.url, q, (endMs - SPAN_MS) / 1000, endMs / 1000 + 120, 15),
        ]);
        ok(a.length > 0, `${q} range is empty`);
        deepStrictEqual(sortSeries(a), sortSeries(b), `${q} over the range`);
      }
    } finally {
      for (const c of cleanup) await c().catch(() => {});
    }
  },
);

peerTest(
  ["prometheus", "node-exporter"],
  "serve-read: Prometheus remote_write into --write-path reads back as Prometheus has it",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "wattwave-serve-rw-" });
    const cleanup: (() => Promise<unknown>)[] = [() => Deno.remove(dir, { recursive: true })];
    try {
      const server = await startServeRead(["--store", dir, "--write-path", "/api/v1/write"]);
      cleanup.unshift(server.stop);
      const exporter = await startNodeExporter();
      cleanup.unshift(exporter.stop);
      const scraper = await startPrometheus({
        config:
          `scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ["${exporter.target}"]\n` +
          `remote_write:\n  - url: ${server.baseUrl}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n`,
        remoteWriteReceiver: false,
      });
      cleanup.unshift(scraper.stop);
      const reader = await startPrometheus({
        config: `remote_read:\n  - url: ${server.baseUrl}/api/v1/read\n    read_recent: true\n`,
        remoteWriteReceiver: false,
      });
      cleanup.unshift(reader.stop);

      // Prometheus hands new targets to the scrape loop after up to 5 s: wait for a few scrapes,
      // then compare raw samples over a window remote write has delivered (poll until it has).
      const query =
        '{__name__=~"node_load1|node_memory_MemTotal_bytes|node_cpu_seconds_total", job="node"}[4s]';
      let tS = 0;
      let theirs: PromSeries[] = [];
      let ours: PromSeries[] = [];
      const deadline = Date.now() + 40_000;
      while (Date.now() < deadline) {
        tS = Date.now() / 1000 - 2;
        theirs = await promQuery(scraper.url, query, tS);
        if (theirs.length >= 3 && theirs.every((s) => (s.values ?? []).length >= 3)) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      while (Date.now() < deadline) {
        [theirs, ours] = await Promise.all([
          promQuery(scraper.url, query, tS),
          promQuery(reader.url, query, tS),
        ]);
        if (JSON.stringify(sortSeries(theirs)) === JSON.stringify(sortSeries(ours))) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      ok(theirs.length >= 3, `scraper has ${theirs.length} series`);
      deepStrictEqual(sortSeries(ours), sortSeries(theirs));
      // And a computed query over the same window.
      const rateQ = 'sum by (mode) (rate(node_cpu_seconds_total{mode=~"idle|user|system"}[4s]))';
      const [a, b] = await Promise.all([
        promQuery(scraper.url, rateQ, tS),
        promQuery(reader.url, rateQ, tS),
      ]);
      deepStrictEqual(sortSeries(b), sortSeries(a));
    } finally {
      for (const c of cleanup) await c().catch(() => {});
    }
  },
);
