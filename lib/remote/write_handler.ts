/**
 * The HTTP side of a remote-write 1.0 receiver: checks method, headers and sizes, decodes the
 * snappy protobuf body, and hands the WriteRequest to a sink. Every bad request gets a status and
 * a one-line reason; nothing a client sends can crash the server.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { snappyDecode, SnappyTooLargeError } from "./snappy.ts";
import {
  type DecodedWriteRequest,
  decodeWriteRequest,
  invalidLabelsReason,
} from "./write_request.ts";

/** What the sink answers: done (204), or busy (503 with Retry-After) when it cannot take more now. */
export type SinkResult = "ok" | "busy";

/** Options of {@linkcode createWriteHandler}. */
export interface WriteHandlerOptions {
  /** Largest request body accepted, bytes. Default 32 MiB. */
  maxBodyBytes?: number;
  /** Largest decoded (decompressed) body accepted, bytes; checked from the snappy header before allocating. Default 64 MiB. */
  maxDecodedBytes?: number;
  /** Receives each valid request; resolves once it is durable or written. */
  sink?: (request: DecodedWriteRequest) => Promise<SinkResult>;
  /**
   * Instead of `sink`: receives the raw (snappy) body and does the decoding itself, e.g. in a
   * worker; throws {@linkcode HttpRefusal} for bodies that cannot be stored.
   */
  bodySink?: (body: Uint8Array) => Promise<SinkResult>;
  /** Called for each refused request with the status and reason (for logs). */
  onRefused?: (status: number, reason: string) => void;
}

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
    const { done, value } = await reader.read();
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

function checkHeaders(req: Request): void {
  const encoding = (req.headers.get("Content-Encoding") ?? "").trim().toLowerCase();
  if (encoding !== "snappy") {
    throw new HttpRefusal(415, `Content-Encoding must be snappy (got "${encoding || "none"}")`);
  }
  const type = (req.headers.get("Content-Type") ?? "").toLowerCase();
  const [mediaType, ...params] = type.split(";").map((s) => s.trim());
  if (mediaType !== "application/x-protobuf") {
    throw new HttpRefusal(
      415,
      `Content-Type must be application/x-protobuf (got "${type || "none"}")`,
    );
  }
  const proto = params.find((p) => p.startsWith("proto="))?.slice(6).replace(/"/g, "");
  if (proto && proto !== "prometheus.writerequest") {
    throw new HttpRefusal(
      415,
      `unsupported remote-write message ${proto}: this receiver speaks remote write 1.0 (prometheus.WriteRequest)`,
    );
  }
}

/**
 * Decompresses, decodes and validates a remote-write body (snappy WriteRequest).
 * Throws {@linkcode HttpRefusal} with the status to answer when it cannot be stored.
 */
export function decodeWriteBody(body: Uint8Array, maxDecodedBytes: number): DecodedWriteRequest {
  let decoded: DecodedWriteRequest;
  try {
    decoded = decodeWriteRequest(snappyDecode(body, maxDecodedBytes));
  } catch (err) {
    if (err instanceof SnappyTooLargeError) throw new HttpRefusal(413, err.message);
    if (err instanceof InputError) throw new HttpRefusal(400, err.message);
    throw err;
  }
  for (const s of decoded.series) {
    const why = invalidLabelsReason(s.labels);
    if (why) throw new HttpRefusal(400, `invalid series: ${why}`);
  }
  return decoded;
}

/** A handler for POSTs of remote-write 1.0 bodies (route and method checks are the caller's). */
export function createWriteHandler(
  options: WriteHandlerOptions,
): (req: Request) => Promise<Response> {
  const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const maxDecodedBytes = options.maxDecodedBytes ?? 64 * 1024 * 1024;
  return async (req) => {
    try {
      checkHeaders(req);
      const body = await readBodyLimited(req, maxBodyBytes);
      const result = options.bodySink
        ? await options.bodySink(body)
        : await options.sink!(decodeWriteBody(body, maxDecodedBytes));
      if (result === "busy") {
        throw new HttpRefusal(503, "output is behind; retry later", { "Retry-After": "1" });
      }
      return new Response(null, { status: 204 });
    } catch (err) {
      if (err instanceof HttpRefusal) {
        options.onRefused?.(err.status, err.message);
        return textResponse(err.status, err.message, err.headers);
      }
      const msg = `internal error: ${(err as Error).message}`;
      options.onRefused?.(500, msg);
      return textResponse(500, msg);
    }
  };
}

/** The answer to `GET /-/healthy` or `/-/ready` (405 for other methods), or undefined for other paths. */
export function healthResponse(url: URL, req: Request): Response | undefined {
  if (url.pathname !== "/-/healthy" && url.pathname !== "/-/ready") return undefined;
  if (req.method !== "GET" && req.method !== "HEAD") {
    return textResponse(405, `method ${req.method} not allowed`, { Allow: "GET, HEAD" });
  }
  return textResponse(200, "OK");
}

/** Routes health checks and the write path; everything else is 404/405. */
export function routeRequests(
  path: string,
  onWrite: (req: Request) => Promise<Response>,
): (req: Request) => Promise<Response> | Response {
  return (req) => {
    const url = new URL(req.url);
    const health = healthResponse(url, req);
    if (health) return health;
    if (url.pathname !== path) {
      return textResponse(404, `no endpoint at ${url.pathname}; remote write goes to ${path}`);
    }
    if (req.method !== "POST") {
      return textResponse(405, `method ${req.method} not allowed; remote write uses POST`, {
        Allow: "POST",
      });
    }
    return onWrite(req);
  };
}
