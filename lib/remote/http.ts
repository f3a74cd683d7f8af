/**
 * HTTP pieces every wattwave server shares: refusals with a status and a one-line reason, bounded
 * body reading, the health routes and one router for POST endpoints. Nothing here knows about
 * remote write or remote read.
 *
 * @module
 */
import {
  type Counter,
  EXPOSITION_CONTENT_TYPE,
  type Histogram,
  type Registry,
} from "../metrics/registry.ts";

/** A plain-text response with a one-line reason. */
export function textResponse(
  status: number,
  text: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(text + "\n", {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", ...headers },
  });
}

/** A request refused with an HTTP status, a one-line reason and optional headers. */
export class HttpRefusal extends Error {
  override name = "HttpRefusal";
  /** A refusal with `status`, a one-line `message`, and response `headers`. */
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The response for an error thrown while handling a request: its status and reason for an
 * {@linkcode HttpRefusal}, else 500 `internal error: ...`. `onRefused` is told either way.
 */
export function refusalResponse(
  err: unknown,
  onRefused?: (status: number, reason: string) => void,
): Response {
  if (err instanceof HttpRefusal) {
    onRefused?.(err.status, err.message);
    return textResponse(err.status, err.message, err.headers);
  }
  const msg = `internal error: ${err instanceof Error ? err.message : String(err)}`;
  onRefused?.(500, msg);
  return textResponse(500, msg);
}

/**
 * Reads a body up to `maxBytes` (413 beyond), without trusting Content-Length, into one buffer:
 * the chunks are copied as they arrive (sized from Content-Length when given, else doubling), so a
 * body costs its own length however the client splits it into TCP writes (each chunk the runtime
 * hands over may sit in a much larger buffer). `onGrow(bytes)` is told each growth of the buffer
 * (admission control); it may throw to refuse the request.
 */
export async function readBodyLimited(
  req: Request,
  maxBytes: number,
  onGrow?: (totalBytes: number) => void,
): Promise<Uint8Array> {
  const declared = req.headers.get("Content-Length");
  const declaredBytes = declared === null ? NaN : Number(declared);
  if (declaredBytes > maxBytes) {
    throw new HttpRefusal(413, `body of ${declared} bytes is over the limit of ${maxBytes}`);
  }
  if (!req.body) return new Uint8Array(0);
  let buf = new Uint8Array(
    Number.isSafeInteger(declaredBytes) && declaredBytes >= 0 ? declaredBytes : 0,
  );
  onGrow?.(buf.length);
  let total = 0;
  const reader = req.body.getReader();
  try {
    while (true) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (err) {
        throw new HttpRefusal(
          400,
          `the client closed the connection before the body ended (${total} bytes read: ${
            (err as Error).message
          })`,
        );
      }
      const { done, value } = next;
      if (done) break;
      if (total + value.length > maxBytes) {
        throw new HttpRefusal(413, `body is over the limit of ${maxBytes} bytes`);
      }
      if (total + value.length > buf.length) {
        const size = Math.min(maxBytes, Math.max(total + value.length, buf.length * 2, 64 * 1024));
        onGrow?.(size);
        const grown = new Uint8Array(size);
        grown.set(buf.subarray(0, total));
        buf = grown;
      }
      buf.set(value, total);
      total += value.length;
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  }
  return total === buf.length ? buf : buf.subarray(0, total);
}

/** The answer to `GET /-/healthy` or `/-/ready` (405 for other methods), or undefined for other paths. */
export function healthResponse(url: URL, req: Request): Response | undefined {
  if (url.pathname !== "/-/healthy" && url.pathname !== "/-/ready") return undefined;
  if (req.method !== "GET" && req.method !== "HEAD") {
    return textResponse(405, `method ${req.method} not allowed`, { Allow: "GET, HEAD" });
  }
  return textResponse(200, "OK");
}

/** One POST endpoint of {@linkcode routePosts}. */
export interface PostRoute {
  /** URL path, e.g. `/api/v1/write`. */
  path: string;
  /** What it is, for the 404 text: `remote write`. */
  name: string;
  /** Answers a POST to `path`. */
  handler: (req: Request) => Promise<Response>;
}

/** What a server tells about itself: self-metrics at `GET /metrics`, and a landing page at `/`. */
export interface RouteOptions {
  /** The registry `GET /metrics` exposes; requests are counted and timed into it. */
  registry?: Registry;
  /** Name on the landing page (`wattwave receive`). */
  title?: string;
}

/** The HTTP metrics of one server: requests by handler and code, their duration and bytes. */
interface HttpMetrics {
  requests: Counter;
  duration: Histogram;
  bodyBytes: Counter;
}

function httpMetrics(registry: Registry): HttpMetrics {
  return {
    requests: registry.counter(
      "wattwave_http_requests_total",
      "HTTP requests answered, by handler (path) and status code.",
      ["handler", "code"],
    ),
    duration: registry.histogram(
      "wattwave_http_request_duration_seconds",
      "Time from a request's arrival to its response's headers, by handler.",
      ["handler"],
    ),
    bodyBytes: registry.counter(
      "wattwave_http_request_body_bytes_total",
      "Request body bytes received (from Content-Length), by handler.",
      ["handler"],
    ),
  };
}

function landingPage(title: string, routes: PostRoute[]): Response {
  const esc = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const items = routes.map((r) => `<li>POST <code>${esc(r.path)}</code>: ${esc(r.name)}</li>`);
  const html =
    `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head>` +
    `<body><h1>${esc(title)}</h1><ul>${items.join("")}` +
    `<li><a href="/metrics">/metrics</a>: self-metrics</li>` +
    `<li><a href="/-/healthy">/-/healthy</a>, <a href="/-/ready">/-/ready</a></li></ul></body></html>`;
  return new Response(html, { headers: { "Content-Type": "text/html; charset=utf-8" } });
}

/**
 * Routes health checks, `/metrics`, the landing page and POST endpoints; any other path is 404
 * (naming where the endpoints are), any other method on an endpoint 405. With a registry every
 * request is counted by handler and code and timed.
 */
export function routePosts(
  routes: PostRoute[],
  options: RouteOptions = {},
): (req: Request) => Promise<Response> | Response {
  const where = routes.map((r) => `${r.name} is at ${r.path}`).join(", ");
  const registry = options.registry;
  const metrics = registry ? httpMetrics(registry) : undefined;
  const title = options.title ?? "wattwave";
  const route = (req: Request, url: URL): Promise<Response> | Response => {
    const health = healthResponse(url, req);
    if (health) return health;
    if (url.pathname === "/metrics" && registry) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        return textResponse(405, `method ${req.method} not allowed`, { Allow: "GET, HEAD" });
      }
      return registry.exposition().then((text) =>
        new Response(text, { headers: { "Content-Type": EXPOSITION_CONTENT_TYPE } })
      );
    }
    if (url.pathname === "/" && (req.method === "GET" || req.method === "HEAD")) {
      return landingPage(title, routes);
    }
    const r = routes.find((r) => r.path === url.pathname);
    if (!r) return textResponse(404, `no endpoint at ${url.pathname}; ${where}`);
    if (req.method !== "POST") {
      return textResponse(405, `method ${req.method} not allowed; ${r.name} uses POST`, {
        Allow: "POST",
      });
    }
    return r.handler(req);
  };
  if (!metrics) return (req) => route(req, new URL(req.url));
  const known = new Set(["/", "/metrics", "/-/healthy", "/-/ready", ...routes.map((r) => r.path)]);
  return async (req) => {
    const t0 = performance.now();
    const url = new URL(req.url);
    const handler = known.has(url.pathname) ? url.pathname : "other";
    const length = Number(req.headers.get("Content-Length") ?? 0);
    if (length > 0) metrics.bodyBytes.inc([handler], length);
    const res = await route(req, url);
    metrics.requests.inc([handler, String(res.status)]);
    metrics.duration.observe([handler], (performance.now() - t0) / 1000);
    return res;
  };
}
