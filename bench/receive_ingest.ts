/**
 * Remote-write ingest: the same pre-encoded requests (~100 series × 100 samples each,
 * node-exporter-like labels) posted by one load generator to `wattwave receive` (stdout to
 * /dev/null), to Prometheus' receiver and to VictoriaMetrics' /api/v1/write, in one run.
 * Prints samples/s of each (median of the repetitions), the ratios, and peak RSS. `receive` runs
 * over plain HTTP and over HTTPS with basic auth (`--web.config.file`; certificates made with
 * openssl, the bcrypt hash with htpasswd, cost 10), with the same load generator.
 *
 * The same samples also go to `wattwave receive` as remote write 2.0 requests
 * (`io.prometheus.write.v2.Request`: interned label strings), and the body sizes of both are
 * printed. `--protocols` runs only the two wattwave protocol targets.
 *
 *   deno run -A bench/receive_ingest.ts [--rounds 40] [--reps 3] [--protocols] [--series 100] [--samples-per-series 100]
 *
 * @module
 */
import {
  encodeLabelBlock,
  type WireSeries,
  WriteRequestEncoder,
} from "../lib/remote/codec/write_request.ts";
import { encodeWriteRequestV2 } from "../lib/remote/codec/write_request_v2.ts";
import { snappyEncode } from "../lib/remote/codec/snappy.ts";
import { PROTOCOL_HEADERS } from "../lib/remote/push/write_client.ts";
import { startPrometheus } from "../tests/support/prometheus.ts";
import { startVictoria } from "../tests/support/victoria.ts";
import { freePort, waitForHttp } from "../tests/support/net.ts";
import { PERMISSION_FLAGS } from "../tests/support/cli.ts";
import { arg, fmt, median, peakRssMiB } from "./support.ts";
import { htpasswdHash, makeCerts } from "../tests/support/tls.ts";

const ROUNDS = Number(arg("rounds", "40"));
const REPS = Number(arg("reps", "3"));
const PROTOCOLS_ONLY = Deno.args.includes("--protocols");
const BLOCKS = 10; // one load-generator worker per block keeps each series in order
const SERIES_PER_REQUEST = Number(arg("series", "100"));
const SAMPLES_PER_SERIES = Number(arg("samples-per-series", "100"));

/** requests[block][round], as remote write 1.0 (`v1`) or 2.0 (`v2`) bodies of the same samples. */
function buildPayloads(): { v1: Uint8Array[][]; v2: Uint8Array[][] } {
  const modes = [
    "user",
    "system",
    "idle",
    "iowait",
    "irq",
    "softirq",
    "steal",
    "nice",
    "guest",
    "guest_nice",
  ];
  const baseMs = Date.now() - 30 * 60_000;
  const enc = new WriteRequestEncoder();
  const v1: Uint8Array[][] = [];
  const v2: Uint8Array[][] = [];
  for (let b = 0; b < BLOCKS; b++) {
    const labels: [string, string][][] = [];
    for (let s = 0; s < SERIES_PER_REQUEST; s++) {
      labels.push([
        ["__name__", "node_cpu_seconds_total"],
        ["cpu", String(s % 64)],
        ["instance", `host-${b}-${Math.floor(s / 10)}.example.org:9100`],
        ["job", "node"],
        ["mode", modes[s % 10]],
      ]);
    }
    const blocks = labels.map(encodeLabelBlock);
    const rounds: Uint8Array[] = [];
    const rounds2: Uint8Array[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const series = blocks.map((labelBlock, s) => {
        const ts: number[] = [];
        const values = new Float64Array(SAMPLES_PER_SERIES);
        for (let i = 0; i < SAMPLES_PER_SERIES; i++) {
          const k = r * SAMPLES_PER_SERIES + i;
          ts.push(baseMs + k * 10);
          values[i] = Math.round((1000 * s + k * (0.37 + (s % 7) / 10)) * 100) / 100;
        }
        return { labelBlock, timestampsMs: ts, values, count: SAMPLES_PER_SERIES };
      });
      rounds.push(snappyEncode(enc.encode(series)));
      const wire: WireSeries[] = series.map((x, s) => ({
        labels: labels[s],
        timestampsMs: x.timestampsMs,
        values: x.values,
      }));
      rounds2.push(snappyEncode(encodeWriteRequestV2(wire)));
    }
    v1.push(rounds);
    v2.push(rounds2);
  }
  return { v1, v2 };
}

/** Headers of a remote write 2.0 request. */
const V2_HEADERS = {
  "Content-Encoding": "snappy",
  "Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
  "X-Prometheus-Remote-Write-Version": "2.0.0",
};

/** How the load generator reaches a target: an HTTPS client and extra headers, when needed. */
interface Access {
  client?: Deno.HttpClient;
  headers?: Record<string, string>;
}

async function load(url: string, payloads: Uint8Array[][], access: Access = {}): Promise<number> {
  const t0 = performance.now();
  const headers = { ...PROTOCOL_HEADERS, ...access.headers };
  await Promise.all(payloads.map(async (rounds) => {
    for (const body of rounds) {
      const res = await fetch(url, {
        method: "POST",
        headers,
        body: body as BodyInit,
        ...(access.client ? { client: access.client } : {}),
      } as RequestInit);
      await res.body?.cancel();
      if (res.status !== 204 && res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
    }
  }));
  return (performance.now() - t0) / 1000;
}

interface Target {
  name: string;
  access?: Access;
  /** Send remote write 2.0 bodies (default 1.0). */
  v2?: boolean;
  start(): Promise<{ url: string; pid: number; stop(): Promise<unknown> }>;
}

function wattwaveTarget(name: string, extra: string[], access?: Access, v2 = false): Target {
  return {
    name,
    access,
    v2,
    async start() {
      const port = freePort();
      const main = new URL("../main.ts", import.meta.url).pathname;
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", ...PERMISSION_FLAGS, main, "receive", "--port", String(port), ...extra],
        stdout: "null",
        stderr: "null",
      }).spawn();
      const scheme = access?.client ? "https" : "http";
      if (access?.client) {
        for (let i = 0;; i++) {
          const ok = await fetch(`https://127.0.0.1:${port}/-/ready`, {
            client: access.client,
            headers: access.headers,
          } as RequestInit).then((r) => r.body?.cancel().then(() => r.ok), () => false);
          if (ok) break;
          if (i > 300) throw new Error("receive over HTTPS did not start");
          await new Promise((r) => setTimeout(r, 100));
        }
      } else await waitForHttp(`http://127.0.0.1:${port}/-/ready`);
      return {
        url: `${scheme}://127.0.0.1:${port}/api/v1/write`,
        pid: child.pid,
        stop: async () => {
          child.kill("SIGTERM");
          await child.status;
        },
      };
    },
  };
}

const certs = await makeCerts();
const webConfig = `${certs.dir}/web.yml`;
await Deno.writeTextFile(
  webConfig,
  `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n` +
    `basic_auth_users:\n  bench: ${await htpasswdHash("bench", "pw")}\n`,
);
const httpsAccess: Access = {
  client: Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.caCert)] }),
  headers: { Authorization: `Basic ${btoa("bench:pw")}` },
};
const allTargets: Target[] = [
  wattwaveTarget("wattwave receive", []),
  wattwaveTarget("wattwave receive, remote write 2.0", [], { headers: V2_HEADERS }, true),
  wattwaveTarget(
    "wattwave receive, HTTPS + basic auth",
    ["--web.config.file", webConfig],
    httpsAccess,
  ),
  wattwaveTarget("wattwave receive --workers 0", ["--workers", "0"]),
  {
    name: "Prometheus 2.42",
    async start() {
      const p = await startPrometheus();
      return { url: `${p.url}/api/v1/write`, pid: p.pid, stop: () => p.stop() };
    },
  },
  {
    name: "VictoriaMetrics",
    async start() {
      const v = await startVictoria();
      return { url: `${v.url}/api/v1/write`, pid: v.pid, stop: () => v.stop() };
    },
  },
];

const targets = PROTOCOLS_ONLY ? allTargets.slice(0, 2) : allTargets;
const payloads = buildPayloads();
const totalSamples = BLOCKS * ROUNDS * SERIES_PER_REQUEST * SAMPLES_PER_SERIES;
const bytes = payloads.v1.flat().reduce((n, p) => n + p.length, 0);
const bytes2 = payloads.v2.flat().reduce((n, p) => n + p.length, 0);
console.log(
  `${BLOCKS * ROUNDS} requests × ${SERIES_PER_REQUEST} series × ${SAMPLES_PER_SERIES} samples = ${
    fmt(totalSamples)
  } samples, ` +
    `${fmt(bytes / 1048576, 1)} MiB snappy, ${BLOCKS} concurrent senders, ${REPS} repetitions`,
);
console.log(
  `bodies (snappy): remote write 1.0 ${fmt(bytes)} bytes (${
    (bytes / totalSamples).toFixed(2)
  } B/sample), ` +
    `2.0 ${fmt(bytes2)} bytes (${(bytes2 / totalSamples).toFixed(2)} B/sample), 2.0 ÷ 1.0 = ${
      (bytes2 / bytes).toFixed(3)
    }`,
);
const rates = new Map<string, number[]>();
const rss = new Map<string, number[]>();
for (let rep = 0; rep < REPS; rep++) {
  for (const t of targets) {
    const server = await t.start();
    const seconds = await load(server.url, t.v2 ? payloads.v2 : payloads.v1, t.access);
    const peak = peakRssMiB(server.pid) ?? NaN;
    await server.stop();
    rates.set(t.name, [...(rates.get(t.name) ?? []), totalSamples / seconds]);
    rss.set(t.name, [...(rss.get(t.name) ?? []), peak]);
  }
}
const ww = median(rates.get("wattwave receive")!);
console.log("\n| receiver | samples/s (median) | runs | peak RSS MiB | wattwave ÷ it |");
console.log("| --- | ---: | --- | ---: | ---: |");
for (const t of targets) {
  const r = rates.get(t.name)!;
  console.log(
    `| ${t.name} | ${fmt(median(r))} | ${r.map((x) => fmt(x / 1000) + "k").join(", ")} | ${
      fmt(Math.max(...rss.get(t.name)!), 0)
    } | ${(ww / median(r)).toFixed(2)}× |`,
  );
}
httpsAccess.client?.close();
await certs.remove();
