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

/** Serves `handler` until a shutdown signal or abort; resolves once the server has stopped. */
export async function serveUntilShutdown(
  handler: (req: Request) => Response | Promise<Response>,
  options: ServeOptions,
): Promise<void> {
  const shutdown = options.shutdown ?? new AbortController();
  const server = Deno.serve({
    hostname: options.bind,
    port: options.port,
    signal: shutdown.signal,
    onListen: ({ hostname, port }) => options.onListen(`http://${hostname}:${port}`),
  }, handler);
  const unlisten = onShutdownSignal(() => shutdown.abort());
  try {
    await server.finished;
  } finally {
    unlisten();
  }
}
