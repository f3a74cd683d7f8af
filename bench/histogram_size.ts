/**
 * Bytes per native histogram sample on disk: the same histograms stored by `wattwave compress`
 * (side files: Prometheus' chunk encoding plus what it does not carry) and by a real Prometheus
 * 2.42 (remote write into `--enable-feature=native-histograms`, then a TSDB snapshot, which
 * writes the head as a block: chunks and index). Sizes are `du -sb`. A third store is fed the
 * way Prometheus feeds it: `wattwave receive --store` gets one remote-write request per scrape
 * (one histogram per series, one commit each), small side files merged as they pile up.
 *
 * The data: `--series` latency histograms (schema 3, about 30 populated buckets that drift, a
 * zero bucket, every counter growing at random) scraped every 15 s for `--hours` hours, and a
 * counter reset halfway.
 *
 *   deno run -A bench/histogram_size.ts [--series 20] [--hours 12]
 *
 * @module
 */
import { emptyHistogram, type NativeHistogram } from "../lib/model/histogram.ts";
import { formatHistogramLine } from "../lib/ndjson/histogram_line.ts";
import { encodeWriteRequest } from "../lib/remote/codec/write_request.ts";
import { snappyEncode } from "../lib/remote/codec/snappy.ts";
import { PROTOCOL_HEADERS } from "../lib/remote/push/write_client.ts";
import { startPrometheus } from "../tests/support/prometheus.ts";
import { seededRandom } from "../tests/support/random.ts";
import { runWattwave } from "../tests/support/cli.ts";
import { startReceive } from "../tests/support/receive.ts";
import { arg, fmt } from "./support.ts";

const SERIES = Number(arg("series", "20"));
const HOURS = Number(arg("hours", "12"));
const STEP_MS = 15_000;

async function du(path: string): Promise<number> {
  const out = await new Deno.Command("du", { args: ["-sb", path], stdout: "piped" }).output();
  return Number(new TextDecoder().decode(out.stdout).split(/\s/)[0]);
}

/** One series' histograms (see the module doc). */
function series(seed: number, startMs: number, n: number): NativeHistogram[] {
  const rnd = seededRandom(seed);
  const buckets = 40; // bucket indexes 0…39 of schema 3 (1 … 2^5)
  const counts = new Array<number>(buckets).fill(0);
  let zero = 0;
  let sum = 0;
  const out: NativeHistogram[] = [];
  const centre = 10 + Math.floor(rnd() * 10);
  for (let i = 0; i < n; i++) {
    if (i === Math.floor(n / 2)) { // a restart: every counter back to 0
      counts.fill(0);
      zero = 0;
      sum = 0;
    }
    const observations = 20 + Math.floor(rnd() * 40);
    for (let k = 0; k < observations; k++) {
      const b = Math.max(0, Math.min(buckets - 1, Math.round(centre + (rnd() + rnd() - 1) * 12)));
      if (rnd() < 0.02) zero++;
      else {
        counts[b]++;
        sum += 2 ** ((b + rnd()) / 8);
      }
    }
    // spans over the populated buckets (gaps of 2+ empty buckets split them)
    const spans: number[] = [];
    const deltas: number[] = [];
    let prevIdx = -Infinity;
    let prevCount = 0;
    for (let b = 0; b < buckets; b++) {
      if (counts[b] === 0) continue;
      if (b - prevIdx === 1) spans[spans.length - 1]++;
      else if (b - prevIdx <= 3 && spans.length) { // fill a short gap with zero buckets
        for (let z = prevIdx + 1; z < b; z++) {
          spans[spans.length - 1]++;
          deltas.push(-prevCount);
          prevCount = 0;
        }
        spans[spans.length - 1]++;
      } else spans.push(spans.length ? b - prevIdx - 1 : b, 1);
      deltas.push(counts[b] - prevCount);
      prevCount = counts[b];
      prevIdx = b;
    }
    const h = emptyHistogram(startMs + i * STEP_MS);
    h.schema = 3;
    h.zeroThreshold = { value: 2 ** -128 };
    h.zeroCount = { value: zero };
    h.count = { value: zero + counts.reduce((a, b) => a + b, 0) };
    h.sum = { value: Math.round(sum * 1000) / 1000 };
    h.positiveSpans = spans;
    h.positiveDeltas = deltas;
    h.resetHint = i === Math.floor(n / 2) ? 1 : 0;
    out.push(h);
  }
  return out;
}

const perSeries = Math.floor((HOURS * 3_600_000) / STEP_MS);
const startMs = Math.floor(Date.now() / 3_600_000) * 3_600_000 - (HOURS + 1) * 3_600_000;
const all = Array.from({ length: SERIES }, (_, s) => series(s + 1, startMs, perSeries));
const total = SERIES * perSeries;
const labelsOf = (s: number): [string, string][] => [
  ["__name__", "http_request_duration_seconds"],
  ["handler", `/api/v${s % 4}/items`],
  ["instance", `web-${s}.example.org:8080`],
  ["job", "web"],
];
const dir = await Deno.makeTempDir({ prefix: "wattwave-hist-size-" });
try {
  // wattwave: NDJSON through compress
  const lines: string[] = [];
  all.forEach((hs, s) => {
    const l = Object.fromEntries(labelsOf(s).slice(1));
    const head = `{"name":"http_request_duration_seconds","labels":${
      JSON.stringify(l)
    },"timestamp":`;
    for (const h of hs) lines.push(formatHistogramLine(head, h));
  });
  const ndjson = `${dir}/in.ndjson`;
  await Deno.writeTextFile(ndjson, lines.join("\n") + "\n");
  const c = await runWattwave(["compress", "--store", `${dir}/store`, ndjson]);
  if (c.code !== 0) throw new Error(c.stderr);
  const e = await runWattwave(["export", "--store", `${dir}/store`]);
  const back = e.stdout.trim().split("\n").sort();
  if (JSON.stringify(back) !== JSON.stringify([...lines].sort())) {
    throw new Error("export differs from the input");
  }
  const wwBytes = await du(`${dir}/store`);

  // wattwave receive --store, one request (and commit) per scrape of all series
  const recv = await startReceive(["--store", `${dir}/rw`]);
  try {
    for (let i = 0; i < perSeries; i++) {
      const r = await fetch(recv.url, {
        method: "POST",
        headers: PROTOCOL_HEADERS,
        body: snappyEncode(encodeWriteRequest(all.map((hs, s) => ({
          labels: labelsOf(s),
          timestampsMs: [],
          values: new Float64Array(0),
          histograms: [hs[i]],
        })))),
      });
      if (r.status !== 204) throw new Error(`receive answered ${r.status}: ${await r.text()}`);
      await r.body?.cancel();
    }
  } finally {
    await recv.stop();
  }
  const rwBytes = await du(`${dir}/rw`);
  const rwBack = (await runWattwave(["export", "--store", `${dir}/rw`])).stdout.trim().split("\n")
    .sort();
  if (JSON.stringify(rwBack) !== JSON.stringify(back)) throw new Error("receive --store differs");

  // Prometheus: remote write, then a snapshot (the head written as a block)
  const prom = await startPrometheus({
    flags: ["--enable-feature=native-histograms", "--web.enable-admin-api"],
  });
  let promBytes = 0;
  try {
    // in time order over all series (the head refuses samples an hour older than its newest)
    for (let i = 0; i < perSeries; i += 100) {
      {
        const body = snappyEncode(encodeWriteRequest(all.map((hs, s) => ({
          labels: labelsOf(s),
          timestampsMs: [],
          values: new Float64Array(0),
          histograms: hs.slice(i, i + 100),
        }))));
        const r = await fetch(`${prom.url}/api/v1/write`, {
          method: "POST",
          headers: PROTOCOL_HEADERS,
          body,
        });
        if (!r.ok) throw new Error(`Prometheus answered ${r.status}: ${await r.text()}`);
        await r.body?.cancel();
      }
    }
    const snap = await fetch(`${prom.url}/api/v1/admin/tsdb/snapshot`, { method: "POST" });
    const name = (await snap.json()).data.name;
    promBytes = await du(`${prom.dataDir}/data/snapshots/${name}`);
    const q = await fetch(
      `${prom.url}/api/v1/query?query=count_over_time(http_request_duration_seconds[${
        HOURS + 2
      }h])&time=${Date.now() / 1000}`,
    );
    const held = (await q.json()).data.result.reduce(
      (n: number, r: { value: [number, string] }) => n + Number(r.value[1]),
      0,
    );
    if (held !== total) console.log(`note: Prometheus holds ${held} of ${total} histograms`);
  } finally {
    await prom.stop();
  }
  console.log(
    `${SERIES} series × ${perSeries} native histograms (schema 3, ~30 buckets, every 15 s, ${HOURS} h) = ${
      fmt(total)
    }; NDJSON ${fmt(lines.join("\n").length)} bytes`,
  );
  console.log("\n| store | bytes on disk | bytes/histogram |");
  console.log("| --- | ---: | ---: |");
  console.log(
    `| wattwave (side files + index) | ${fmt(wwBytes)} | ${(wwBytes / total).toFixed(2)} |`,
  );
  console.log(
    `| Prometheus 2.42 (TSDB snapshot) | ${fmt(promBytes)} | ${(promBytes / total).toFixed(2)} |`,
  );
  console.log(
    `\nwattwave ÷ Prometheus = ${(wwBytes / promBytes).toFixed(3)} (compress), ${
      (rwBytes / promBytes).toFixed(3)
    } (receive --store)`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
