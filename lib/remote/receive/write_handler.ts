/**
 * The HTTP side of a remote-write receiver (1.0 and 2.0, chosen by Content-Type): checks method, headers and sizes, decodes the
 * snappy protobuf body, and hands the WriteRequest to a sink. Every bad request gets a status and
 * a one-line reason; nothing a client sends can crash the server.
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import { HttpRefusal, readBodyLimited, refusalResponse } from "../http.ts";
import { snappyDecode, snappyDecodedLength, SnappyTooLargeError } from "../codec/snappy.ts";
import {
  type DecodedWriteRequest,
  decodeWriteRequest,
  decodeWriteRequestPaced,
  decodeWriteRequestSteps,
  emptyDecodedRequest,
  invalidLabelsReason,
  TooManySeriesError,
  type WireSeries,
} from "../codec/write_request.ts";
import type { InflightBudget } from "./inflight_budget.ts";
import {
  decodeWriteRequestV2,
  decodeWriteRequestV2Paced,
  decodeWriteRequestV2Steps,
} from "../codec/write_request_v2.ts";
import type { MetricMetadata } from "../../model/sample.ts";
import { histogramProblem } from "../../model/histogram.ts";
import { seriesText } from "../../model/labels.ts";
import {
  helpLimitReason,
  labelLimitReason,
  seriesCountReason,
  type WriteLimits,
  writeLimits,
} from "./write_limits.ts";

/** What a request put where it goes (the `X-Prometheus-Remote-Write-*-Written` headers). */
export interface WrittenCounts {
  /** Float samples written. */
  samples: number;
  /** Native histogram samples written. */
  histograms: number;
  /** Exemplars written. */
  exemplars: number;
}

/**
 * What the sink answers: done (204; "ok" means everything the request held), done with these
 * counts, or busy (503 with Retry-After) when it cannot take more now.
 */
export type SinkResult = "ok" | "busy" | WrittenCounts;

/** The remote write 2.0 `X-Prometheus-Remote-Write-*-Written` headers of `w`. */
export function writtenHeaders(w: WrittenCounts): Record<string, string> {
  return {
    "X-Prometheus-Remote-Write-Samples-Written": String(w.samples),
    "X-Prometheus-Remote-Write-Histograms-Written": String(w.histograms),
    "X-Prometheus-Remote-Write-Exemplars-Written": String(w.exemplars),
  };
}

const NOTHING_WRITTEN = writtenHeaders({ samples: 0, histograms: 0, exemplars: 0 });

/** Options of {@linkcode createWriteHandler}. */
export interface WriteHandlerOptions {
  /** Largest request body accepted, bytes. Default 32 MiB. */
  maxBodyBytes?: number;
  /** What one request may hold (see `write_limits.ts`); missing fields take their defaults. */
  limits?: Partial<WriteLimits>;
  /**
   * Bytes of requests in flight (body, plus {@linkcode DECODED_COST_FACTOR} per decoded byte)
   * beyond which new ones get 503 + Retry-After; shared by every handler given the same budget.
   * Default none (unbounded).
   */
  inflight?: InflightBudget;
  /** Receives each valid request; resolves once it is durable or written. */
  sink?: (request: DecodedWriteRequest) => Promise<SinkResult>;
  /**
   * Instead of `sink`: receives the raw (snappy) body and does the decoding itself, e.g. in a
   * worker; throws {@linkcode HttpRefusal} for bodies that cannot be stored.
   */
  bodySink?: (body: Uint8Array, version: WriteVersion) => Promise<SinkResult>;
  /**
   * Bytes held per decoded byte of a request (see {@linkcode DECODED_COST_FACTOR}). Default
   * {@linkcode DECODED_COST_FACTOR}; stores pass {@linkcode STORE_DECODED_COST_FACTOR}.
   */
  decodedCostFactor?: number;
  /** Called for each refused request with the status and reason (for logs). */
  onRefused?: (status: number, reason: string) => void;
}

/**
 * Memory a request holds per byte of its decoded body while it is decoded and written: the
 * decoded bytes, and the series objects made of them (labels as strings, samples as arrays).
 * Measured on requests of 1 sample per series (the worst case, many objects per byte).
 */
export const DECODED_COST_FACTOR = 8;

/**
 * The same for a request written into a store (`receive --store`, `serve-read --write-path`):
 * its series are decoded twice, batch by batch (see {@linkcode decodeWriteBodyBatched}), but
 * until its commit ends they also live as runs, ranges, a journal record and new index entries.
 * Measured: 1,000,000 new one-sample series (50 MiB decoded) took 714 MiB beyond the server's
 * idle RSS and the 438 MiB of index they added (`bench/million_series.ts`): 14 per decoded byte,
 * counted as 24 for the allocator's and the collector's slack.
 */
export const STORE_DECODED_COST_FACTOR = 24;

/** Remote write 1.0 (`prometheus.WriteRequest`) or 2.0 (`io.prometheus.write.v2.Request`). */
export type WriteVersion = 1 | 2;

/** Checks the headers; returns which message the body holds (by Content-Type's `proto`). */
function checkHeaders(req: Request): WriteVersion {
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
  if (!proto || proto === "prometheus.writerequest") return 1;
  if (proto === "io.prometheus.write.v2.request") return 2;
  throw new HttpRefusal(
    415,
    `unsupported remote-write message ${proto}: this receiver speaks prometheus.WriteRequest ` +
      `(remote write 1.0) and io.prometheus.write.v2.Request (2.0)`,
  );
}

function snappyBody(body: Uint8Array, limits: WriteLimits): Uint8Array {
  try {
    return snappyDecode(body, limits.maxDecodedBytes);
  } catch (err) {
    if (err instanceof SnappyTooLargeError) throw new HttpRefusal(413, err.message);
    if (err instanceof InputError) throw new HttpRefusal(400, err.message);
    throw err;
  }
}

function decodeRefusal(err: unknown, limits: WriteLimits): unknown {
  if (err instanceof TooManySeriesError) {
    return new HttpRefusal(400, seriesCountReason(err.maxSeries + 1, limits)!);
  }
  if (err instanceof InputError) return new HttpRefusal(400, err.message);
  return err;
}

/** Checks decoded series against Prometheus' rules and `limits`. */
function validateSeries(series: readonly WireSeries[], limits: WriteLimits): void {
  for (const s of series) {
    const why = labelLimitReason(s.labels, limits) ?? invalidLabelsReason(s.labels);
    if (why) throw new HttpRefusal(400, `invalid series: ${why}`);
    if (s.histograms) {
      for (const h of s.histograms) {
        const problem = histogramProblem(h);
        if (problem) {
          throw new HttpRefusal(
            400,
            `invalid native histogram of ${seriesText(s.labels)}: ${problem}`,
          );
        }
      }
    }
  }
}

/** Checks a decoded request's series and metadata against Prometheus' rules and `limits`. */
function validate(decoded: DecodedWriteRequest, limits: WriteLimits): void {
  validateSeries(decoded.series, limits);
  for (const m of decoded.metadata) {
    const why = helpLimitReason(m.name, m.help, limits);
    if (why) throw new HttpRefusal(400, `invalid metadata: ${why}`);
  }
}

/**
 * Decompresses, decodes and validates a remote-write body (snappy WriteRequest) within `limits`.
 * Throws {@linkcode HttpRefusal} with the status to answer when it cannot be stored.
 */
export function decodeWriteBody(
  body: Uint8Array,
  limits: Partial<WriteLimits> = {},
  version: WriteVersion = 1,
): DecodedWriteRequest {
  const l = writeLimits(limits);
  const bytes = snappyBody(body, l);
  let decoded: DecodedWriteRequest;
  try {
    const options = { maxSeries: l.maxSeriesPerRequest };
    decoded = version === 2
      ? decodeWriteRequestV2(bytes, options)
      : decodeWriteRequest(bytes, options);
  } catch (err) {
    throw decodeRefusal(err, l);
  }
  validate(decoded, l);
  return decoded;
}

/** Series per batch of a {@linkcode BatchedWriteRequest}. */
export const WRITE_BATCH_SERIES = 2048;

/**
 * A validated remote-write request whose series are decoded again, batch by batch, when they
 * are wanted: a request of a million one-sample series holds its decoded bytes (about 50 MB)
 * rather than a million series objects (about 700 MB) while it is stored.
 */
export interface BatchedWriteRequest {
  /** Metadata entries in request order (2.0: one per distinct family metadata). */
  metadata: MetricMetadata[];
  /** Total samples over all series. */
  sampleCount: number;
  /** Total native histogram samples over all series. */
  histogramCount: number;
  /** Total exemplars over all series. */
  exemplarCount: number;
  /**
   * The series in request order, in batches of at most {@linkcode WRITE_BATCH_SERIES}. Once:
   * the decoded body is let go after the last batch (a second call throws).
   */
  batches(): Generator<WireSeries[]>;
}

function decodeSteps(
  bytes: Uint8Array,
  out: DecodedWriteRequest,
  maxSeries: number,
  version: WriteVersion,
): Generator<void> {
  return version === 2
    ? decodeWriteRequestV2Steps(bytes, out, maxSeries)
    : decodeWriteRequestSteps(bytes, out, maxSeries);
}

/**
 * {@linkcode decodeWriteBody} in two passes over the decompressed body: the first decodes and
 * validates every series, keeping only counts and metadata (so that nothing is written of a
 * request that is refused); `batches()` decodes the series again for the caller to write. A
 * request of at most {@linkcode WRITE_BATCH_SERIES} series is decoded once, and kept.
 */
export function decodeWriteBodyBatched(
  body: Uint8Array,
  limits: Partial<WriteLimits> = {},
  version: WriteVersion = 1,
): BatchedWriteRequest {
  const l = writeLimits(limits);
  // Released once the batches are handed out (the request is held until its commit).
  let bytes: Uint8Array | undefined = snappyBody(body, l);
  const first = emptyDecodedRequest();
  let batchesChecked = 0;
  try {
    for (const _ of decodeSteps(bytes, first, l.maxSeriesPerRequest, version)) {
      if (first.series.length <= WRITE_BATCH_SERIES) continue;
      validateSeries(first.series, l);
      first.series = [];
      batchesChecked++;
    }
  } catch (err) {
    throw decodeRefusal(err, l);
  }
  validate(first, l);
  // A request of one batch or less (most are: Prometheus sends up to 2,000 series) keeps the
  // series the first pass decoded, rather than decoding them again.
  let whole = batchesChecked === 0 ? first.series : undefined;
  let handedOut = false;
  if (whole) bytes = undefined;
  first.series = [];
  return {
    metadata: first.metadata,
    sampleCount: first.sampleCount,
    histogramCount: first.histogramCount,
    exemplarCount: first.exemplarCount,
    *batches() {
      if (handedOut) throw new Error("decodeWriteBodyBatched: the batches were handed out already");
      handedOut = true;
      if (whole) {
        const series = whole;
        whole = undefined;
        if (series.length) yield series;
        return;
      }
      // The first pass decoded and checked all of it: this one cannot fail.
      const again = emptyDecodedRequest();
      for (const _ of decodeSteps(bytes!, again, Infinity, version)) {
        if (again.series.length < WRITE_BATCH_SERIES) continue;
        yield again.series;
        again.series = [];
      }
      bytes = undefined;
      if (again.series.length) yield again.series;
    },
  };
}

/** {@linkcode decodeWriteBody} on the main thread, pausing for the event loop every few ms. */
export async function decodeWriteBodyPaced(
  body: Uint8Array,
  limits: Partial<WriteLimits> = {},
  version: WriteVersion = 1,
): Promise<DecodedWriteRequest> {
  const l = writeLimits(limits);
  const bytes = snappyBody(body, l);
  let decoded: DecodedWriteRequest;
  try {
    const options = { maxSeries: l.maxSeriesPerRequest };
    decoded = version === 2
      ? await decodeWriteRequestV2Paced(bytes, options)
      : await decodeWriteRequestPaced(bytes, options);
  } catch (err) {
    throw decodeRefusal(err, l);
  }
  validate(decoded, l);
  return decoded;
}

/** A handler for POSTs of remote-write 1.0 and 2.0 bodies (route and method checks are the caller's). */
export function createWriteHandler(
  options: WriteHandlerOptions,
): (req: Request) => Promise<Response> {
  const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const limits = writeLimits(options.limits);
  const inflight = options.inflight;
  const costFactor = options.decodedCostFactor ?? DECODED_COST_FACTOR;
  return async (req) => {
    let held = 0;
    // Holds `bytes` of the in-flight budget for this request in all (503 when it is spent).
    const hold = (bytes: number) => {
      if (!inflight || bytes <= held) return;
      if (!inflight.tryTake(bytes - held, held)) {
        throw new HttpRefusal(
          503,
          `${inflight.usedBytes} bytes of requests in flight, over the limit of ` +
            `${inflight.maxBytes} (--max-inflight-bytes); retry later`,
          { "Retry-After": "1" },
        );
      }
      held = bytes;
    };
    try {
      const version = checkHeaders(req);
      const body = await readBodyLimited(req, maxBodyBytes, hold);
      if (inflight && body.length > 0) {
        let decodedBytes = 0;
        try {
          decodedBytes = snappyDecodedLength(body);
        } catch { /* malformed: decoding refuses it with the reason */ }
        hold(body.length + Math.min(decodedBytes, limits.maxDecodedBytes) * costFactor);
      }
      let written: WrittenCounts | undefined;
      let result: SinkResult;
      if (options.bodySink) result = await options.bodySink(body, version);
      else {
        const decoded = await decodeWriteBodyPaced(body, limits, version);
        written = {
          samples: decoded.sampleCount,
          histograms: decoded.histogramCount,
          exemplars: decoded.exemplarCount,
        };
        result = await options.sink!(decoded);
      }
      if (result === "busy") {
        throw new HttpRefusal(503, "output is behind; retry later", { "Retry-After": "1" });
      }
      if (typeof result === "object") written = result;
      return new Response(null, {
        status: 204,
        headers: written ? writtenHeaders(written) : undefined,
      });
    } catch (err) {
      // A sink that finds the request cannot be written (InputError) refuses it as malformed.
      const res = err instanceof InputError
        ? refusalResponse(new HttpRefusal(400, err.message), options.onRefused)
        : refusalResponse(err, options.onRefused);
      // Nothing of a refused request is kept (it is all or nothing).
      for (const [k, v] of Object.entries(NOTHING_WRITTEN)) res.headers.set(k, v);
      return res;
    } finally {
      if (held) inflight!.give(held);
    }
  };
}
