/**
 * A real Prometheus (Debian's 2.42) started for a test: its own data dir, a free port, a config.
 *
 * @module
 */
import { collect, freePort, waitForHttp } from "./net.ts";
import { peerBin } from "./peers.ts";

/** A running Prometheus. */
export interface PrometheusHandle {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Port it listens on. */
  port: number;
  /** Its data directory. */
  dataDir: string;
  /** Its process id (for RSS readings). */
  pid: number;
  /** Stops it and removes the data directory; returns its log. */
  stop(): Promise<string>;
}

/** Options of {@linkcode startPrometheus}. */
export interface StartPrometheusOptions {
  /** YAML config body; `global` defaults are prepended when it has none. Default: no scrape jobs. */
  config?: string;
  /** Extra command-line flags. */
  flags?: string[];
  /** Accept remote write (`--web.enable-remote-write-receiver`). Default true. */
  remoteWriteReceiver?: boolean;
  /** Port to listen on. Default a free one. */
  port?: number;
}

/** Path of the prometheus binary (env `PROMETHEUS_BIN` or `prometheus` on PATH). */
export function prometheusBin(): string {
  return peerBin("prometheus");
}

/** Starts Prometheus on 127.0.0.1 and waits for `/-/ready`. */
export async function startPrometheus(
  options: StartPrometheusOptions = {},
): Promise<PrometheusHandle> {
  const port = options.port ?? freePort();
  const dataDir = await Deno.makeTempDir({ prefix: "wattwave-prom-" });
  const configPath = `${dataDir}/prometheus.yml`;
  let config = options.config ?? "";
  if (!/^global:/m.test(config)) {
    config = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n" + config;
  }
  await Deno.writeTextFile(configPath, config);
  const flags = [
    `--config.file=${configPath}`,
    `--storage.tsdb.path=${dataDir}/data`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
    ...(options.remoteWriteReceiver === false ? [] : ["--web.enable-remote-write-receiver"]),
    ...(options.flags ?? []),
  ];
  const child = new Deno.Command(prometheusBin(), {
    args: flags,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = collect(child.stderr);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/-/ready`, 60_000);
  } catch (err) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    throw new Error(`${(err as Error).message}\n${await log}`);
  }
  return {
    url,
    port,
    dataDir,
    pid: child.pid,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      return await log;
    },
  };
}

/** One series of a PromQL answer. */
export interface PromSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}

/** Runs a PromQL query (`/api/v1/query`, with `time` in seconds when given) and returns the result series. */
export async function promQuery(
  baseUrl: string,
  query: string,
  timeS?: number,
): Promise<PromSeries[]> {
  const params = new URLSearchParams({ query });
  if (timeS !== undefined) params.set("time", String(timeS));
  const r = await fetch(`${baseUrl}/api/v1/query?${params}`);
  const body = await r.json();
  if (body.status !== "success") throw new Error(`query ${query} failed: ${JSON.stringify(body)}`);
  return body.data.result;
}

/** Runs a range query (`/api/v1/query_range`, times in seconds). */
export async function promQueryRange(
  baseUrl: string,
  query: string,
  startS: number,
  endS: number,
  stepS: number,
): Promise<PromSeries[]> {
  const params = new URLSearchParams({
    query,
    start: String(startS),
    end: String(endS),
    step: String(stepS),
  });
  const r = await fetch(`${baseUrl}/api/v1/query_range?${params}`);
  const body = await r.json();
  if (body.status !== "success") throw new Error(`query ${query} failed: ${JSON.stringify(body)}`);
  return body.data.result;
}
