/**
 * `wattwave push`: NDJSON (stdin or files) → Prometheus remote write 1.0.
 *
 * @module
 */
import { Command, type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import { IncompleteRunError, UsageError } from "../lib/errors.ts";
import {
  collectLabel,
  collectString,
  parseByteSize,
  parseDurationMs,
  parseNonNegativeInt,
  parsePositiveInt,
} from "../lib/cli/parse.ts";
import type { ReadStats } from "../lib/ndjson/reader.ts";
import { defaultParseWorkers } from "../lib/workers/counts.ts";
import { onShutdownSignal } from "../lib/cli/signals.ts";
import { markRequired } from "../lib/cli/help.ts";
import { StatusLine } from "../lib/cli/status_line.ts";
import type { PushTlsOptions } from "../lib/remote/push/tls_transport.ts";

/** Options of `wattwave push` as parsed. */
interface PushOptions {
  url?: string;
  protobufMessage: string;
  batchSize: number;
  flushInterval: number;
  timeout: number;
  header: string[];
  bearerTokenFile?: string;
  basicAuthUser?: string;
  basicAuthPasswordFile?: string;
  label: Record<string, string>;
  maxRetries: number;
  shutdownGrace: number;
  strict?: boolean;
  parseWorkers: number;
  queueDir?: string;
  queueMaxBytes: number;
  tlsCaFile?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsServerName?: string;
  tlsInsecureSkipVerify?: boolean;
}

/** Reads the `--tls-*` files; usage errors name the option and the file. */
async function tlsOptions(o: PushOptions, url: string): Promise<PushTlsOptions | undefined> {
  const given = o.tlsCaFile ?? o.tlsCertFile ?? o.tlsKeyFile ?? o.tlsServerName ??
    (o.tlsInsecureSkipVerify ? "yes" : undefined);
  if (given === undefined) return undefined;
  if (!url.startsWith("https:")) {
    throw new UsageError(`--tls-* options need an https:// --url (got "${url}")`);
  }
  if ((o.tlsCertFile === undefined) !== (o.tlsKeyFile === undefined)) {
    throw new UsageError("--tls-cert-file and --tls-key-file go together");
  }
  const pem = async (flag: string, path: string | undefined, marker: RegExp) => {
    if (path === undefined) return undefined;
    const text = await readSecret(path, `${flag} file`);
    if (!marker.test(text)) {
      throw new UsageError(`${flag} ${path}: not a PEM file (no "-----BEGIN ...-----" block)`);
    }
    return text + "\n";
  };
  return {
    ca: await pem("--tls-ca-file", o.tlsCaFile, /-----BEGIN CERTIFICATE-----/),
    cert: await pem("--tls-cert-file", o.tlsCertFile, /-----BEGIN CERTIFICATE-----/),
    key: await pem("--tls-key-file", o.tlsKeyFile, /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
    serverName: o.tlsServerName,
    insecureSkipVerify: o.tlsInsecureSkipVerify,
  };
}

async function readSecret(path: string, what: string): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Builds the request headers from the auth and `--header` options; refuses protocol headers. */
async function requestHeaders(o: PushOptions): Promise<Record<string, string>> {
  const { PROTOCOL_HEADERS } = await import("../lib/remote/push/write_client.ts");
  const headers: Record<string, string> = {};
  const protocol = new Set(Object.keys(PROTOCOL_HEADERS).map((h) => h.toLowerCase()));
  for (const h of o.header) {
    const colon = h.indexOf(":");
    const name = colon > 0 ? h.slice(0, colon).trim() : "";
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new UsageError(`--header expects K:V with a valid header name (got "${h}")`);
    }
    if (protocol.has(name.toLowerCase())) {
      throw new UsageError(`--header cannot override the protocol header ${name}`);
    }
    headers[name] = h.slice(colon + 1).trim();
  }
  const hasAuthHeader = Object.keys(headers).some((k) => k.toLowerCase() === "authorization");
  if (o.bearerTokenFile && o.basicAuthUser) {
    throw new UsageError("use either --bearer-token-file or --basic-auth-user, not both");
  }
  if ((o.bearerTokenFile || o.basicAuthUser) && hasAuthHeader) {
    throw new UsageError(
      "--header Authorization conflicts with --bearer-token-file/--basic-auth-user",
    );
  }
  if (o.bearerTokenFile) {
    headers["Authorization"] = `Bearer ${await readSecret(o.bearerTokenFile, "bearer token file")}`;
  }
  if (o.basicAuthPasswordFile && !o.basicAuthUser) {
    throw new UsageError("--basic-auth-password-file needs --basic-auth-user");
  }
  if (o.basicAuthUser) {
    const password = o.basicAuthPasswordFile
      ? await readSecret(o.basicAuthPasswordFile, "password file")
      : "";
    const bytes = new TextEncoder().encode(`${o.basicAuthUser}:${password}`);
    headers["Authorization"] = `Basic ${btoa(String.fromCharCode(...bytes))}`;
  }
  return headers;
}

function checkUrl(url: string | undefined): string {
  if (!url) throw new UsageError("--url (or env REMOTE_WRITE_URL) is required");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url is not a URL (got "${url}")`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new UsageError(`--url must be http or https (got "${url}")`);
  }
  return url;
}

async function push(files: string[], o: PushOptions): Promise<void> {
  // Loaded when the subcommand runs, so that start-up (and --help) stays light.
  const { openSources } = await import("../lib/ndjson/reader.ts");
  const { readNdjsonColumns } = await import("../lib/ndjson/column_reader.ts");
  const { RemoteWriteClient } = await import(
    "../lib/remote/push/write_client.ts"
  );
  const { RemoteWriteBatcher } = await import("../lib/remote/push/write_batcher.ts");
  const { DiskQueue } = await import("../lib/remote/push/disk_queue.ts");
  const url = checkUrl(o.url);
  const headers = await requestHeaders(o);
  const tls = await tlsOptions(o, url);
  const started = performance.now();
  // On a terminal (and as the last stage of a pipeline) a status line shows the rate, what was
  // delivered and the last error; log lines pass above it and it is cleared before the summary.
  const status = new StatusLine();
  let lastError = "";
  const log = (line: string) => status.log(`wattwave push: ${line}`);
  // With a queue nothing is lost by waiting: retries go on until delivered, backing off to a
  // minute; without one they are bounded and the batch is dropped after them.
  const queue = o.queueDir !== undefined
    ? await DiskQueue.open(o.queueDir, { maxBytes: o.queueMaxBytes, log })
    : undefined;
  if (queue && queue.stats.backlogBatches > 0) {
    log(
      `queue ${o.queueDir}: ${queue.stats.backlogSamples} samples in ` +
        `${queue.stats.backlogBatches} batches left by an earlier run, sent first`,
    );
  }
  const shutdown = new AbortController();
  const stopReading = new AbortController();
  const client = new RemoteWriteClient(url, {
    headers,
    timeoutMs: o.timeout,
    maxRetries: queue ? Infinity : o.maxRetries,
    maxBackoffMs: queue ? 60_000 : undefined,
    signal: shutdown.signal,
    tls,
    v2: o.protobufMessage === "io.prometheus.write.v2.Request",
    onFallback: (why) =>
      log(`${why}; sending remote write 1.0 (prometheus.WriteRequest) from now on`),
    onRetry: (err, waitMs, attempt) => {
      lastError = err.message;
      log(`${err.message}; retry ${attempt} in ${Math.round(waitMs)} ms`);
    },
  });
  const batcher = new RemoteWriteBatcher(client, {
    batchSize: o.batchSize,
    flushIntervalMs: o.flushInterval,
    extraLabels: o.label,
    queue,
    onDropped: (err, samples) => {
      lastError = (err as Error).message;
      log(`dropped ${samples} samples: ${lastError}`);
    },
    onFatal: () => stopReading.abort(),
  });
  const readStats: ReadStats = { lines: 0, badLines: 0, bytes: 0 };
  let sources;
  try {
    sources = await openSources(files);
  } catch (err) {
    queue?.close();
    throw err;
  }
  // A signal ends the reading (what was read is still sent), then the flush gets a grace period;
  // with a queue it ends at once: what is not delivered stays queued.
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const unlisten = onShutdownSignal(() => {
    stopReading.abort();
    if (queue) shutdown.abort();
    // Flush what is buffered, but do not wait out every retry against a dead endpoint.
    else graceTimer = setTimeout(() => shutdown.abort(), o.shutdownGrace);
  });
  const statusTimer = status.enabled
    ? setInterval(() => {
      const st = batcher.stats;
      const seconds = Math.max(0.001, (performance.now() - started) / 1000);
      status.draw(
        `push: ${Math.round(st.samplesSent / seconds)} samples/s, read ${st.samplesIn}, ` +
          `delivered ${st.samplesSent}, retried ${st.retries}, dropped ${st.samplesDropped}` +
          (queue ? `, ${queue.samples} queued` : "") +
          (lastError ? `; last error: ${lastError}` : ""),
      );
    }, 500)
    : undefined;
  try {
    await readNdjsonColumns(sources, readStats, (cols) => batcher.addColumns(cols), {
      onBadLine: (m) => status.log(`wattwave: bad line ${m}`),
      strict: o.strict,
      workers: o.parseWorkers,
      signal: stopReading.signal,
    });
  } finally {
    // EOF, a signal or an error: flush what is buffered and wait for in-flight requests. With a
    // queue, delivery of what is left gets the grace period; the rest stays queued.
    if (queue && !shutdown.signal.aborted) {
      graceTimer = setTimeout(() => shutdown.abort(), o.shutdownGrace);
    }
    await batcher.close();
    clearTimeout(graceTimer);
    clearInterval(statusTimer);
    status.clear();
    unlisten();
    queue?.close();
  }
  const s = batcher.stats;
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const queued = queue
    ? `, queued ${queue.stats.queuedSamples} in ${queue.stats.queuedBytes} bytes ` +
      `(${queue.samples} left in ${o.queueDir}` +
      (queue.stats.droppedSamples
        ? `, ${queue.stats.droppedSamples} dropped over --queue-max-bytes`
        : "") +
      (queue.stats.damagedFiles ? `, ${queue.stats.damagedFiles} damaged files skipped` : "") +
      (s.backlogSent ? `, ${s.backlogSent} from an earlier run delivered` : "") + ")"
    : "";
  log(
    `read ${s.samplesIn} samples (${readStats.badLines} bad lines), sent ${s.samplesSent}, ` +
      `retried ${s.retries}, dropped ${s.samplesDropped}${queued}, ${s.requests} requests, ${seconds} s`,
  );
  const startsLeftOut = batcher.startTimestampsLeftOut + client.startTimestampsLeftOut;
  if (startsLeftOut > 0) {
    log(
      `${startsLeftOut} samples and histograms carried a startTimestamp, which remote write 1.0 ` +
        `cannot send (left out; --protobuf-message io.prometheus.write.v2.Request sends them)`,
    );
  }
  if (batcher.fatal) {
    throw new UsageError(
      `${batcher.fatal.message}` +
        (queue ? ` (the undelivered samples stay in ${o.queueDir})` : ""),
    );
  }
  const lost = s.samplesDropped + (queue?.stats.droppedSamples ?? 0);
  if (lost > 0 || readStats.badLines > 0) {
    throw new IncompleteRunError(
      `push incomplete: ${lost} samples dropped, ${readStats.badLines} bad lines skipped`,
    );
  }
}

/** The `push` subcommand. */
export function pushCommand(): CommandUnknownOpts {
  return new Command("push")
    .description("Send NDJSON samples (stdin or files) to a Prometheus remote-write endpoint")
    .argument("[files...]", "NDJSON files to read (default: stdin; - is stdin)")
    .addOption(
      markRequired(new Option("--url <url>", "remote-write endpoint URL").env("REMOTE_WRITE_URL")),
    )
    .addOption(
      new Option(
        "--protobuf-message <name>",
        "remote-write message to send: 1.0's, or 2.0's (falls back to 1.0 on 415, said once)",
      ).choices(["prometheus.WriteRequest", "io.prometheus.write.v2.Request"] as const)
        .default("prometheus.WriteRequest" as const),
    )
    .addOption(
      new Option("--batch-size <samples>", "samples per request").env("BATCH_SIZE")
        .argParser(parsePositiveInt).default(2000),
    )
    .addOption(
      new Option("--flush-interval <duration>", "send a partial batch after this long")
        .argParser(parseDurationMs).default(1000, "1s"),
    )
    .addOption(
      new Option("--timeout <duration>", "timeout of one HTTP attempt")
        .argParser(parseDurationMs).default(30_000, "30s"),
    )
    .addOption(
      new Option(
        "--shutdown-grace <duration>",
        "after SIGINT/SIGTERM (with --queue-dir: after the end of input), how long retries may go on",
      )
        .argParser(parseDurationMs).default(10_000, "10s"),
    )
    .option(
      "--max-retries <n>",
      "retries of a request on network errors, 5xx and 429",
      parseNonNegativeInt,
      10,
    )
    .addOption(
      new Option("--header <K:V>", "extra request header (repeatable)")
        .argParser(collectString).default([] as string[], "none"),
    )
    .option("--bearer-token-file <path>", "send Authorization: Bearer <contents of file>")
    .option("--basic-auth-user <user>", "HTTP basic auth user")
    .option("--basic-auth-password-file <path>", "HTTP basic auth password, read from a file")
    .addOption(
      new Option("--label <k=v>", "label added to every series that lacks it (repeatable)")
        .argParser(collectLabel).default({}, "none"),
    )
    .option("--tls-ca-file <file>", "CA certificates (PEM) the server's certificate must chain to")
    .option("--tls-cert-file <file>", "client certificate (PEM), with --tls-key-file")
    .option("--tls-key-file <file>", "client private key (PEM), with --tls-cert-file")
    .option(
      "--tls-server-name <name>",
      "name the server's certificate must be valid for (and SNI), when it differs from --url's host",
    )
    .option("--tls-insecure-skip-verify", "do not check the server's certificate (testing only)")
    .option("--strict", "stop at the first bad NDJSON line instead of skipping it")
    .option(
      "--queue-dir <dir>",
      "durable queue: batches are synced here before sending, kept until delivered, retried " +
        "without limit, and sent first by the next push on the same directory",
    )
    .addOption(
      new Option(
        "--queue-max-bytes <size>",
        "largest queue; beyond it the oldest batches are dropped",
      )
        .argParser(parseByteSize).default(1024 ** 3, "1GiB"),
    )
    .addOption(
      new Option(
        "--parse-workers <n>",
        "threads parsing NDJSON once the input passes 8 MiB (0: parse on the main thread)",
      ).argParser(parseNonNegativeInt).default(defaultParseWorkers(), "cores-1, 1 to 4"),
    )
    .addHelpText(
      "after",
      "\nExit: 0 when every sample was delivered (with --queue-dir: delivered or queued); 1 when any\n" +
        "was dropped or a line was bad; 2 usage, or a failure no retry can heal (a blocked port).\n" +
        "With --queue-dir, kill -9 loses at most the batch being filled (--batch-size samples or\n" +
        "--flush-interval of input); SIGINT/SIGTERM end at once and leave the rest queued.\n" +
        "Example:\n  wattwave sample | wattwave push --url http://127.0.0.1:9090/api/v1/write --label host=a",
    )
    .action(async (files, options) => {
      await push(files, options as PushOptions);
    });
}
