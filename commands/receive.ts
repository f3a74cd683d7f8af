/**
 * `wattwave receive`: a Prometheus remote-write 1.0 endpoint that writes NDJSON to stdout.
 *
 * @module
 */
import {
  Command,
  type CommandUnknownOpts,
  InvalidArgumentError,
  Option,
} from "@commander-js/extra-typings";
import type { ConnectionGuard } from "../lib/web/connection_guard.ts";
import { parseByteSize } from "../lib/cli/parse.ts";
import {
  bindOption,
  type ConnectionFlags,
  connectionLimitsOf,
  connectionOptions,
  type ListenAddress,
  listenAddressOption,
  maxBodyBytesOption,
  portOption,
  RECEIVE_DEFAULT_PORT,
  resolveListenAddress,
  webConfigFileOption,
  type WriteLimitFlags,
  writeLimitOptions,
  writeLimitsOf,
} from "../lib/cli/server_options.ts";
import { UsageError } from "../lib/errors.ts";
import type { OutputFormat } from "../lib/remote/receive/ndjson_output.ts";
import type { WriteHandlerOptions } from "../lib/remote/receive/write_handler.ts";
import { defaultFormatWorkers } from "../lib/workers/counts.ts";

function parseWorkerCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 64) {
    throw new InvalidArgumentError(`expected 0-64 worker threads (got "${text}")`);
  }
  return n;
}

interface ReceiveOptions extends WriteLimitFlags, ConnectionFlags {
  bind?: string;
  port?: number;
  "web.listenAddress"?: ListenAddress;
  "web.config.file"?: string;
  path: string;
  maxBodyBytes: number;
  format: OutputFormat;
  store?: string;
  maxPendingBytes: number;
  workers: number;
  quiet?: boolean;
}

async function receive(o: ReceiveOptions): Promise<void> {
  const listen = resolveListenAddress(o, RECEIVE_DEFAULT_PORT);
  // Loaded when the subcommand runs, so that start-up (and --help) stays light.
  const { routePosts } = await import("../lib/remote/http.ts");
  const { NdjsonFormatPool } = await import("../lib/remote/receive/format_pool.ts");
  const { OrderedByteOutput } = await import("../lib/remote/receive/ndjson_output.ts");
  const { OutputSink } = await import("../lib/remote/receive/output_sink.ts");
  const { StoreWriterThread } = await import("../lib/remote/receive/store_thread.ts");
  const { InflightBudget } = await import("../lib/remote/receive/inflight_budget.ts");
  const { createWriteHandler, STORE_DECODED_COST_FACTOR } = await import(
    "../lib/remote/receive/write_handler.ts"
  );
  const { writeLimits } = await import("../lib/remote/receive/write_limits.ts");
  const { serveUntilShutdown } = await import("../lib/remote/server.ts");
  const { registerConnectionMetrics } = await import("../lib/web/connection_metrics.ts");
  const { Registry } = await import("../lib/metrics/registry.ts");
  const { registerProcessMetrics } = await import("../lib/metrics/process.ts");
  const { registerWriteMetrics } = await import("../lib/remote/receive/write_metrics.ts");
  if (!o.path.startsWith("/")) throw new UsageError(`--path must start with / (got "${o.path}")`);
  if (o.store !== undefined && o.format !== "ndjson") {
    throw new UsageError(
      `--format ${o.format} applies to stdout output; --store writes FLAC segments`,
    );
  }
  const shutdown = new AbortController();
  let output: InstanceType<typeof OrderedByteOutput> | undefined;
  let outputSink: InstanceType<typeof OutputSink> | undefined;
  let pool: InstanceType<typeof NdjsonFormatPool> | undefined;
  let largePool: InstanceType<typeof NdjsonFormatPool> | undefined;
  let sinks: Pick<WriteHandlerOptions, "sink" | "bodySink">;
  let storeSink: import("../lib/remote/receive/store_thread.ts").StoreWriterThread | undefined;
  let storeFailure: Error | undefined;
  const log = (line: string) => console.error(`wattwave receive: ${line}`);
  // Self-metrics at GET /metrics: read from the sinks when scraped.
  const registry = new Registry();
  registerProcessMetrics(registry);
  let guard: ConnectionGuard | undefined;
  registerConnectionMetrics(registry, () => guard);
  const metrics = registerWriteMetrics(registry, {
    requests: () => storeSink?.requests ?? outputSink?.requests ?? 0,
    samples: () => storeSink?.samples ?? outputSink?.samples ?? 0,
    histograms: () => storeSink?.histograms ?? outputSink?.histograms ?? 0,
    exemplars: () => storeSink?.exemplars ?? outputSink?.exemplars ?? 0,
    pendingBytes: o.store === undefined ? () => output?.pendingBytes ?? 0 : undefined,
  }, { store: o.store !== undefined });
  if (o.store !== undefined) {
    // Into the store: 204 only once the samples are committed (fsynced, index replaced). The
    // store lives on a thread of its own: a request of a million series does not hold HTTP.
    storeSink = await StoreWriterThread.open(o.store, {
      limits: writeLimitsOf(o),
      onCommit: (seconds) => metrics.committed(seconds),
      onFailed: (reason) => {
        log(`${reason}; stopping (nothing more can be stored)`);
        storeFailure = new Error(reason);
        shutdown.abort(storeFailure);
      },
    });
    sinks = { bodySink: storeSink.bodySink };
  } else {
    output = new OrderedByteOutput(Deno.stdout.writable, { maxPendingBytes: o.maxPendingBytes });
    // With workers, decoding and formatting leave the main thread (HTTP and ordered output).
    pool = o.workers > 0
      ? new NdjsonFormatPool({
        workers: o.workers,
        format: o.format,
        limits: writeLimitsOf(o),
        onWorkerFailed: (reason) => log(`${reason}; its requests are formatted elsewhere`),
      })
      : undefined;
    outputSink = new OutputSink(output, {
      format: o.format,
      maxPendingBytes: o.maxPendingBytes,
      pool,
      // Without workers, a request that decodes to 8 MiB or more still goes to one (made then):
      // its garbage would stall the main thread (and /-/healthy) for hundreds of ms.
      largePool: () =>
        largePool ??= new NdjsonFormatPool({
          workers: 1,
          format: o.format,
          limits: writeLimitsOf(o),
          onWorkerFailed: (reason) => log(`${reason}; its requests are formatted elsewhere`),
        }),
      limits: writeLimits(writeLimitsOf(o)),
      onOutputFailed: (err) => shutdown.abort(err), // stdout is gone: nothing more can be delivered
      onUnwritten: (count) => {
        if (metrics.unwritten(count) === count) {
          log(
            `--format ${o.format} has no column for native histograms and exemplars: they are counted (wattwave_receive_unwritten_total), not written`,
          );
        }
      },
    });
    sinks = outputSink.handlerSink();
  }
  const handler = createWriteHandler({
    maxBodyBytes: o.maxBodyBytes,
    limits: writeLimitsOf(o),
    inflight: new InflightBudget(o.maxInflightBytes),
    decodedCostFactor: o.store !== undefined ? STORE_DECODED_COST_FACTOR : undefined,
    ...sinks,
    onRefused: (status, reason) => {
      metrics.refused(status);
      if (!o.quiet) log(`${status}: ${reason}`);
    },
  });
  const routes = [{ path: o.path, name: "remote write", handler }];
  await serveUntilShutdown(routePosts(routes, { registry, title: "wattwave receive" }), {
    ...listen,
    webConfigFile: o["web.config.file"],
    connections: connectionLimitsOf(o),
    onGuard: (g) => guard = g,
    log,
    shutdown,
    onListen: (base) => log(`listening on ${base}${o.path}`),
  });
  pool?.close();
  largePool?.close();
  if (storeSink) {
    await storeSink.close(); // checkpoint; releases the writer lock and its `.writer` file
    const duplicates = storeSink.duplicateSamples;
    log(
      `${storeSink.requests} requests, ${storeSink.samples - duplicates} samples ` +
        `stored in ${o.store}` +
        (duplicates ? ` (${duplicates} already stored, skipped)` : ""),
    );
    if (storeFailure) throw storeFailure;
    return;
  }
  await output!.close();
  log(`${outputSink!.requests} requests, ${outputSink!.samples} samples written`);
  if (output!.failure) throw output!.failure;
}

/** The `receive` subcommand. */
export function receiveCommand(): CommandUnknownOpts {
  const command = new Command("receive")
    .description("Receive Prometheus remote write 1.0 and write NDJSON to stdout")
    .addOption(listenAddressOption(RECEIVE_DEFAULT_PORT))
    .addOption(webConfigFileOption())
    .addOption(bindOption())
    .addOption(portOption(RECEIVE_DEFAULT_PORT))
    .option("--path <path>", "remote-write path", "/api/v1/write")
    .addOption(maxBodyBytesOption())
    .addOption(
      new Option(
        "--format <format>",
        "output records: wattwave NDJSON or the Arroyo connector schema",
      )
        .choices(["ndjson", "arroyo"] as const).default("ndjson" as const),
    )
    .addOption(
      new Option(
        "--max-pending-bytes <size>",
        "NDJSON not yet taken by stdout beyond which new requests get 503 + Retry-After",
      ).argParser(parseByteSize).default(64 * 1024 * 1024, "64MiB"),
    )
    .option(
      "--store <dir>",
      "write into a FLAC store (see `wattwave compress`) instead of stdout; 204 once durable",
    )
    .addOption(
      new Option(
        "--workers <n>",
        "threads that decode and format requests (0: on the main thread, but a request decoding to 8 MiB or more goes to one worker; with --store, the store's own thread decodes)",
      )
        .argParser(parseWorkerCount).default(defaultFormatWorkers(), "cores-2, 0 to 4"),
    )
    .option("--quiet", "do not log refused requests")
    .addHelpText(
      "after",
      "\nEndpoints: POST <path> (204 when written to stdout, or with --store when committed), GET /-/healthy, GET /-/ready.\n" +
        "Prometheus config:\n  remote_write:\n    - url: http://127.0.0.1:9201/api/v1/write\n" +
        "Example:\n  wattwave receive --port 9201 > samples.ndjson\n  wattwave receive --store data/store",
    )
    .action(async (options) => {
      await receive(options as ReceiveOptions);
    });
  for (const option of [...writeLimitOptions(), ...connectionOptions()]) command.addOption(option);
  return command;
}
