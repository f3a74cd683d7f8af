/**
 * The options every wattwave server (`receive`, `serve-read`, `sample --web.listen-address`)
 * takes the same way: where it listens and how large a request body may be.
 *
 * @module
 */
import { InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { UsageError } from "../errors.ts";
import { parseByteSize, parseDurationMs, parsePort, parsePositiveInt } from "./parse.ts";
import { DEFAULT_WRITE_LIMITS, type WriteLimits } from "../remote/receive/write_limits.ts";

/** Default port of `receive` (what remote-storage adapters of the Prometheus family use). */
export const RECEIVE_DEFAULT_PORT = 9201;
/** Default port of `serve-read`, so that it runs beside `receive`. */
export const SERVE_READ_DEFAULT_PORT = 9202;
/** Address every server binds by default: loopback, never the network unless asked. */
export const DEFAULT_BIND = "127.0.0.1";

/** Where a server listens. */
export interface ListenAddress {
  /** Host name or IP address (IPv6 without brackets); `0.0.0.0` for every interface. */
  bind: string;
  /** TCP port (0 picks a free one). */
  port: number;
}

/**
 * Parses `--web.listen-address` as the Prometheus family writes it: `host:port`, `:port` (every
 * interface), `[::1]:port` (IPv6).
 */
export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([0-9A-Fa-f:.%a-z]+)\]|([^:[\]\s]*)):(\d+)$/.exec(text.trim());
  if (!m) {
    throw new InvalidArgumentError(
      `expected host:port, :port or [ipv6]:port, e.g. 127.0.0.1:9201 (got "${text}")`,
    );
  }
  const host = m[1] ?? m[2];
  return { bind: host === "" ? "0.0.0.0" : host, port: parsePort(m[3]) };
}

/** Formats an address as `host:port` (IPv6 in brackets). */
export function formatListenAddress(a: ListenAddress): string {
  return a.bind.includes(":") ? `[${a.bind}]:${a.port}` : `${a.bind}:${a.port}`;
}

/** `--web.listen-address <host:port>`, the Prometheus family's spelling. */
export function listenAddressOption(defaultPort: number) {
  return new Option(
    "--web.listen-address <host:port>",
    "address to listen on: host:port, :port (every interface) or [::1]:port",
  ).argParser(parseListenAddress).default(undefined, `${DEFAULT_BIND}:${defaultPort}`);
}

/** `--web.config.file <file>`: TLS, client certificates, basic auth and headers (exporter-toolkit's format). */
export function webConfigFileOption() {
  return new Option(
    "--web.config.file <file>",
    "TLS, client certificates, basic auth and headers, in the Prometheus exporter-toolkit format; re-read when it changes",
  );
}

/** `--bind <address>`, an alias for the host of `--web.listen-address`. */
export function bindOption() {
  return new Option(
    "--bind <address>",
    "address to listen on (alias: host of --web.listen-address)",
  )
    .default(undefined, DEFAULT_BIND);
}

/** `--port <port>` (0 picks a free one), an alias for the port of `--web.listen-address`. */
export function portOption(defaultPort: number) {
  return new Option(
    "--port <port>",
    "port to listen on, 0 picks a free one (alias: port of --web.listen-address)",
  )
    .argParser(parsePort).default(undefined, String(defaultPort));
}

/** The listen options as parsed by commander. */
export interface ListenOptions {
  bind?: string;
  port?: number;
  "web.listenAddress"?: ListenAddress;
}

/** Where to listen: `--web.listen-address`, else `--bind`/`--port`, else the defaults. */
export function resolveListenAddress(o: ListenOptions, defaultPort: number): ListenAddress {
  const address = o["web.listenAddress"];
  if (address !== undefined) {
    if (o.bind !== undefined || o.port !== undefined) {
      throw new UsageError(
        "--web.listen-address replaces --bind and --port: give one or the other",
      );
    }
    return address;
  }
  return { bind: o.bind ?? DEFAULT_BIND, port: o.port ?? defaultPort };
}

/** `--max-body-bytes <size>`, default 32 MiB. */
export function maxBodyBytesOption() {
  return new Option("--max-body-bytes <size>", "largest request body (413 beyond)")
    .argParser(parseByteSize).default(32 * 1024 * 1024, "32MiB");
}

/** `--max-decoded-bytes <size>`, default 64 MiB. */
export function maxDecodedBytesOption() {
  return new Option(
    "--max-decoded-bytes <size>",
    "largest decompressed body, checked before allocating (413 beyond)",
  ).argParser(parseByteSize).default(64 * 1024 * 1024, "64MiB");
}

/** The write-limit options as parsed by commander (see {@linkcode writeLimitOptions}). */
export type WriteLimitFlags = WriteLimits & { maxInflightBytes: number };

/**
 * The options that bound what remote-write requests may hold and how much of them is in flight
 * (defaults from `lib/remote/receive/write_limits.ts`); `--max-decoded-bytes` among them.
 */
export function writeLimitOptions(): Option[] {
  const d = DEFAULT_WRITE_LIMITS;
  const count = (flag: string, what: string, def: number) =>
    new Option(`${flag} <n>`, `${what} (400 beyond)`).argParser(parsePositiveInt)
      .default(def, String(def));
  return [
    maxDecodedBytesOption(),
    count("--max-series-per-request", "series in one write request", d.maxSeriesPerRequest),
    count(
      "--max-labels-per-series",
      "labels of one series, __name__ included",
      d.maxLabelsPerSeries,
    ),
    count("--max-label-name-bytes", "length of a label name", d.maxLabelNameBytes),
    count("--max-label-value-bytes", "length of a label value", d.maxLabelValueBytes),
    count("--max-help-bytes", "length of a metadata help text", d.maxHelpBytes),
    new Option(
      "--max-inflight-bytes <size>",
      "write requests in flight, counted as body + 8 x decoded size (24 x into a store); new " +
        "ones get 503 + Retry-After beyond (one alone is always let in)",
    ).argParser(parseByteSize).default(512 * 1024 * 1024, "512MiB"),
  ];
}

/** The {@linkcode WriteLimitFlags} of parsed options, as `createWriteHandler` takes them. */
export function writeLimitsOf(o: WriteLimitFlags) {
  return {
    maxDecodedBytes: o.maxDecodedBytes,
    maxSeriesPerRequest: o.maxSeriesPerRequest,
    maxLabelsPerSeries: o.maxLabelsPerSeries,
    maxLabelNameBytes: o.maxLabelNameBytes,
    maxLabelValueBytes: o.maxLabelValueBytes,
    maxHelpBytes: o.maxHelpBytes,
  };
}

/** The connection options as parsed by commander (see {@linkcode connectionOptions}). */
export interface ConnectionFlags {
  "web.maxConnections": number;
  "web.readHeaderTimeout": number;
  "web.readTimeout": number;
  "web.idleTimeout": number;
}

/** `--web.max-connections`, `--web.read-header-timeout`, `--web.read-timeout`, `--web.idle-timeout`. */
export function connectionOptions(): Option[] {
  return [
    new Option(
      "--web.max-connections <n>",
      "client connections at once; beyond, accepting waits (lowered to what ulimit -n allows)",
    ).argParser(parsePositiveInt).default(512, "512"),
    new Option(
      "--web.read-header-timeout <duration>",
      "a request's headers must arrive within this of its first byte, else the connection closes",
    ).argParser(parseDurationMs).default(60_000, "1m"),
    new Option(
      "--web.read-timeout <duration>",
      "a whole request (headers and body) must arrive within this of its first byte",
    ).argParser(parseDurationMs).default(5 * 60_000, "5m"),
    new Option(
      "--web.idle-timeout <duration>",
      "a keep-alive connection with no request in progress closes after this",
    ).argParser(parseDurationMs).default(5 * 60_000, "5m"),
  ];
}

/** The {@linkcode ConnectionFlags} of parsed options, as `serveUntilShutdown` takes them. */
export function connectionLimitsOf(o: ConnectionFlags) {
  return {
    maxConnections: o["web.maxConnections"],
    readHeaderTimeoutMs: o["web.readHeaderTimeout"],
    readTimeoutMs: o["web.readTimeout"],
    idleTimeoutMs: o["web.idleTimeout"],
  };
}
