/**
 * The HTTP side of a Prometheus remote-read endpoint over a series store: snappy ReadRequest in;
 * one result per query, in order, as a SAMPLES ReadResponse (`answer_samples.ts`) or as
 * STREAMED_XOR_CHUNKS frames (`answer_streamed.ts`), whichever comes first in the client's
 * `accepted_response_types`. Series carry sorted labels and time-ordered samples; a repeated
 * timestamp keeps its first sample (as Prometheus' TSDB does). Every bad request gets a 4xx and a
 * one-line reason; nothing a client sends can crash the server.
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import {
  type DecodedReadRequest,
  decodeReadRequest,
  RESPONSE_SAMPLES,
  RESPONSE_STREAMED_XOR_CHUNKS,
} from "../codec/read_request.ts";
import { snappyDecode, SnappyTooLargeError } from "../codec/snappy.ts";
import { HttpRefusal, readBodyLimited, refusalResponse } from "../http.ts";
import { answerSamples, type ReadAnswerInfo } from "./answer_samples.ts";
import { answerStreamed } from "./answer_streamed.ts";
import { prepareQueries } from "./query.ts";
import { type SeriesCacheStats, SeriesSampleCache } from "./read_cache.ts";
import { SeriesSampleSource } from "./series_samples.ts";
import { Gate } from "./gate.ts";
import type { ReadableSeriesStore, SeriesReader } from "./series_store.ts";

export type { ReadAnswerInfo } from "./answer_samples.ts";

/** Default of {@linkcode ReadHandlerOptions.cacheBytes}: 256 MiB. */
export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

/** Options of {@linkcode createReadHandler}. */
export interface ReadHandlerOptions {
  /** The store queries are answered from. */
  store: ReadableSeriesStore;
  /** Largest request body, bytes (413 beyond). Default 32 MiB. */
  maxBodyBytes?: number;
  /** Largest decompressed body, bytes, checked before allocating (413 beyond). Default 64 MiB. */
  maxDecodedBytes?: number;
  /** Most samples one query may return (422 beyond). Default 10,000,000. */
  maxSamplesPerQuery?: number;
  /** Most samples all queries of one request may return together (422 beyond). Default 50,000,000. */
  maxSamplesPerRequest?: number;
  /** Most queries in one request (400 beyond). Default 100. */
  maxQueriesPerRequest?: number;
  /** Requests answered at once; the others wait their turn (0: no limit). Default 10. */
  concurrentLimit?: number;
  /** Largest frame of a streamed response, bytes. Default 1 MiB. */
  maxBytesInFrame?: number;
  /**
   * Bytes of series samples kept in wire form between queries (LRU; 0 disables). Default 256 MiB.
   * Needs a store that lists `count` and `segments` per series.
   */
  cacheBytes?: number;
  /**
   * Compress SAMPLES responses with snappy. Default false: the response is one snappy literal
   * (valid snappy, about 1.75× the bytes, no compression time), which is faster on loopback and
   * LANs; compressing pays off on slow links.
   */
  compressResponses?: boolean;
  /**
   * Workers that read and encode series in parallel (see `read_pool.ts`); used for queries
   * with at least `POOL_MIN_SERIES` (`series_samples.ts`) series not in the cache. Default none: in-process.
   */
  readPool?: SeriesReader;
  /** Called for each refused request with the status and reason (for logs). */
  onRefused?: (status: number, reason: string) => void;
  /** Called after each answered request (for logs and tests). */
  onAnswered?: (info: ReadAnswerInfo) => void;
}

/** A remote-read handler, with the counters of its series cache. */
export type ReadHandler = ((req: Request) => Promise<Response>) & {
  /** The series cache's entries, bytes, hits, misses and evictions so far. */
  cacheStats(): SeriesCacheStats;
};

/** A handler for POSTs of remote-read bodies (route and method checks are the caller's). */
export function createReadHandler(options: ReadHandlerOptions): ReadHandler {
  const store = options.store;
  const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const maxDecodedBytes = options.maxDecodedBytes ?? 64 * 1024 * 1024;
  const maxSamples = options.maxSamplesPerQuery ?? 10_000_000;
  const maxSamplesPerRequest = options.maxSamplesPerRequest ?? 50_000_000;
  const maxQueries = options.maxQueriesPerRequest ?? 100;
  const gate = new Gate(options.concurrentLimit ?? 10);
  const maxBytesInFrame = options.maxBytesInFrame ?? 1024 * 1024;
  const compressResponses = options.compressResponses ?? false;
  const cache = new SeriesSampleCache(options.cacheBytes ?? DEFAULT_CACHE_BYTES);
  const source = new SeriesSampleSource(store, cache, {
    maxSamplesPerQuery: maxSamples,
    readPool: options.readPool,
  });

  const handler = async (req: Request): Promise<Response> => {
    const t0 = performance.now();
    // At most `concurrentLimit` requests are read and answered at once: the rest wait before
    // their bodies are read (as Prometheus' --storage.remote.read-concurrent-limit).
    let leave: (() => void) | undefined;
    try {
      leave = await gate.enter(req.signal);
    } catch {
      return refusalResponse(
        new HttpRefusal(400, "the client closed the connection while waiting for its turn"),
        options.onRefused,
      );
    }
    let res: Response;
    try {
      res = await answer(req, t0);
    } catch (err) {
      leave();
      throw err;
    }
    // A body still being produced (streamed frames, a SAMPLES answer sent piece by piece) keeps
    // the place until it ends or the client goes away.
    return res.body ? withRelease(res, leave) : (leave(), res);
  };
  const answer = async (req: Request, t0: number): Promise<Response> => {
    try {
      const encoding = (req.headers.get("Content-Encoding") ?? "snappy").trim().toLowerCase();
      if (encoding !== "snappy") {
        throw new HttpRefusal(415, `Content-Encoding must be snappy (got "${encoding}")`);
      }
      const body = await readBodyLimited(req, maxBodyBytes);
      let request: DecodedReadRequest;
      try {
        request = decodeReadRequest(snappyDecode(body, maxDecodedBytes));
      } catch (err) {
        if (err instanceof SnappyTooLargeError) throw new HttpRefusal(413, err.message);
        if (err instanceof InputError) {
          throw new HttpRefusal(400, `malformed ReadRequest: ${err.message}`);
        }
        throw err;
      }
      if (request.queries.length > maxQueries) {
        throw new HttpRefusal(
          400,
          `the request holds ${request.queries.length} queries, over the limit of ${maxQueries} ` +
            "(--max-queries-per-request)",
        );
      }
      const queries = prepareQueries(request);
      const accepted = request.acceptedResponseTypes.length
        ? request.acceptedResponseTypes
        : [RESPONSE_SAMPLES];
      const type = accepted.find((t) =>
        t === RESPONSE_SAMPLES || t === RESPONSE_STREAMED_XOR_CHUNKS
      );
      if (type === undefined) {
        throw new HttpRefusal(
          400,
          `none of the accepted response types [${accepted.join(", ")}] is supported ` +
            "(0 SAMPLES, 1 STREAMED_XOR_CHUNKS)",
        );
      }
      await store.refresh();
      if (type === RESPONSE_STREAMED_XOR_CHUNKS) {
        return answerStreamed(store, source, queries, {
          maxSamplesPerQuery: maxSamples,
          maxSamplesPerRequest,
          maxBytesInFrame,
          startedMs: t0,
          onAnswered: options.onAnswered,
          onRefused: options.onRefused,
        });
      }
      return await answerSamples(store, source, queries, {
        compress: compressResponses,
        maxSamplesPerRequest,
        maxSamplesPerQuery: maxSamples,
        startedMs: t0,
        onAnswered: options.onAnswered,
      });
    } catch (err) {
      return refusalResponse(err, options.onRefused);
    }
  };
  return Object.assign(handler, { cacheStats: () => cache.stats() });
}

/** `res` whose body calls `release` once when it ends, fails or is cancelled. */
function withRelease(res: Response, release: () => void): Response {
  const reader = res.body!.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          release();
          controller.close();
        } else controller.enqueue(value);
      } catch (err) {
        release();
        controller.error(err);
      }
    },
    async cancel(reason) {
      release();
      await reader.cancel(reason).catch(() => {});
    },
  });
  return new Response(body, { status: res.status, headers: res.headers });
}
