/**
 * TLS in front of a plain HTTP server: a `node:tls` server on the public address terminates TLS
 * (with client certificates when asked: Deno.serve cannot verify them) and pipes each connection
 * to the HTTP server on a Unix socket. Its certificates can be replaced while it runs (new
 * connections get the new ones; open connections are not dropped).
 *
 * @module
 */
import tls from "node:tls";
import net from "node:net";
import type { TlsServerConfig } from "./config.ts";
import type { ConnectionGuard, GuardedConnection } from "./connection_guard.ts";
import { RequestTracker } from "./request_tracker.ts";

/** A running TLS front. */
export interface TlsFront {
  /** The port it listens on. */
  port: number;
  /** The host name it listens on. */
  hostname: string;
  /** Uses `config` for new connections. */
  update(config: TlsServerConfig): void;
  /** Stops accepting; resolves once every connection has ended. */
  close(): Promise<void>;
}

/** Options of {@linkcode startTlsFront}. */
export interface TlsFrontOptions {
  /** Address to listen on. */
  bind: string;
  /** Port (0 picks a free one). */
  port: number;
  /** Unix socket of the plain HTTP server behind it. */
  upstreamPath: string;
  /** Told about connections refused in the handshake (at most one line a second). */
  log?: (line: string) => void;
  /** Connection cap and timeouts (beyond the cap, new connections are closed at once). */
  guard?: ConnectionGuard;
}

function secureOptions(c: TlsServerConfig): tls.SecureContextOptions & tls.TlsOptions {
  const asks = c.clientAuthType !== "NoClientCert";
  return {
    cert: c.cert,
    key: c.key,
    ca: c.clientCa,
    minVersion: c.minVersion,
    maxVersion: c.maxVersion,
    requestCert: asks,
    rejectUnauthorized: c.clientAuthType === "RequireAndVerifyClientCert",
  };
}

/** Whether a connection's client certificate satisfies `type` (after the handshake). */
function clientCertAllowed(
  socket: tls.TLSSocket,
  type: TlsServerConfig["clientAuthType"],
): boolean {
  if (type === "NoClientCert" || type === "RequestClientCert") return true;
  const cert = socket.getPeerCertificate();
  const given = cert !== null && typeof cert === "object" && Object.keys(cert).length > 0;
  if (type === "RequireAnyClientCert") return given;
  if (type === "VerifyClientCertIfGiven") return !given || socket.authorized;
  return given && socket.authorized; // RequireAndVerifyClientCert (also enforced in the handshake)
}

/** Starts the TLS front; resolves once it listens. */
export function startTlsFront(config: TlsServerConfig, o: TlsFrontOptions): Promise<TlsFront> {
  let current = config;
  let lastLogMs = -Infinity;
  const log = (line: string) => {
    const now = performance.now();
    if (o.log && now - lastLogMs >= 1000) {
      lastLogMs = now;
      o.log(line);
    }
  };
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(secureOptions(config), (socket) => {
    if (!clientCertAllowed(socket, current.clientAuthType)) {
      log(`TLS connection refused: no valid client certificate (${current.clientAuthType})`);
      socket.destroy();
      return;
    }
    const guard = o.guard;
    if (guard && guard.open + guard.pendingCount >= guard.limits.maxConnections) {
      log(`connection refused: ${guard.open} open (--web.max-connections)`);
      socket.destroy();
      return;
    }
    const upstream = net.connect(o.upstreamPath);
    sockets.add(socket);
    const tracker = new RequestTracker(performance.now());
    const guarded: GuardedConnection = { tracker, close: () => end() };
    const end = () => {
      sockets.delete(socket);
      socket.destroy();
      upstream.destroy();
      guard?.remove(guarded);
    };
    guard?.add(guarded);
    socket.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    if (guard) {
      socket.on("data", (chunk: Uint8Array) => tracker.fromClient(chunk, performance.now()));
      upstream.on("data", () => tracker.fromServer(performance.now()));
    }
    socket.pipe(upstream);
    upstream.pipe(socket);
  });
  server.on("tlsClientError", (err: Error) => log(`TLS handshake failed: ${err.message}`));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.bind, () => {
      server.off("error", reject);
      const address = server.address() as net.AddressInfo;
      resolve({
        port: address.port,
        hostname: o.bind,
        update(next) {
          current = next;
          server.setSecureContext(secureOptions(next));
        },
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Connections end when the HTTP server behind them closes its side.
            if (sockets.size === 0) return;
          }),
      });
    });
  });
}
