/**
 * The HTTP side of a remote-write 1.0 receiver: checks method, headers and sizes, decodes the
 * snappy protobuf body, and hands the WriteRequest to a sink. Every bad request gets a status and
 * a one-line reason; nothing a client sends can crash the server.
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import { HttpRefusal, readBodyLimited, refusalResponse } from "../http.ts";
import { snappyDecode, SnappyTooLargeError } from "../codec/snappy.ts";
import {
  type DecodedWriteRequest,
  decodeWriteRequest,
  invalidLabelsReason,
} from "../codec/write_request.ts";

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
      // A sink that finds the request cannot be written (InputError) refuses it as malformed.
      if (err instanceof InputError) {
        return refusalResponse(new HttpRefusal(400, err.message), options.onRefused);
      }
      return refusalResponse(err, options.onRefused);
    }
  };
}
