/**
 * Size and speed of the wattwave store against Prometheus TSDB, VictoriaMetrics, gzip and zstd,
 * on the same samples, in one run.
 *
 *   deno run -A bench/store_size.ts [--data ../shared/data] [--node-seconds 180] [--runs 3]
 *
 * Datasets: NAB series, RAPL traces (rapl-icpe2024) and DCGM GPU metrics from the shared data,
 * and node-exporter series scraped every second by a local Prometheus. Each dataset is reduced to
 * one sample set (sorted per series; for a timestamp seen twice only the first sample is kept,
 * because Prometheus and VictoriaMetrics would reject or merge the others), then written as
 * NDJSON (wattwave, gzip -9, zstd -19), OpenMetrics (promtool tsdb create-blocks-from
 * openmetrics) and VictoriaMetrics' JSON import format. Sizes are apparent sizes (`du -sb`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { freePort, waitForHttp } from "../tests/support/net.ts";
import { startPrometheus } from "../tests/support/prometheus.ts";
import { wattwaveArgv } from "../tests/support/cli.ts";
import { formatJsonValue } from "../lib/ndjson/contract.ts";
import { sharedData } from "./support.ts";

interface Series {
  name: string;
  labels: Record<string, string>;
  ts: number[];
  values: number[];
}

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    data: { type: "string", default: sharedData() },
    "node-seconds": { type: "string", default: "180" },
    runs: { type: "string", default: "3" },
    only: { type: "string" },
  },
});
const DATA = args.data!;
const RUNS = Number(args.runs);

async function run(cmd: string, argv: string[], opts: { cwd?: string } = {}): Promise<string> {
  const out = await new Deno.Command(cmd, { args: argv, stdout: "piped", stderr: "piped", ...opts })
    .output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`${cmd} ${argv.join(" ")} failed: ${dec.decode(out.stderr)}`);
  }
  return dec.decode(out.stdout) + dec.decode(out.stderr);
}

async function du(path: string): Promise<number> {
  return Number((await run("du", ["-sb", path])).split(/\s/)[0]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// ---------------------------------------------------------------- datasets

function csvRows(text: string): string[][] {
  return text.replace(/^\ufeff/, "").split(/\r?\n/).filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(","));
}

async function nab(): Promise<Series[]> {
  const out: Series[] = [];
  for (const dir of ["realAWSCloudwatch", "realKnownCause"]) {
    for await (const e of Deno.readDir(`${DATA}/nab/${dir}`)) {
      if (!e.name.endsWith(".csv")) continue;
      const rows = csvRows(await Deno.readTextFile(`${DATA}/nab/${dir}/${e.name}`)).slice(1);
      const s: Series = {
        name: "nab_value",
        labels: { file: e.name.slice(0, -4) },
        ts: [],
        values: [],
      };
      for (const [t, v] of rows) {
        s.ts.push(Date.parse(t.replace(" ", "T") + "Z"));
        s.values.push(Number(v));
      }
      out.push(s);
    }
  }
  return out;
}

async function rapl(): Promise<Series[]> {
  const out: Series[] = [];
  for await (const e of Deno.readDir(`${DATA}/rapl-icpe2024`)) {
    if (!e.name.endsWith("_perf.txt")) continue;
    const text = await Deno.readTextFile(`${DATA}/rapl-icpe2024/${e.name}`);
    const base = Number(/### Timestamp ([\d.]+)/.exec(text)?.[1] ?? "1693479165") * 1000;
    const run = e.name.replace(/_perf\.txt$/, "");
    const by = new Map<string, Series>();
    for (const r of csvRows(text)) {
      if (r.length < 6) continue;
      const ts = Math.round(base + Number(r[0]) * 1000);
      for (const [name, v] of [["rapl_energy_joules", r[4]], ["rapl_power_watts", r[5]]]) {
        const key = `${name}/${r[2]}/${r[3]}`;
        let s = by.get(key);
        if (!s) {
          s = { name, labels: { run, socket: r[2], domain: r[3] }, ts: [], values: [] };
          by.set(key, s);
        }
        s.ts.push(ts);
        s.values.push(Number(v));
      }
    }
    out.push(...by.values());
  }
  return out;
}

async function dcgm(): Promise<Series[]> {
  const text = await Deno.readTextFile(
    `${DATA}/dcgm-gpu-telemetry/dcgm_metrics_20250718_134233.csv`,
  );
  const out: Series[] = [];
  for (const line of text.split(/\r?\n/).slice(1)) {
    if (!line) continue;
    const m =
      /^"([^"]*)","([^"]*)","([^"]*)","([^"]*)","([^"]*)","([^"]*)","([^"]*)","[^"]*","[^"]*","[^"]*","([^"]*)"/
        .exec(line);
    if (!m) continue;
    out.push({
      name: m[2],
      labels: { gpu: m[3], device: m[4], UUID: m[5], modelName: m[6], Hostname: m[7] },
      ts: [Date.parse(m[1])],
      values: [Number(m[8])],
    });
  }
  return out;
}

async function nodeExporter(seconds: number): Promise<Series[]> {
  const port = freePort();
  const exporter = new Deno.Command("prometheus-node-exporter", {
    args: [`--web.listen-address=127.0.0.1:${port}`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitForHttp(`http://127.0.0.1:${port}/metrics`);
    const prom = await startPrometheus({
      config:
        `scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ["127.0.0.1:${port}"]\n`,
    });
    try {
      console.error(`bench: scraping node-exporter for ${seconds} s ...`);
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const q = new URLSearchParams({ query: `{job="node"}[${seconds + 60}s]` });
      const body = await (await fetch(`${prom.url}/api/v1/query?${q}`)).json();
      return body.data.result.map(
        (r: { metric: Record<string, string>; values: [number, string][] }) => {
          const { __name__: name, ...labels } = r.metric;
          return {
            name,
            labels,
            ts: r.values.map((v) => Math.round(v[0] * 1000)),
            values: r.values.map((v) => Number(v[1])),
          };
        },
      );
    } finally {
      await prom.stop();
    }
  } finally {
    exporter.kill("SIGTERM");
    await exporter.status;
  }
}

/** Sorted per series, first sample kept for a repeated timestamp. */
function normalise(series: Series[]): Series[] {
  return series.map((s) => {
    const order = s.ts.map((_, i) => i).sort((a, b) => s.ts[a] - s.ts[b] || a - b);
    const ts: number[] = [];
    const values: number[] = [];
    for (const i of order) {
      if (ts.length && ts[ts.length - 1] === s.ts[i]) continue;
      ts.push(s.ts[i]);
      values.push(s.values[i]);
    }
    return { ...s, ts, values };
  });
}

// ---------------------------------------------------------------- formats

function labelText(labels: Record<string, string>): string {
  return Object.keys(labels).sort().map((k) =>
    `${k}="${labels[k].replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
  ).join(",");
}

function promValue(v: number): string {
  return v !== v ? "NaN" : v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v);
}

async function writeFormats(dir: string, series: Series[]): Promise<void> {
  const nd: string[] = [];
  const vm: string[] = [];
  const byName = new Map<string, Series[]>();
  for (const s of series) {
    const l = Object.keys(s.labels).sort().map((k) =>
      `${JSON.stringify(k)}:${JSON.stringify(s.labels[k])}`
    ).join(",");
    const prefix = `{"name":${JSON.stringify(s.name)},"labels":{${l}},"timestamp":`;
    for (let i = 0; i < s.ts.length; i++) {
      nd.push(`${prefix}${s.ts[i]},"value":${formatJsonValue(s.values[i])}}`);
    }
    vm.push(JSON.stringify({
      metric: { __name__: s.name, ...s.labels },
      values: s.values.map((
        v,
      ) => (v !== v ? "NaN" : v === Infinity ? "Inf" : v === -Infinity ? "-Inf" : v)),
      timestamps: s.ts,
    }));
    if (!byName.has(s.name)) byName.set(s.name, []);
    byName.get(s.name)!.push(s);
  }
  await Deno.writeTextFile(`${dir}/data.ndjson`, nd.join("\n") + "\n");
  await Deno.writeTextFile(`${dir}/data.vm.jsonl`, vm.join("\n") + "\n");
  const om: string[] = [];
  for (const [name, list] of byName) {
    om.push(`# TYPE ${name} unknown`);
    for (const s of list) {
      const lt = labelText(s.labels);
      const head = lt ? `${name}{${lt}}` : name;
      for (let i = 0; i < s.ts.length; i++) {
        om.push(`${head} ${promValue(s.values[i])} ${(s.ts[i] / 1000).toFixed(3)}`);
      }
    }
  }
  om.push("# EOF");
  await Deno.writeTextFile(`${dir}/data.om`, om.join("\n") + "\n");
}

// ---------------------------------------------------------------- systems

async function wattwave(
  dir: string,
): Promise<{ bytes: number; compressSps: number[]; exportSps: number[]; samples: number }> {
  const compressSps: number[] = [];
  const exportSps: number[] = [];
  let bytes = 0;
  let samples = 0;
  for (let r = 0; r < RUNS; r++) {
    const store = `${dir}/ww-${r}`;
    const [cmd, ...rest] = wattwaveArgv([
      "compress",
      "--store",
      store,
      "--report",
      "json",
      "--no-progress",
      `${dir}/data.ndjson`,
    ]);
    const out = await new Deno.Command(cmd, { args: rest, stdout: "null", stderr: "piped" })
      .output();
    const report = JSON.parse(new TextDecoder().decode(out.stdout));
    samples = report.samples;
    compressSps.push(report.samples / report.seconds);
    bytes = await du(store);
    const [c2, ...r2] = wattwaveArgv(["export", "--store", store]);
    const t0 = performance.now();
    const ex = await new Deno.Command(c2, { args: r2, stdout: "null", stderr: "piped" }).output();
    if (!ex.success) throw new Error(new TextDecoder().decode(ex.stderr));
    exportSps.push(samples / ((performance.now() - t0) / 1000));
    if (r < RUNS - 1) await Deno.remove(store, { recursive: true });
  }
  return { bytes, compressSps, exportSps, samples };
}

async function prometheusTsdb(dir: string): Promise<number> {
  const out = `${dir}/prom`;
  await run("promtool", [
    "tsdb",
    "create-blocks-from",
    "openmetrics",
    "--max-block-duration=87600h",
    "-q",
    `${dir}/data.om`,
    out,
  ]);
  return await du(out);
}

async function victoria(dir: string, series: Series[]): Promise<number> {
  const port = freePort();
  const data = `${dir}/vm`;
  const vm = new Deno.Command("victoria-metrics", {
    args: [
      `-storageDataPath=${data}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      "-retentionPeriod=100y",
      "-loggerLevel=ERROR",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = new Response(vm.stderr).text();
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${base}/health`);
    const body = await Deno.readFile(`${dir}/data.vm.jsonl`);
    const r = await fetch(`${base}/api/v1/import`, { method: "POST", body });
    if (r.status !== 204) throw new Error(`VM import: ${r.status} ${await r.text()}`);
    await (await fetch(`${base}/internal/force_flush`)).body?.cancel();
    const months = new Set<string>();
    for (const s of series) {
      for (const t of [s.ts[0], s.ts[s.ts.length - 1]]) {
        const d = new Date(t);
        months.add(`${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, "0")}`);
      }
    }
    for (const m of months) {
      await (await fetch(`${base}/internal/force_merge?partition_prefix=${m}`)).body?.cancel();
    }
    // Merges run in the background: wait until the data directory stops changing.
    let last = -1;
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = await du(`${data}/data`);
      if (now === last) break;
      last = now;
    }
    return (await du(`${data}/data`)) + (await du(`${data}/indexdb`));
  } finally {
    vm.kill("SIGTERM");
    await vm.status;
    await log;
  }
}

async function compressedSize(tool: string, argv: string[], file: string): Promise<number> {
  const out = await new Deno.Command(tool, {
    args: [...argv, "-c", file],
    stdout: "piped",
    stderr: "null",
  }).output();
  return out.stdout.length;
}

// ---------------------------------------------------------------- main

const datasets: [string, () => Promise<Series[]>][] = [
  ["nab", nab],
  ["rapl", rapl],
  ["dcgm", dcgm],
  ["node-exporter", () => nodeExporter(Number(args["node-seconds"]))],
];

const root = await Deno.makeTempDir({ prefix: "wattwave-bench-" });
const rows: Record<string, string | number>[] = [];
try {
  for (const [name, load] of datasets) {
    if (args.only && !args.only.split(",").includes(name)) continue;
    const series = normalise(await load());
    const samples = series.reduce((n, s) => n + s.ts.length, 0);
    const dir = `${root}/${name}`;
    await Deno.mkdir(dir);
    await writeFormats(dir, series);
    const ndjson = (await Deno.stat(`${dir}/data.ndjson`)).size;
    const ww = await wattwave(dir);
    if (ww.samples !== samples) {
      throw new Error(`${name}: wattwave stored ${ww.samples} of ${samples}`);
    }
    const prom = await prometheusTsdb(dir);
    const vmBytes = await victoria(dir, series);
    const gz = await compressedSize("gzip", ["-9"], `${dir}/data.ndjson`);
    const zst = await compressedSize("zstd", ["-19", "-q"], `${dir}/data.ndjson`);
    const row = {
      dataset: name,
      series: series.length,
      samples,
      "ndjson B/s": +(ndjson / samples).toFixed(2),
      "wattwave B/s": +(ww.bytes / samples).toFixed(3),
      "prometheus B/s": +(prom / samples).toFixed(3),
      "victoria B/s": +(vmBytes / samples).toFixed(3),
      "gzip-9 B/s": +(gz / samples).toFixed(3),
      "zstd-19 B/s": +(zst / samples).toFixed(3),
      "ww/prom": +(ww.bytes / prom).toFixed(3),
      "ww/vm": +(ww.bytes / vmBytes).toFixed(3),
      "compress samples/s (median)": Math.round(median(ww.compressSps)),
      "export samples/s (median)": Math.round(median(ww.exportSps)),
    };
    rows.push(row);
    console.error(JSON.stringify(row));
  }
  const total = rows.reduce((n, r) => n + (r.samples as number), 0);
  console.log(
    `\nwattwave store size benchmark (${RUNS} runs, sizes = du -sb, B/s = bytes per sample)\n`,
  );
  console.table(rows);
  console.log(`total samples: ${total}`);
} finally {
  await Deno.remove(root, { recursive: true });
}
