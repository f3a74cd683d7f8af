/**
 * A web configuration applied to a server: basic authentication and response headers around
 * its handler, and the file re-read when it changes (checked at most once a second, on
 * requests), without dropping connections. A file that became invalid is logged and the
 * previous configuration kept.
 *
 * @module
 */
import { BasicAuthVerifier } from "./basic_auth.ts";
import { loadWebConfig, type TlsServerConfig, type WebConfig } from "./config.ts";

/** Options of {@linkcode WebConfigWatcher}. */
export interface WebConfigWatcherOptions {
  /** Log lines (reloads, refused reloads). */
  log?: (line: string) => void;
  /** Told about new TLS settings after a reload. */
  onTls?: (tls: TlsServerConfig) => void;
  /** Minimum time between two looks at the file, ms. Default 1000. */
  checkIntervalMs?: number;
}

/** The current web configuration of a server, reloaded when its file changes. */
export class WebConfigWatcher {
  #config: WebConfig;
  #verifier: BasicAuthVerifier;
  #mtimeMs: number;
  #checkedMs = performance.now();
  readonly #o: WebConfigWatcherOptions;

  /** Loads `path` (throws `WebConfigError`, a usage error, when it cannot be used). */
  constructor(readonly path: string, options: WebConfigWatcherOptions = {}) {
    this.#o = options;
    this.#config = loadWebConfig(path);
    this.#verifier = new BasicAuthVerifier(this.#config.users);
    this.#mtimeMs = mtimeOf(path);
  }

  /** The configuration now in force (re-read first when the file changed). */
  get config(): WebConfig {
    this.#maybeReload();
    return this.#config;
  }

  /** The verifier of the configuration now in force. */
  get verifier(): BasicAuthVerifier {
    return this.#verifier;
  }

  #maybeReload(): void {
    const now = performance.now();
    if (now - this.#checkedMs < (this.#o.checkIntervalMs ?? 1000)) return;
    this.#checkedMs = now;
    const mtime = mtimeOf(this.path);
    if (mtime === this.#mtimeMs) return;
    this.#mtimeMs = mtime;
    let next: WebConfig;
    try {
      next = loadWebConfig(this.path);
    } catch (err) {
      this.#o.log?.(`${(err as Error).message}; keeping the previous web config`);
      return;
    }
    if (!!next.tls !== !!this.#config.tls) {
      this.#o.log?.(
        `web config ${this.path}: switching between HTTP and HTTPS needs a restart; keeping the previous web config`,
      );
      return;
    }
    if (
      next.tls && this.#config.tls && next.tls.clientAuthType !== this.#config.tls.clientAuthType
    ) {
      this.#o.log?.(
        `web config ${this.path}: a new client_auth_type takes effect at the next restart`,
      );
    }
    this.#config = next;
    this.#verifier = new BasicAuthVerifier(next.users);
    if (next.tls) this.#o.onTls?.(next.tls);
    this.#o.log?.(`web config ${this.path} reloaded`);
  }
}

function mtimeOf(path: string): number {
  try {
    return Deno.statSync(path).mtime?.getTime() ?? 0;
  } catch {
    return -1;
  }
}

/**
 * Wraps `handler`: with users configured, a request without valid credentials gets 401 with
 * `WWW-Authenticate: Basic` (every path, health included, as Prometheus does); the configured
 * headers are added to every response.
 */
export function applyWebConfig(
  handler: (req: Request) => Response | Promise<Response>,
  watcher: WebConfigWatcher,
): (req: Request) => Promise<Response> {
  return async (req) => {
    const config = watcher.config;
    let res: Response;
    if (
      config.users.size > 0 && !(await watcher.verifier.check(req.headers.get("Authorization")))
    ) {
      await req.body?.cancel().catch(() => {});
      res = new Response("Unauthorized\n", {
        status: 401,
        headers: { "WWW-Authenticate": 'Basic realm="wattwave"', "Content-Type": "text/plain" },
      });
    } else {
      res = await handler(req);
    }
    for (const [k, v] of Object.entries(config.headers)) {
      try {
        res.headers.set(k, v);
      } catch { /* immutable headers: leave them */ }
    }
    return res;
  };
}
