/**
 * HTTP pieces every wattwave server shares: refusals with a status and a one-line reason, bounded
 * body reading, the health routes and one router for POST endpoints. Nothing here knows about
 * remote write or remote read.
 *
 * @module
 */

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

/** Reads a body up to `maxBytes` (413 beyond), without trusting Content-Length. */
export async function readBodyLimited(req: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = req.headers.get("Content-Length");
  if (declared !== null && Number(declared) > maxBytes) {
    throw new HttpRefusal(413, `body of ${declared} bytes is over the limit of ${maxBytes}`);
  }
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
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
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new HttpRefusal(413, `body is over the limit of ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
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

/**
 * Routes health checks and POST endpoints; any other path is 404 (naming where the endpoints
 * are), any other method on an endpoint 405.
 */
export function routePosts(routes: PostRoute[]): (req: Request) => Promise<Response> | Response {
  const where = routes.map((r) => `${r.name} is at ${r.path}`).join(", ");
  return (req) => {
    const url = new URL(req.url);
    const health = healthResponse(url, req);
    if (health) return health;
    const route = routes.find((r) => r.path === url.pathname);
    if (!route) return textResponse(404, `no endpoint at ${url.pathname}; ${where}`);
    if (req.method !== "POST") {
      return textResponse(405, `method ${req.method} not allowed; ${route.name} uses POST`, {
        Allow: "POST",
      });
    }
    return route.handler(req);
  };
}
