/**
 * A plain TCP front for the HTTP server (which listens on a private Unix socket): it owns the
 * accept loop, so that running out of file descriptors pauses accepting (logged once, retried
 * with backoff) instead of ending the server as `Deno.serve` does, and it applies a
 * {@linkcode ConnectionGuard}: a connection cap and read, header and idle timeouts. Bytes pass
 * through unchanged; each direction copies through one reused buffer.
 *
 * @module
 */
import { sleep } from "../sleep.ts";
import type { ConnectionGuard, GuardedConnection } from "./connection_guard.ts";
import { RequestTracker } from "./request_tracker.ts";

/** A running front. */
export interface TcpFront {
  /** The port it listens on. */
  port: number;
  /** Stops accepting; resolves once every connection has ended. */
  close(): Promise<void>;
}

/** Options of {@linkcode startTcpFront}. */
export interface TcpFrontOptions {
  /** Address to listen on. */
  bind: string;
  /** Port (0 picks a free one). */
  port: number;
  /** Unix socket of the HTTP server behind it. */
  upstreamPath: string;
  /** Connection limits to apply. */
  guard: ConnectionGuard;
  /** Log lines (accept failures and recoveries). */
  log?: (line: string) => void;
}

/** Bytes each direction of a connection copies at a time. */
const COPY_BUFFER_BYTES = 32 * 1024;

async function writeAll(to: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await to.write(bytes.subarray(written));
}

/** Copies `from` to `to`, telling `observe` each chunk; resolves at `from`'s end (true) or an error (false). */
async function pump(
  from: Deno.Conn,
  to: Deno.Conn,
  observe: (chunk: Uint8Array) => void,
): Promise<boolean> {
  const buf = new Uint8Array(COPY_BUFFER_BYTES);
  try {
    while (true) {
      const n = await from.read(buf);
      if (n === null) return true;
      const chunk = buf.subarray(0, n);
      observe(chunk);
      await writeAll(to, chunk);
    }
  } catch {
    return false; // either side is gone
  }
}

/** Starts the front; throws (as `Deno.listen` does) when it cannot listen. */
export function startTcpFront(o: TcpFrontOptions): TcpFront {
  const listener = Deno.listen({ hostname: o.bind, port: o.port, transport: "tcp" });
  const log = o.log ?? (() => {});
  const guard = o.guard;
  let closing = false;
  const connections = new Set<Promise<void>>();

  const serveConnection = async (conn: Deno.TcpConn): Promise<void> => {
    let upstream: Deno.UnixConn;
    try {
      upstream = await Deno.connect({ transport: "unix", path: o.upstreamPath });
    } catch {
      guard.unreserve();
      conn.close(); // out of descriptors, or shutting down: the client may retry
      return;
    }
    conn.setNoDelay(true);
    const tracker = new RequestTracker(performance.now());
    let closed = false;
    const guarded: GuardedConnection = {
      tracker,
      close() {
        if (closed) return;
        closed = true;
        for (const c of [conn, upstream]) {
          try {
            c.close();
          } catch { /* closed already */ }
        }
      },
    };
    guard.add(guarded);
    const requests = pump(conn, upstream, (b) => tracker.fromClient(b, performance.now()))
      .then(async (clean) => {
        // The client is done sending: let the server finish its answer, then it closes.
        if (clean && !closed) await upstream.closeWrite().catch(() => {});
        else guarded.close();
      });
    await pump(upstream, conn, () => tracker.fromServer(performance.now()));
    guarded.close();
    guard.remove(guarded);
    await requests;
  };

  const acceptLoop = async () => {
    let backoffMs = 10;
    let failing = false;
    while (!closing) {
      await guard.slot();
      if (closing) break;
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (err) {
        guard.unreserve();
        if (closing || err instanceof Deno.errors.BadResource) break;
        if (!failing) {
          log(
            `cannot accept connections (${(err as Error).message}) with ${guard.open} open: ` +
              `accepting paused and retried until descriptors are free`,
          );
          failing = true;
        }
        await sleep(backoffMs);
        backoffMs = Math.min(1000, backoffMs * 2);
        continue;
      }
      if (failing) {
        log(`accepting connections again (${guard.open} open)`);
        failing = false;
      }
      backoffMs = 10;
      const done: Promise<void> = serveConnection(conn).finally(() => connections.delete(done));
      connections.add(done);
    }
  };
  const accepting = acceptLoop();

  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      if (!closing) {
        closing = true;
        try {
          listener.close();
        } catch { /* closed already */ }
        guard.close();
      }
      await accepting;
      await Promise.all([...connections]);
    },
  };
}
