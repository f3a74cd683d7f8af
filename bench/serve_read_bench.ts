/**
 * Benchmark: the same data (default 1,000 series × 1 h at 1 s) in Prometheus' local TSDB and in a
 * wattwave store read through `remote_read` by a second Prometheus. Measures PromQL range-query
 * latency over all series and over one series on each path (medians, ratio, in one run) and the
 * peak RSS of `serve-read` (VmHWM). Three serve-reads answer: one with its defaults (sample cache,
 * `--read-workers` cores - 2), one with `--cache-bytes 0` (every query reads and decodes the
 * store, with the default workers: none on 2 cores) and one with `--cache-bytes 0
 * --read-workers 1` (one worker alongside the main thread); the first query of the cached one
 * (cold cache) is reported too. The paths take turns within each run.
 * Then `--live` rounds (default 5) each commit 15 s more of every series and run the all-series
 * query over the last hour again (where the cache only reads the new tails). For the all-series
 * query, a fourth Prometheus reads from a server that answers at once with a precomputed answer:
 * the least remote read can cost Prometheus itself, whatever the server does. Each timed query
 * waits `--settle` ms (default 500) first, so that no process is still busy with the last one.
 *
 * Run: `deno run -A bench/serve_read_bench.ts [--series 1000] [--runs 7] [--live 5] [--compress]`
 * (`--compress` passes `--compress-responses` to both serve-reads).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startWattwaveServer } from "../tests/support/receive.ts";
import { startPrometheus } from "../tests/support/prometheus.ts";
import { Store } from "../lib/store/mod.ts";
import { encodeWriteRequest, type WireSeries } from "../lib/remote/codec/write_request.ts";
import { snappyEncode } from "../lib/remote/codec/snappy.ts";
import { encodeReadRequest } from "../lib/remote/codec/read_request.ts";

const { values: args } = parseArgs({
  options: {
    series: { type: "string", default: "1000" },
    runs: { type: "string", default: "7" },
    step: { type: "string", default: "15" },
    compress: { type: "boolean", default: false },
    live: { type: "string", default: "5" },
    settle: { type: "string", default: "500" },
  },
});
const SERIES = Number(args.series);
const RUNS = Number(args.runs);
const STEP_S = Number(args.step);
const LIVE_ROUNDS = Number(args.live);
const SETTLE_MS = Number(args.settle);
/** Name of the path whose server answers at once with a precomputed answer. */
const FLOOR = "precomputed answer (floor)";
const WIDTH = FLOOR.length;
const SAMPLES = 3600;

/**
 * A pause before each timed query: a Prometheus that just decoded a large remote-read answer
 * collects its garbage for a while afterwards, and on a 2-core machine that would slow whichever
 * query runs next.
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A deterministic telemetry-like gauge: a random walk in watts with 2 decimals. */
function makeSeries(endMs: number): WireSeries[] {
  const startMs = endMs - (SAMPLES - 1) * 1000;
  const ts = Array.from({ length: SAMPLES }, (_, i) => startMs + i * 1000);
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const out: WireSeries[] = [];
  for (let s = 0; s < SERIES; s++) {
    const values = new Float64Array(SAMPLES);
    let x = 100 + rand() * 200;
    for (let i = 0; i < SAMPLES; i++) {
      x = Math.max(20, Math.min(400, x + (rand() - 0.5) * 8));
      values[i] = Math.round(x * 100) / 100;
    }
    out.push({
      labels: [["__name__", "bench_power_watts"], ["gpu", String(s % 8)], [
        "host",
        `node${Math.floor(s / 8)}`,
      ], ["series", String(s)]],
      timestampsMs: ts,
      values,
    });
  }
  return out;
}

/** A serve-read on a free port, quiet (no per-request log lines). */
function startServeRead(args: string[]) {
  return startWattwaveServer(["serve-read", "--port", "0", "--quiet", ...args]);
}

/** The SAMPLES body a serve-read gives for the all-series query (what Prometheus asks for). */
async function precomputedAnswer(baseUrl: string): Promise<Uint8Array> {
  const startMs = endMs - (SAMPLES - 1) * 1000 - 300_000; // Prometheus asks from start - 5 min
  const request = encodeReadRequest({
    queries: [{
      startMs,
      endMs,
      matchers: [{ name: "__name__", type: "=", value: "bench_power_watts" }],
    }],
    acceptedResponseTypes: [],
  });
  const r = await fetch(`${baseUrl}/api/v1/read`, {
    method: "POST",
    headers: { "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf" },
    body: new Uint8Array(snappyEncode(request)),
  });
  if (!r.ok) throw new Error(`precomputing the answer: ${r.status} ${await r.text()}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function peakRssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? "0");
  return kb / 1024;
}

async function rangeQueryMs(
  base: string,
  query: string,
  startS: number,
  endS: number,
): Promise<{ ms: number; points: number }> {
  const params = new URLSearchParams({
    query,
    start: String(startS),
    end: String(endS),
    step: String(STEP_S),
  });
  const t0 = performance.now();
  const r = await fetch(`${base}/api/v1/query_range?${params}`);
  const body = await r.json();
  const ms = performance.now() - t0;
  if (body.status !== "success") throw new Error(`${query}: ${JSON.stringify(body)}`);
  let points = 0;
  for (const s of body.data.result) points += s.values.length;
  return { ms, points };
}

const endMs = Math.floor(Date.now() / 1000) * 1000 - 60_000;
const data = makeSeries(endMs);
console.error(`generated ${SERIES} series × ${SAMPLES} samples`);

const dir = await Deno.makeTempDir({ prefix: "wattwave-bench-store-" });
const cleanup: (() => Promise<unknown>)[] = [() => Deno.remove(dir, { recursive: true })];
try {
  let t0 = performance.now();
  const store = await Store.open(dir);
  for (const s of data) await store.append(s.labels, s.timestampsMs, s.values);
  const committed = await store.commit();
  console.error(
    `wattwave store: ${committed.samples} samples in ${committed.segments} segments, ` +
      `${(committed.bytes / 2 ** 20).toFixed(1)} MiB, ${(performance.now() - t0).toFixed(0)} ms`,
  );

  const local = await startPrometheus();
  cleanup.unshift(local.stop);
  const writeLocal = async (series: WireSeries[]) => {
    for (let i = 0; i < series.length; i += 50) {
      const r = await fetch(`${local.url}/api/v1/write`, {
        method: "POST",
        headers: {
          "Content-Encoding": "snappy",
          "Content-Type": "application/x-protobuf",
          "X-Prometheus-Remote-Write-Version": "0.1.0",
        },
        body: new Uint8Array(snappyEncode(encodeWriteRequest(series.slice(i, i + 50)))),
      });
      if (!r.ok) throw new Error(`local write: ${r.status} ${await r.text()}`);
      await r.body?.cancel();
    }
  };
  t0 = performance.now();
  await writeLocal(data);
  console.error(`Prometheus local TSDB loaded in ${(performance.now() - t0).toFixed(0)} ms`);

  const extra = args.compress ? ["--compress-responses"] : [];
  const paths: { name: string; url: string; pid?: number; allOnly?: boolean }[] = [
    { name: "local", url: local.url },
  ];
  let lastBaseUrl = "";
  const variants = [
    ["cached", []],
    ["uncached", ["--cache-bytes", "0"]],
    ["uncached, 1 read worker", ["--cache-bytes", "0", "--read-workers", "1"]],
  ] as const;
  for (const [name, flags] of variants) {
    const server = await startServeRead(["--store", dir, ...flags, ...extra]);
    cleanup.unshift(server.stop);
    const remote = await startPrometheus({
      config: `remote_read:\n  - url: ${server.baseUrl}/api/v1/read\n    read_recent: true\n`,
      remoteWriteReceiver: false,
      flags: ["--storage.remote.read-sample-limit=0"],
    });
    cleanup.unshift(remote.stop);
    paths.push({ name, url: remote.url, pid: server.pid });
    lastBaseUrl = server.baseUrl;
  }

  // Prometheus' own share: a server that answers every read at once with a precomputed answer
  // (the all-series one, taken from the last serve-read, whose cache is off).
  const answer = await precomputedAnswer(lastBaseUrl);
  const floorServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.arrayBuffer();
    const body = new ReadableStream({
      start(c) {
        c.enqueue(answer); // one chunk, not copied
        c.close();
      },
    });
    return new Response(body, {
      headers: { "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy" },
    });
  });
  cleanup.unshift(() => floorServer.shutdown());
  const floor = await startPrometheus({
    config: `remote_read:\n  - url: http://127.0.0.1:${floorServer.addr.port}/api/v1/read\n` +
      "    read_recent: true\n",
    remoteWriteReceiver: false,
    flags: ["--storage.remote.read-sample-limit=0"],
  });
  cleanup.unshift(floor.stop);
  paths.splice(1, 0, { name: FLOOR, url: floor.url, allOnly: true });

  const startS = (endMs - (SAMPLES - 1) * 1000) / 1000;
  const endS = endMs / 1000;
  const cases = [
    { name: "all series", query: "sum(bench_power_watts)" },
    { name: "one series", query: 'bench_power_watts{series="42"}' },
  ];
  const rows: string[] = [];
  let coldMs = NaN;
  for (const c of cases) {
    const times: Record<string, number[]> = {};
    for (const p of paths) times[p.name] = [];
    for (let run = -1; run < RUNS; run++) { // run -1 warms up
      for (const p of paths) {
        if (p.allOnly && c !== cases[0]) continue;
        await settle();
        const { ms, points } = await rangeQueryMs(p.url, c.query, startS, endS);
        if (points === 0) throw new Error(`${c.query} on ${p.name}: no points`);
        if (run >= 0) times[p.name].push(ms);
        else if (p.name === "cached" && Number.isNaN(coldMs)) coldMs = ms;
      }
    }
    const l = median(times.local);
    rows.push(`${c.name}, ${c.query}: local TSDB ${l.toFixed(1)} ms`);
    for (const p of paths.slice(1)) {
      if (!times[p.name].length) continue;
      const r = median(times[p.name]);
      rows.push(
        `  remote_read, ${p.name.padEnd(WIDTH)} ${r.toFixed(1).padStart(7)} ms  ${
          (r / l).toFixed(2)
        }×`,
      );
    }
  }
  // Live data: every round commits 15 s more of every series (to the store and the local TSDB,
  // as remote write would) and runs the all-series query over the last hour again.
  const live: Record<string, number[]> = {};
  for (const p of paths) live[p.name] = [];
  let liveEndMs = endMs;
  for (let round = 0; round < LIVE_ROUNDS; round++) {
    const ts = Array.from({ length: 15 }, (_, i) => liveEndMs + (i + 1) * 1000);
    liveEndMs += 15_000;
    const more = data.map((s) => ({
      labels: s.labels,
      timestampsMs: ts,
      values: Float64Array.from(ts, (_, i) => s.values[(round * 15 + i) % SAMPLES]),
    }));
    for (const s of more) await store.append(s.labels, s.timestampsMs, s.values);
    await store.commit();
    await writeLocal(more);
    for (const p of paths) {
      const endS = liveEndMs / 1000;
      await settle();
      const { ms } = await rangeQueryMs(p.url, cases[0].query, endS - SAMPLES + 1, endS);
      live[p.name].push(ms);
    }
  }
  const liveLocal = median(live.local);
  rows.push(
    `all series after each commit of 15 s more data (${LIVE_ROUNDS} rounds): ` +
      `local TSDB ${liveLocal.toFixed(1)} ms`,
  );
  for (const p of paths.slice(1)) {
    const r = median(live[p.name]);
    rows.push(
      `  remote_read, ${p.name.padEnd(WIDTH)} ${r.toFixed(1).padStart(7)} ms  ${
        (r / liveLocal).toFixed(2)
      }×`,
    );
  }
  console.log(
    `serve-read benchmark: ${SERIES} series × ${SAMPLES} samples at 1 s, range query over 1 h, ` +
      `step ${STEP_S} s, median of ${RUNS} runs${args.compress ? ", --compress-responses" : ""}`,
  );
  for (const row of rows) console.log(row);
  console.log(`first query of the cached serve-read (cold cache): ${coldMs.toFixed(1)} ms`);
  for (const p of paths.slice(2)) {
    const rss = (await peakRssMiB(p.pid!)).toFixed(0);
    console.log(`serve-read (${p.name}) peak RSS (VmHWM): ${rss} MiB`);
  }
} finally {
  for (const c of cleanup) await c().catch(() => {});
}
