/**
 * `wattwave serve-read`: Prometheus remote read from a FLAC store, and optionally remote write into
 * it (`--write-path`), so one process is a complete remote storage for Prometheus.
 *
 * @module
 */
import { Command, type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import type { ConnectionGuard } from "../lib/web/connection_guard.ts";
import { parseByteSize, parseNonNegativeInt, parsePositiveInt } from "../lib/cli/parse.ts";
import { UsageError } from "../lib/errors.ts";
import type { PostRoute } from "../lib/remote/http.ts";
import {
  bindOption,
  type ConnectionFlags,
  connectionLimitsOf,
  connectionOptions,
  type ListenAddress,
  listenAddressOption,
  maxBodyBytesOption,
  portOption,
  resolveListenAddress,
  SERVE_READ_DEFAULT_PORT,
  webConfigFileOption,
  type WriteLimitFlags,
  writeLimitOptions,
  writeLimitsOf,
} from "../lib/cli/server_options.ts";
import { defaultReadWorkers } from "../lib/workers/counts.ts";

interface ServeReadOptions extends WriteLimitFlags, ConnectionFlags {
  store: string;
  bind?: string;
  port?: number;
  "web.listenAddress"?: ListenAddress;
  "web.config.file"?: string;
  path: string;
  writePath?: string;
  maxSamplesPerQuery: number;
  maxSamplesPerRequest: number;
  maxQueriesPerRequest: number;
  readConcurrentLimit: number;
  maxBytesInFrame: number;
  maxBodyBytes: number;
  cacheBytes: number;
  readWorkers: number;
  compressResponses?: boolean;
  quiet?: boolean;
}

const MIN_FRAME_BYTES = 4096;

/** A byte size, or 0 (`--cache-bytes 0` turns the cache off). */
function parseCacheBytes(text: string): number {
  return /^\s*0+\s*$/.test(text) ? 0 : parseByteSize(text);
}

async function serveRead(o: ServeReadOptions): Promise<void> {
  const listen = resolveListenAddress(o, SERVE_READ_DEFAULT_PORT);
  // Loaded when the subcommand runs, so that start-up (and --help) stays light.
  const { routePosts } = await import("../lib/remote/http.ts");
  const { createReadHandler } = await import("../lib/remote/read/read_handler.ts");
  const { StoreWriterThread } = await import("../lib/remote/receive/store_thread.ts");
  const { serveUntilShutdown } = await import("../lib/remote/server.ts");
  const { registerConnectionMetrics } = await import("../lib/web/connection_metrics.ts");
  const { SeriesReadPool } = await import("../lib/remote/read/read_pool.ts");
  const { createWriteHandler, STORE_DECODED_COST_FACTOR } = await import(
    "../lib/remote/receive/write_handler.ts"
  );
  const { InflightBudget } = await import("../lib/remote/receive/inflight_budget.ts");
  const { Store } = await import("../lib/store/mod.ts");
  const { Registry } = await import("../lib/metrics/registry.ts");
  const { registerProcessMetrics } = await import("../lib/metrics/process.ts");
  const { registerWriteMetrics } = await import("../lib/remote/receive/write_metrics.ts");
  const { registerReadMetrics } = await import("../lib/remote/read/read_metrics.ts");
  for (const [flag, p] of [["--path", o.path], ["--write-path", o.writePath]] as const) {
    if (p !== undefined && !p.startsWith("/")) {
      throw new UsageError(`${flag} must start with / (got "${p}")`);
    }
  }
  if (o.writePath === o.path) {
    throw new UsageError(`--write-path and --path must differ (both are "${o.path}")`);
  }
  if (o.maxBytesInFrame < MIN_FRAME_BYTES) {
    throw new UsageError(
      `--max-bytes-in-frame must be at least ${MIN_FRAME_BYTES} (got ${o.maxBytesInFrame})`,
    );
  }
  const log = (line: string) => {
    if (!o.quiet) console.error(`wattwave serve-read: ${line}`);
  };
  const shutdown = new AbortController();
  let writerFailure: Error | undefined;
  // With --write-path, the store is written by a thread of its own (a request of a million
  // series does not hold reads or /-/healthy); this thread reads it like any other reader.
  const sink = o.writePath !== undefined
    ? await StoreWriterThread.open(o.store, {
      limits: writeLimitsOf(o),
      onCommit: (seconds) => writeMetrics?.committed(seconds),
      onFailed: (reason) => {
        console.error(`wattwave serve-read: ${reason}; stopping (nothing more can be stored)`);
        writerFailure = new Error(reason);
        shutdown.abort(writerFailure);
      },
    })
    : undefined;
  let store: Awaited<ReturnType<typeof Store.open>>;
  try {
    store = await Store.open(o.store, { readOnly: true });
  } catch (err) {
    await sink?.close();
    throw err;
  }
  const pool = o.readWorkers > 0
    ? new SeriesReadPool(o.store, {
      workers: o.readWorkers,
      onUnavailable: (reason) => log(`reading in-process: ${reason}`),
    })
    : undefined;
  const read = createReadHandler({
    store,
    maxBodyBytes: o.maxBodyBytes,
    maxDecodedBytes: o.maxDecodedBytes,
    maxSamplesPerQuery: o.maxSamplesPerQuery,
    maxSamplesPerRequest: o.maxSamplesPerRequest,
    maxQueriesPerRequest: o.maxQueriesPerRequest,
    concurrentLimit: o.readConcurrentLimit,
    maxBytesInFrame: o.maxBytesInFrame,
    cacheBytes: o.cacheBytes,
    compressResponses: o.compressResponses ?? false,
    readPool: pool,
    onRefused: (status, reason) => {
      readMetrics.refused(status);
      log(`read ${status}: ${reason}`);
    },
    onAnswered: (info) => readMetrics.answered(info),
  });
  // Self-metrics at GET /metrics.
  const registry = new Registry();
  registerProcessMetrics(registry);
  let guard: ConnectionGuard | undefined;
  registerConnectionMetrics(registry, () => guard);
  const readMetrics = registerReadMetrics(registry, () => read.cacheStats());
  const writeMetrics = o.writePath === undefined ? undefined : registerWriteMetrics(registry, {
    requests: () => sink?.requests ?? 0,
    samples: () => sink?.samples ?? 0,
    histograms: () => sink?.histograms ?? 0,
    exemplars: () => sink?.exemplars ?? 0,
  }, { store: true });
  const write = sink &&
    createWriteHandler({
      maxBodyBytes: o.maxBodyBytes,
      limits: writeLimitsOf(o),
      inflight: new InflightBudget(o.maxInflightBytes),
      decodedCostFactor: STORE_DECODED_COST_FACTOR,
      bodySink: sink.bodySink,
      onRefused: (status, reason) => {
        writeMetrics?.refused(status);
        log(`write ${status}: ${reason}`);
      },
    });
  const routes: PostRoute[] = [{ path: o.path, name: "remote read", handler: read }];
  if (write) routes.push({ path: o.writePath!, name: "remote write", handler: write });
  try {
    await serveUntilShutdown(routePosts(routes, { registry, title: "wattwave serve-read" }), {
      ...listen,
      webConfigFile: o["web.config.file"],
      connections: connectionLimitsOf(o),
      onGuard: (g) => guard = g,
      shutdown,
      log: (line) => console.error(`wattwave serve-read: ${line}`),
      onListen: (base) =>
        console.error(
          `wattwave serve-read: listening on ${base}${o.path} (store ${o.store}` +
            (o.writePath ? `, remote write at ${base}${o.writePath})` : ", read-only)"),
        ),
    });
  } finally {
    pool?.close();
    await store.close();
    await sink?.close(); // checkpoint; releases the writer lock and its `.writer` file
  }
  if (sink) {
    const duplicates = sink.duplicateSamples;
    log(
      `${sink.requests} write requests, ${sink.samples - duplicates} samples stored` +
        (duplicates ? ` (${duplicates} already stored, skipped)` : ""),
    );
  }
  if (writerFailure) throw writerFailure;
}

/** The `serve-read` subcommand. */
export function serveReadCommand(): CommandUnknownOpts {
  const command = new Command("serve-read")
    .description(
      "Serve Prometheus remote read from a FLAC store (and, with --write-path, remote write into it)",
    )
    .requiredOption("--store <dir>", "store directory (see `wattwave compress`)")
    .addOption(listenAddressOption(SERVE_READ_DEFAULT_PORT))
    .addOption(webConfigFileOption())
    .addOption(bindOption())
    .addOption(portOption(SERVE_READ_DEFAULT_PORT))
    .option("--path <path>", "remote-read path", "/api/v1/read")
    .option(
      "--write-path <path>",
      "also accept remote write 1.0 at this path, into the same store (e.g. /api/v1/write)",
    )
    .option(
      "--max-samples-per-query <n>",
      "most samples one query may return (422 beyond)",
      parsePositiveInt,
      10_000_000,
    )
    .option(
      "--max-samples-per-request <n>",
      "most samples all queries of one request may return together (422 beyond)",
      parsePositiveInt,
      50_000_000,
    )
    .option(
      "--max-queries-per-request <n>",
      "most queries in one read request (400 beyond)",
      parsePositiveInt,
      100,
    )
    .option(
      "--read-concurrent-limit <n>",
      "read requests answered at once; the others wait their turn (0: no limit)",
      parseNonNegativeInt,
      10,
    )
    .addOption(
      new Option(
        "--max-bytes-in-frame <size>",
        "largest frame of a STREAMED_XOR_CHUNKS response (at least 4096)",
      )
        .argParser(parseByteSize).default(1024 * 1024, "1MiB"),
    )
    .addOption(maxBodyBytesOption())
    .addOption(
      new Option(
        "--cache-bytes <size>",
        "memory for series samples kept between queries, LRU (0 disables)",
      )
        .argParser(parseCacheBytes).default(256 * 1024 * 1024, "256MiB"),
    )
    .addOption(
      new Option(
        "--read-workers <n>",
        "workers reading and decoding series alongside the main thread, for queries over many " +
          "uncached series (0: main thread only)",
      ).argParser(parseNonNegativeInt).default(defaultReadWorkers(), "cores-2"),
    )
    .option(
      "--compress-responses",
      "snappy-compress SAMPLES responses (smaller, slower; without it they go as one snappy " +
        "literal, fastest on loopback and LANs)",
    )
    .option("--quiet", "do not log refused requests")
    .addHelpText(
      "after",
      "\nEndpoints: POST <path> (remote read: SAMPLES or STREAMED_XOR_CHUNKS), POST <write-path>\n" +
        "(204 once durable), GET /-/healthy, GET /-/ready. Segments committed while it runs are\n" +
        "visible to the next query; cached samples of a series are dropped once it changes.\n" +
        "Prometheus config:\n" +
        "  remote_read:\n    - url: http://127.0.0.1:9202/api/v1/read\n      read_recent: true\n" +
        "  remote_write:\n    - url: http://127.0.0.1:9202/api/v1/write\n" +
        "Example:\n  wattwave serve-read --store data/store --write-path /api/v1/write",
    )
    .action(async (options) => {
      await serveRead(options as ServeReadOptions);
    });
  for (const option of [...writeLimitOptions(), ...connectionOptions()]) command.addOption(option);
  return command;
}
