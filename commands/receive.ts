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
import { defaultWorkerCount, NdjsonFormatPool } from "../lib/remote/ndjson_pool.ts";
import { parseByteSize, parsePort } from "../lib/cli/parse.ts";
import { onShutdownSignal } from "../lib/cli/signals.ts";
import { UsageError } from "../lib/errors.ts";
import {
  createWriteHandler,
  routeRequests,
  type SinkResult,
  type WriteHandlerOptions,
} from "../lib/remote/write_handler.ts";
import { StoreWriteSink } from "../lib/remote/read_server.ts";
import { Store } from "../lib/store/mod.ts";
import {
  formatWriteRequestBytes,
  OrderedByteOutput,
  type OutputFormat,
} from "../lib/remote/ndjson_output.ts";

function parseWorkerCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 64) {
    throw new InvalidArgumentError(`expected 0-64 worker threads (got "${text}")`);
  }
  return n;
}

interface ReceiveOptions {
  bind: string;
  port: number;
  path: string;
  maxBodyBytes: number;
  maxDecodedBytes: number;
  format: OutputFormat;
  store?: string;
  maxPendingBytes: number;
  workers: number;
  quiet?: boolean;
}

async function receive(o: ReceiveOptions): Promise<void> {
  if (!o.path.startsWith("/")) throw new UsageError(`--path must start with / (got "${o.path}")`);
  if (o.store !== undefined && o.format !== "ndjson") {
    throw new UsageError(
      `--format ${o.format} applies to stdout output; --store writes FLAC segments`,
    );
  }
  const shutdown = new AbortController();
  let samples = 0;
  let requests = 0;
  let output: OrderedByteOutput | undefined;
  let pool: NdjsonFormatPool | undefined;
  let sinks: Pick<WriteHandlerOptions, "sink" | "bodySink">;
  let storeSink: StoreWriteSink | undefined;
  let store: Store | undefined;
  if (o.store !== undefined) {
    // Into the store: 204 only once the samples are committed (fsynced, index replaced).
    store = await Store.open(o.store);
    storeSink = new StoreWriteSink(store);
    sinks = { sink: storeSink.sink };
  } else {
    const out = output = new OrderedByteOutput(Deno.stdout.writable, {
      maxPendingBytes: o.maxPendingBytes,
    });
    /** Hands one request's NDJSON to stdout; resolves once written (the 204 waits for it). */
    const deliver = async (bytes: Uint8Array, sampleCount: number): Promise<SinkResult> => {
      const written = out.write(bytes);
      if (written === "busy") return "busy";
      try {
        await written;
      } catch (err) {
        shutdown.abort(err); // stdout is gone: nothing more can be delivered
        throw err;
      }
      samples += sampleCount;
      requests++;
      return "ok";
    };
    if (o.workers > 0) {
      // Decode and format on worker threads; the main thread does HTTP and ordered output.
      const p = pool = new NdjsonFormatPool({
        workers: o.workers,
        format: o.format,
        maxDecodedBytes: o.maxDecodedBytes,
      });
      sinks = {
        bodySink: async (body) => {
          if (out.pendingBytes > o.maxPendingBytes) return "busy";
          const f = await p.format(body);
          return deliver(f.bytes, f.samples);
        },
      };
    } else {
      sinks = {
        sink: (decoded) => deliver(formatWriteRequestBytes(decoded, o.format), decoded.sampleCount),
      };
    }
  }
  const handler = createWriteHandler({
    maxBodyBytes: o.maxBodyBytes,
    maxDecodedBytes: o.maxDecodedBytes,
    ...sinks,
    onRefused: o.quiet
      ? undefined
      : (status, reason) => console.error(`wattwave receive: ${status}: ${reason}`),
  });
  const server = Deno.serve({
    hostname: o.bind,
    port: o.port,
    signal: shutdown.signal,
    onListen: ({ hostname, port }) =>
      console.error(`wattwave receive: listening on http://${hostname}:${port}${o.path}`),
  }, routeRequests(o.path, handler));
  const unlisten = onShutdownSignal(() => shutdown.abort());
  try {
    await server.finished;
  } finally {
    unlisten();
  }
  pool?.close();
  if (storeSink) {
    await store!.close(); // releases the writer lock and removes its `.writer` file
    console.error(
      `wattwave receive: ${storeSink.requests} requests, ${storeSink.samples} samples stored in ${o.store}`,
    );
    return;
  }
  await output!.close();
  console.error(`wattwave receive: ${requests} requests, ${samples} samples written`);
  if (output!.failure) throw output!.failure;
}

/** The `receive` subcommand. */
export function receiveCommand(): CommandUnknownOpts {
  return new Command("receive")
    .description("Receive Prometheus remote write 1.0 and write NDJSON to stdout")
    .option("--bind <address>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port to listen on (0 picks a free one)", parsePort, 9201)
    .option("--path <path>", "remote-write path", "/api/v1/write")
    .option(
      "--max-body-bytes <size>",
      "largest request body (413 beyond)",
      parseByteSize,
      32 * 1024 * 1024,
    )
    .option(
      "--max-decoded-bytes <size>",
      "largest decompressed body, checked before allocating (413 beyond)",
      parseByteSize,
      64 * 1024 * 1024,
    )
    .addOption(
      new Option(
        "--format <format>",
        "output records: wattwave NDJSON or the Arroyo connector schema",
      )
        .choices(["ndjson", "arroyo"] as const).default("ndjson" as const),
    )
    .option(
      "--max-pending-bytes <size>",
      "NDJSON not yet taken by stdout beyond which new requests get 503 + Retry-After",
      parseByteSize,
      64 * 1024 * 1024,
    )
    .option(
      "--store <dir>",
      "write into a FLAC store (see `wattwave compress`) instead of stdout; 204 once durable",
    )
    .option(
      "--workers <n>",
      "threads that decode and format requests (0: on the main thread)",
      parseWorkerCount,
      defaultWorkerCount(),
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
}
