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
  parseDurationMs,
  parseNonNegativeInt,
  parsePositiveInt,
} from "../lib/cli/parse.ts";
import { openSources, type ReadStats } from "../lib/ndjson/reader.ts";
import { readNdjsonColumns } from "../lib/ndjson/column_reader.ts";
import { defaultParseWorkers } from "../lib/workers/counts.ts";
import { PROTOCOL_HEADERS, RemoteWriteClient } from "../lib/remote/push/write_client.ts";
import { RemoteWriteBatcher } from "../lib/remote/push/write_batcher.ts";
import { onShutdownSignal } from "../lib/cli/signals.ts";

/** Options of `wattwave push` as parsed. */
interface PushOptions {
  url?: string;
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
  const url = checkUrl(o.url);
  const headers = await requestHeaders(o);
  const started = performance.now();
  const shutdown = new AbortController();
  const client = new RemoteWriteClient(url, {
    headers,
    timeoutMs: o.timeout,
    maxRetries: o.maxRetries,
    signal: shutdown.signal,
    onRetry: (err, waitMs, attempt) =>
      console.error(`wattwave push: ${err.message}; retry ${attempt} in ${Math.round(waitMs)} ms`),
  });
  const batcher = new RemoteWriteBatcher(client, {
    batchSize: o.batchSize,
    flushIntervalMs: o.flushInterval,
    extraLabels: o.label,
    onDropped: (err, samples) =>
      console.error(`wattwave push: dropped ${samples} samples: ${(err as Error).message}`),
  });
  const readStats: ReadStats = { lines: 0, badLines: 0, bytes: 0 };
  const sources = await openSources(files);
  // A signal ends the reading (what was read is still sent), then the flush gets a grace period.
  const stopReading = new AbortController();
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const unlisten = onShutdownSignal(() => {
    stopReading.abort();
    // Flush what is buffered, but do not wait out every retry against a dead endpoint.
    graceTimer = setTimeout(() => shutdown.abort(), o.shutdownGrace);
  });
  try {
    await readNdjsonColumns(sources, readStats, (cols) => batcher.addColumns(cols), {
      strict: o.strict,
      workers: o.parseWorkers,
      signal: stopReading.signal,
    });
  } finally {
    // EOF, a signal or an error: flush what is buffered and wait for in-flight requests.
    await batcher.close();
    clearTimeout(graceTimer);
    unlisten();
  }
  const s = batcher.stats;
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  console.error(
    `wattwave push: read ${s.samplesIn} samples (${readStats.badLines} bad lines), sent ${s.samplesSent}, ` +
      `retried ${s.retries}, dropped ${s.samplesDropped}, ${s.requests} requests, ${seconds} s`,
  );
  if (s.samplesDropped > 0 || readStats.badLines > 0) {
    throw new IncompleteRunError(
      `push incomplete: ${s.samplesDropped} samples dropped, ${readStats.badLines} bad lines skipped`,
    );
  }
}

/** The `push` subcommand. */
export function pushCommand(): CommandUnknownOpts {
  return new Command("push")
    .description("Send NDJSON samples (stdin or files) to a Prometheus remote-write endpoint")
    .argument("[files...]", "NDJSON files to read (default: stdin; - is stdin)")
    .addOption(new Option("--url <url>", "remote-write endpoint URL").env("REMOTE_WRITE_URL"))
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
      new Option("--shutdown-grace <duration>", "after SIGINT/SIGTERM, how long retries may go on")
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
    .option("--strict", "stop at the first bad NDJSON line instead of skipping it")
    .addOption(
      new Option(
        "--parse-workers <n>",
        "threads parsing NDJSON once the input passes 8 MiB (0: parse on the main thread)",
      ).argParser(parseNonNegativeInt).default(defaultParseWorkers(), "cores - 1, 1 to 4"),
    )
    .addHelpText(
      "after",
      "\nExit: 0 when every sample was delivered; 1 when any was dropped or a line was bad; 2 usage.\n" +
        "Example:\n  wattwave sample | wattwave push --url http://127.0.0.1:9090/api/v1/write --label host=a",
    )
    .action(async (files, options) => {
      await push(files, options as PushOptions);
    });
}
