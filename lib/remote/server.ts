/**
 * Starting and stopping an HTTP server the way `receive` and `serve-read` do: bound to one
 * address, stopped by SIGINT/SIGTERM (or an abort), resolving once every connection is done.
 *
 * @module
 */
import { onShutdownSignal } from "../cli/signals.ts";
import { applyWebConfig, WebConfigWatcher } from "../web/apply.ts";
import { startTlsFront, type TlsFront } from "../web/tls_front.ts";
import { startTcpFront, type TcpFront } from "../web/tcp_front.ts";
import { ConnectionGuard, type ConnectionLimits } from "../web/connection_guard.ts";
import {
  connectionsAllowedBy,
  DESCRIPTORS_PER_CONNECTION,
  openFileLimit,
  RESERVED_DESCRIPTORS,
} from "../web/fd_limit.ts";

/** Options of {@linkcode serveUntilShutdown}. */
export interface ServeOptions {
  /** Address to listen on. */
  bind: string;
  /** Port (0 picks a free one). */
  port: number;
  /** Told the base URL (`http://host:port`) once listening. */
  onListen: (baseUrl: string) => void;
  /** Aborting it stops the server too (e.g. when the output is gone). */
  shutdown?: AbortController;
  /**
   * A web configuration file (`--web.config.file`: TLS, client certificates, basic auth,
   * headers), re-read when it changes. Default none: plain HTTP, no authentication.
   */
  webConfigFile?: string;
  /** Log lines (web config reloads, refused TLS handshakes). Default stderr. */
  log?: (line: string) => void;
  /**
   * Connection cap and timeouts (see `lib/web/connection_guard.ts`); missing fields take their
   * defaults. The cap is lowered to what the open-file limit allows, with a log line.
   */
  connections?: Partial<ConnectionLimits>;
  /** Told the guard once it exists (self-metrics read its counts). */
  onGuard?: (guard: ConnectionGuard) => void;
}

/** The guard of a server: the limits asked for, the cap lowered to what `ulimit -n` allows. */
async function makeGuard(
  limits: Partial<ConnectionLimits> | undefined,
  log: (line: string) => void,
): Promise<ConnectionGuard> {
  const guard = new ConnectionGuard(limits);
  const fileLimit = await openFileLimit();
  if (fileLimit !== undefined) {
    const allowed = connectionsAllowedBy(fileLimit);
    if (allowed < guard.limits.maxConnections) {
      log(
        `--web.max-connections ${guard.limits.maxConnections} needs about ` +
          `${guard.limits.maxConnections * DESCRIPTORS_PER_CONNECTION + RESERVED_DESCRIPTORS} ` +
          `open files and the limit is ${fileLimit} (ulimit -n): at most ${allowed} connections`,
      );
      guard.limits.maxConnections = allowed;
    }
  }
  let lastLogMs = -Infinity;
  guard.onTimeout = (kind) => {
    const now = performance.now();
    if (now - lastLogMs < 60_000) return;
    lastLogMs = now;
    log(
      `closing connections past the ${kind} timeout (counted in wattwave_http_connection_timeouts_total; ` +
        `logged once a minute)`,
    );
  };
  return guard;
}

/** Turns a failure to listen into one line naming the address and what to do. */
function listenError(err: unknown, bind: string, port: number): unknown {
  if (err instanceof Deno.errors.NotCapable) return err;
  const address = bind.includes(":") ? `[${bind}]:${port}` : `${bind}:${port}`;
  const code = (err as { code?: string }).code; // node:net's errors (the TLS front)
  if (err instanceof Deno.errors.AddrInUse || code === "EADDRINUSE") {
    return new Error(
      `cannot listen on ${address}: the address is already in use (another server is there; ` +
        `choose another port with --port)`,
    );
  }
  if (err instanceof Deno.errors.AddrNotAvailable || code === "EADDRNOTAVAIL") {
    return new Error(`cannot listen on ${address}: no such address on this machine (--bind)`);
  }
  if (err instanceof Deno.errors.PermissionDenied || code === "EACCES") {
    return new Error(
      `cannot listen on ${address}: permission denied (ports below 1024 need root)`,
    );
  }
  return new Error(`cannot listen on ${address}: ${(err as Error).message}`);
}

/**
 * Serves `handler` until a shutdown signal or abort; resolves once the server has stopped. With
 * a web config, requests are authenticated and get its headers; with its TLS settings, a TLS
 * front on the address (see `lib/web/tls_front.ts`) passes connections to the HTTP server on a
 * private Unix socket.
 */
export async function serveUntilShutdown(
  handler: (req: Request) => Response | Promise<Response>,
  options: ServeOptions,
): Promise<void> {
  const shutdown = options.shutdown ?? new AbortController();
  const log = options.log ?? ((line: string) => console.error(`wattwave: ${line}`));
  let tlsFront: TlsFront | undefined;
  let watcher: WebConfigWatcher | undefined;
  if (options.webConfigFile !== undefined) {
    watcher = new WebConfigWatcher(options.webConfigFile, {
      log,
      onTls: (tls) => tlsFront?.update(tls),
    });
    handler = applyWebConfig(handler, watcher);
  }
  const tls = watcher?.config.tls;
  const guard = await makeGuard(options.connections, log);
  options.onGuard?.(guard);
  // The HTTP server listens on a private Unix socket; a front on the address owns accepting,
  // connection limits and timeouts (and TLS when configured).
  const socketDir = await Deno.makeTempDir({ prefix: "wattwave-http-" });
  const path = `${socketDir}/http.sock`;
  const server = Deno.serve({ path, signal: shutdown.signal, onListen: () => {} }, handler);
  let front: TlsFront | TcpFront;
  try {
    front = tls
      ? await startTlsFront(tls, {
        bind: options.bind,
        port: options.port,
        upstreamPath: path,
        guard,
        log,
      })
      : startTcpFront({ bind: options.bind, port: options.port, upstreamPath: path, guard, log });
  } catch (err) {
    shutdown.abort();
    await server.finished;
    await Deno.remove(socketDir, { recursive: true }).catch(() => {});
    throw listenError(err, options.bind, options.port);
  }
  if (tls) tlsFront = front as TlsFront;
  const host = options.bind.includes(":") ? `[${options.bind}]` : options.bind;
  options.onListen(`${tls ? "https" : "http"}://${host}:${front.port}`);
  const closeFront = () => void front.close();
  shutdown.signal.addEventListener("abort", closeFront, { once: true });
  const unlisten = onShutdownSignal(() => shutdown.abort());
  try {
    await server.finished;
    await front.close();
  } finally {
    unlisten();
    shutdown.signal.removeEventListener("abort", closeFront);
    await Deno.remove(socketDir, { recursive: true }).catch(() => {});
  }
}

/** A server started by {@linkcode startServer}. */
export interface RunningServer {
  /** Base URL (`http://host:port`). */
  baseUrl: string;
  /** Stops accepting, finishes requests in flight, resolves once stopped. */
  stop(): Promise<void>;
}

/**
 * Starts serving `handler` beside other work (as `sample --web.listen-address` does) and resolves
 * once it listens; throws, naming the address, when it cannot. A shutdown signal stops it too.
 */
export async function startServer(
  handler: (req: Request) => Response | Promise<Response>,
  options: Omit<ServeOptions, "shutdown" | "onListen">,
): Promise<RunningServer> {
  const shutdown = new AbortController();
  const listening = Promise.withResolvers<string>();
  const served = serveUntilShutdown(handler, {
    ...options,
    shutdown,
    onListen: (base) => listening.resolve(base),
  });
  served.catch((err) => listening.reject(err));
  const baseUrl = await listening.promise;
  return {
    baseUrl,
    async stop() {
      shutdown.abort();
      await served;
    },
  };
}
