/**
 * Starting and stopping an HTTP server the way `receive` and `serve-read` do: bound to one
 * address, stopped by SIGINT/SIGTERM (or an abort), resolving once every connection is done.
 *
 * @module
 */
import { onShutdownSignal } from "../cli/signals.ts";

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
}

/** Turns a failure to listen into one line naming the address and what to do. */
function listenError(err: unknown, bind: string, port: number): unknown {
  if (err instanceof Deno.errors.NotCapable) return err;
  const address = bind.includes(":") ? `[${bind}]:${port}` : `${bind}:${port}`;
  if (err instanceof Deno.errors.AddrInUse) {
    return new Error(
      `cannot listen on ${address}: the address is already in use (another server is there; ` +
        `choose another port with --port)`,
    );
  }
  if (err instanceof Deno.errors.AddrNotAvailable) {
    return new Error(`cannot listen on ${address}: no such address on this machine (--bind)`);
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new Error(
      `cannot listen on ${address}: permission denied (ports below 1024 need root)`,
    );
  }
  return new Error(`cannot listen on ${address}: ${(err as Error).message}`);
}

/** Serves `handler` until a shutdown signal or abort; resolves once the server has stopped. */
export async function serveUntilShutdown(
  handler: (req: Request) => Response | Promise<Response>,
  options: ServeOptions,
): Promise<void> {
  const shutdown = options.shutdown ?? new AbortController();
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: options.bind,
      port: options.port,
      signal: shutdown.signal,
      onListen: ({ hostname, port }) =>
        options.onListen(`http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`),
    }, handler);
  } catch (err) {
    throw listenError(err, options.bind, options.port);
  }
  const unlisten = onShutdownSignal(() => shutdown.abort());
  try {
    await server.finished;
  } finally {
    unlisten();
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
