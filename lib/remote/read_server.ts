/**
 * The HTTP side of a Prometheus remote-read endpoint over a series store, and the store sink that
 * lets the same process take remote writes (one URL pair for `remote_write` and `remote_read`).
 *
 * - {@linkcode createReadHandler}: snappy ReadRequest in; one result per query, in order, as a
 *   SAMPLES ReadResponse or as STREAMED_XOR_CHUNKS frames, whichever comes first in the client's
 *   `accepted_response_types`. Series carry sorted labels and time-ordered samples; a repeated
 *   timestamp keeps its first sample (as Prometheus' TSDB does). Every bad request gets a 4xx and a
 *   one-line reason; nothing a client sends can crash the server.
 * - {@linkcode StoreWriteSink}: appends decoded WriteRequests to the store and answers once they
 *   are durable, committing the requests that arrive meanwhile together (group commit).
 * - {@linkcode routeRemoteStorage}: the routes (`/-/healthy`, `/-/ready`, read and write paths).
 *
 * @module
 */
import { InputError } from "../errors.ts";
import {
  type CompiledMatcher,
  compileMatchers,
  matchesAllPairs,
  SelectorSyntaxError,
} from "../query/selector.ts";
import { ChunkedSeriesFramer, minFrameBytes, STREAMED_CONTENT_TYPE } from "./chunked_response.ts";
import {
  type DecodedReadRequest,
  decodeReadRequest,
  RESPONSE_SAMPLES,
  RESPONSE_STREAMED_XOR_CHUNKS,
} from "./read_request.ts";
import {
  readResponseChunks,
  readResponseLength,
  type ReadSeriesParts,
  writeReadResponse,
} from "./read_response.ts";
import { SeriesSampleCache } from "./read_cache.ts";
import { PoolBudgetError, type PoolJobItem, PoolUnavailableError } from "./read_pool.ts";
import { type WireSamples, WireSamplesBuilder } from "./read_samples.ts";
import {
  snappyDecode,
  snappyEncode,
  snappyLiteralHeader,
  snappyLiteralHeaderLength,
  SnappyTooLargeError,
} from "./snappy.ts";
import {
  healthResponse,
  HttpRefusal,
  readBodyLimited,
  type SinkResult,
  textResponse,
} from "./write_handler.ts";
import { type DecodedWriteRequest, encodeLabelBlock } from "./write_request.ts";

/** Label pairs with `__name__`, sorted by name. */
export type LabelPairs = [string, string][];

/** A series as the store lists it. */
export interface StoredSeries {
  /** Series id, passed back to `read`. */
  id: string;
  /** Label pairs, sorted by name. */
  labels: LabelPairs;
  /** Smallest stored timestamp, ms. */
  minTs: number;
  /** Largest stored timestamp, ms. */
  maxTs: number;
  /** Committed samples (with `segments`, lets the read cache tell when the series changed). */
  count?: number;
  /** Committed segments. */
  segments?: number;
}

/** Samples of one series: timestamps ascending and values with exact bits. */
export interface StoredBlock {
  /** Timestamps, ms. */
  timestampsMs: ArrayLike<number>;
  /** Values (NaN payloads exact). */
  values: Float64Array;
}

/** What the read path needs from a store (`lib/store`'s `Store` has it). */
export interface ReadableSeriesStore {
  /** Picks up segments committed since the last call (by this or another process). */
  refresh(): Promise<boolean>;
  /** The committed series whose labels satisfy `predicate`. */
  series(predicate?: (labels: LabelPairs) => boolean): StoredSeries[];
  /** Samples of series `id` in `[startMs, endMs]`, decoding only the covering segments and frames. */
  read(id: string, startMs: number, endMs: number): AsyncIterable<StoredBlock>;
}

/** Reads series in parallel elsewhere (a `SeriesReadPool` of `read_pool.ts`). */
export interface SeriesReader {
  /** Whether {@linkcode read} can be called now. */
  readonly usable: boolean;
  /** The samples of each item, in order; rejects with `PoolBudgetError` beyond `budget` samples. */
  read(
    items: PoolJobItem[],
    budget: number,
    here?: (items: PoolJobItem[], budget: number) => Promise<WireSamples[]>,
  ): Promise<WireSamples[]>;
}

/** What the write path needs from a store. */
export interface WritableSeriesStore {
  /** Buffers samples of one series (labels sorted, with `__name__`). */
  append(labels: LabelPairs, timestampsMs: ArrayLike<number>, values: Float64Array): Promise<void>;
  /** Records a metric family's type, unit and help (made durable by the next commit). */
  setMetadata(entry: { name: string; type: string; unit: string; help: string }): void;
  /** Makes everything appended durable. */
  commit(): Promise<unknown>;
}

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
   * with at least {@linkcode POOL_MIN_SERIES} series not in the cache. Default none: in-process.
   */
  readPool?: SeriesReader;
  /** Called for each refused request with the status and reason (for logs). */
  onRefused?: (status: number, reason: string) => void;
  /** Called after each answered request (for logs and tests). */
  onAnswered?: (info: ReadAnswerInfo) => void;
}

/** What {@linkcode ReadHandlerOptions.onAnswered} is told. */
export interface ReadAnswerInfo {
  /** `samples` or `streamed`. */
  responseType: "samples" | "streamed";
  /** Queries in the request. */
  queries: number;
  /** Series returned over all queries. */
  series: number;
  /** Samples returned over all queries. */
  samples: number;
  /** Time from request to the last byte produced, ms. */
  elapsedMs: number;
}

interface PreparedQuery {
  startMs: number;
  endMs: number;
  matchers: CompiledMatcher[];
}

function compareLabels(a: LabelPairs, b: LabelPairs): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i][0] !== b[i][0]) return a[i][0] < b[i][0] ? -1 : 1;
    if (a[i][1] !== b[i][1]) return a[i][1] < b[i][1] ? -1 : 1;
  }
  return a.length - b.length;
}

function prepareQueries(request: DecodedReadRequest): PreparedQuery[] {
  return request.queries.map((q, i) => {
    if (q.matchers.length === 0) throw new HttpRefusal(400, `query ${i} has no label matchers`);
    let matchers: CompiledMatcher[];
    try {
      matchers = compileMatchers(q.matchers);
    } catch (err) {
      if (err instanceof SelectorSyntaxError) {
        throw new HttpRefusal(400, `query ${i}: ${err.message}`);
      }
      throw err;
    }
    return { startMs: q.startMs, endMs: q.endMs, matchers };
  });
}

/** The series of a query, sorted by labels, that have samples somewhere in its time range. */
function selectSeries(store: ReadableSeriesStore, q: PreparedQuery): StoredSeries[] {
  if (q.startMs > q.endMs) return [];
  const found = store.series((labels) => matchesAllPairs(q.matchers, labels))
    .filter((s) => s.maxTs >= q.startMs && s.minTs <= q.endMs);
  return found.sort((a, b) => compareLabels(a.labels, b.labels));
}

/** Default of {@linkcode ReadHandlerOptions.cacheBytes}: 256 MiB. */
export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

/** Fewest series not in the cache for a query to be read by the read pool. */
export const POOL_MIN_SERIES = 8;

/**
 * Series read from the store at the same time for one query. Segment reads are synchronous
 * (page-cache reads, see `Store.read`): the runners take turns between series.
 */
const READ_CONCURRENCY = 4;

/** Samples `[from, to)` of a series' {@linkcode WireSamples}: those in a query's range. */
interface SeriesSamples {
  samples: WireSamples;
  from: number;
  to: number;
}

/** Samples decoded at a time for the streamed response. */
const STREAM_BATCH = 4096;

function tooManySamples(queryIndex: number, limit: number): HttpRefusal {
  return new HttpRefusal(
    422,
    `query ${queryIndex} selects more than ${limit} samples (--max-samples-per-query); ` +
      "narrow the time range or the matchers",
  );
}

/** A handler for POSTs of remote-read bodies (route and method checks are the caller's). */
export function createReadHandler(
  options: ReadHandlerOptions,
): (req: Request) => Promise<Response> {
  const store = options.store;
  const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const maxDecodedBytes = options.maxDecodedBytes ?? 64 * 1024 * 1024;
  const maxSamples = options.maxSamplesPerQuery ?? 10_000_000;
  const maxBytesInFrame = options.maxBytesInFrame ?? 1024 * 1024;
  const compressResponses = options.compressResponses ?? false;
  const cache = new SeriesSampleCache(options.cacheBytes ?? DEFAULT_CACHE_BYTES);

  /**
   * The samples of series `s` with timestamps in `[startMs, endMs]` in wire form, from the cache
   * or read from the store (and cached). Refuses (422) once more than `budget` samples are read.
   */
  async function seriesSamples(
    s: StoredSeries,
    startMs: number,
    endMs: number,
    budget: number,
    queryIndex: number,
  ): Promise<SeriesSamples> {
    const hit = cache.get(s, startMs, endMs);
    if (hit) {
      const [from, to] = hit.indexRange(startMs, endMs);
      return { samples: hit, from, to };
    }
    const ext = cache.extendable(s, startMs);
    if (ext) {
      // The series only grew at the end since it was cached: read just the new tail.
      const b = WireSamplesBuilder.continuing(ext.samples, ext.addedSamples);
      let added = 0;
      for await (const block of store.read(s.id, ext.afterMs + 1, Infinity)) {
        const n = block.timestampsMs.length;
        added += n;
        if (added > ext.addedSamples) break;
        b.add(block.timestampsMs, block.values, 0, n);
      }
      if (added === ext.addedSamples) {
        const grown = b.finish();
        cache.set(s, ext.fromMs, Infinity, grown);
        const [from, to] = grown.indexRange(startMs, endMs);
        return { samples: grown, from, to };
      }
      // Samples also landed at or before the cached end: read it all again.
    }
    const samples = await readOne(s.id, startMs, endMs, s.count ?? 256, budget);
    if (!samples) throw tooManySamples(queryIndex, maxSamples);
    cache.set(s, startMs, endMs, samples);
    return { samples, from: 0, to: samples.count };
  }

  /** Reads and encodes one series range; undefined once more than `budget` samples are read. */
  async function readOne(
    id: string,
    startMs: number,
    endMs: number,
    expectedSamples: number,
    budget: number,
  ): Promise<WireSamples | undefined> {
    const builder = new WireSamplesBuilder(expectedSamples);
    for await (const block of store.read(id, startMs, endMs)) {
      const n = block.timestampsMs.length;
      if (n === 0) continue;
      builder.add(block.timestampsMs, block.values, 0, n);
      if (builder.count > budget) return undefined;
    }
    return builder.finish();
  }

  /**
   * The read pool's in-process share: reads a job's items `READ_CONCURRENCY` at a time;
   * rejects with `PoolBudgetError` beyond `budget` samples.
   */
  async function readJobHere(items: PoolJobItem[], budget: number): Promise<WireSamples[]> {
    const out: WireSamples[] = new Array(items.length);
    let total = 0;
    let next = 0;
    let failed = false;
    const runner = async () => {
      while (next < items.length && !failed) {
        const i = next++;
        const it = items[i];
        const w = await readOne(it.id, it.startMs, it.endMs, it.expectedSamples, budget - total);
        if (!w || (total += w.count) > budget) {
          failed = true;
          throw new PoolBudgetError("sample budget exceeded");
        }
        out[i] = w;
      }
    };
    const runners: Promise<void>[] = [];
    for (let k = 0; k < Math.min(READ_CONCURRENCY, items.length); k++) runners.push(runner());
    await Promise.all(runners);
    return out;
  }

  /**
   * {@linkcode seriesSamples} of every series of a query, in order: cached ones at once; with a
   * read pool and at least {@linkcode POOL_MIN_SERIES} series to read in full, those are read by
   * the pool (and this thread); the others `READ_CONCURRENCY` at a time here. Refuses (422)
   * once the query's samples pass the limit.
   */
  async function allSeriesSamples(
    selected: StoredSeries[],
    q: PreparedQuery,
    qi: number,
  ): Promise<SeriesSamples[]> {
    const found: SeriesSamples[] = new Array(selected.length);
    let samples = 0;
    const add = (i: number, got: SeriesSamples) => {
      found[i] = got;
      samples += got.to - got.from;
      if (samples > maxSamples) throw tooManySamples(qi, maxSamples);
    };
    let here: number[] = []; // read (or extended) in this thread
    const pooled: number[] = [];
    const pool = options.readPool;
    for (let i = 0; i < selected.length; i++) {
      const hit = cache.get(selected[i], q.startMs, q.endMs);
      if (hit) {
        const [from, to] = hit.indexRange(q.startMs, q.endMs);
        add(i, { samples: hit, from, to });
      } else if (pool && !cache.extendable(selected[i], q.startMs)) pooled.push(i);
      else here.push(i);
    }
    if (pool?.usable && pooled.length >= POOL_MIN_SERIES) {
      try {
        const got = await pool.read(
          pooled.map((i) => ({
            id: selected[i].id,
            startMs: q.startMs,
            endMs: q.endMs,
            expectedSamples: selected[i].count ?? 256,
          })),
          maxSamples - samples,
          readJobHere,
        );
        for (let k = 0; k < pooled.length; k++) {
          const w = got[k];
          cache.set(selected[pooled[k]], q.startMs, q.endMs, w);
          add(pooled[k], { samples: w, from: 0, to: w.count });
        }
      } catch (err) {
        if (err instanceof PoolBudgetError) throw tooManySamples(qi, maxSamples);
        if (!(err instanceof PoolUnavailableError)) throw err;
        here = here.concat(pooled); // the pool broke down: read them here
      }
    } else here = here.concat(pooled);
    let next = 0;
    let failed = false;
    const runner = async () => {
      while (next < here.length && !failed) {
        const i = here[next++];
        try {
          add(i, await seriesSamples(selected[i], q.startMs, q.endMs, maxSamples - samples, qi));
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    const runners: Promise<void>[] = [];
    for (let k = 0; k < Math.min(READ_CONCURRENCY, here.length); k++) runners.push(runner());
    await Promise.all(runners);
    return found;
  }

  async function answerSamples(queries: PreparedQuery[], t0: number): Promise<Response> {
    const results: ReadSeriesParts[][] = [];
    let seriesOut = 0;
    let samplesOut = 0;
    for (let qi = 0; qi < queries.length; qi++) {
      const q = queries[qi];
      const result: ReadSeriesParts[] = [];
      const selected = selectSeries(store, q);
      const found = await allSeriesSamples(selected, q, qi);
      let samples = 0;
      for (let i = 0; i < selected.length; i++) {
        const got = found[i];
        const n = got.to - got.from;
        if (n === 0) continue;
        samples += n;
        result.push({
          labelBlock: encodeLabelBlock(selected[i].labels),
          samples: [got.samples.slice(got.from, got.to)],
        });
      }
      results.push(result);
      seriesOut += result.length;
      samplesOut += samples;
    }
    const length = readResponseLength(results);
    const info: ReadAnswerInfo = {
      responseType: "samples",
      queries: queries.length,
      series: seriesOut,
      samples: samplesOut,
      elapsedMs: 0,
    };
    const headers = { "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy" };
    if (compressResponses) {
      const raw = new Uint8Array(length);
      writeReadResponse(results, raw, 0);
      const body = snappyEncode(raw);
      options.onAnswered?.({ ...info, elapsedMs: performance.now() - t0 });
      return new Response(body, { status: 200, headers });
    }
    const headerLength = snappyLiteralHeaderLength(length);
    // One snappy literal: its header, then the message streamed piece by piece. Sample pieces go
    // out as views of the cached (immutable) arrays: nothing of the size of the response is
    // allocated or copied.
    const chunks = readResponseChunks(results, { prefix: snappyLiteralHeader(length) });
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.next();
        if (!next.done) return controller.enqueue(next.value);
        controller.close();
        options.onAnswered?.({ ...info, elapsedMs: performance.now() - t0 });
      },
    }, { highWaterMark: 0 });
    return new Response(body, {
      status: 200,
      headers: { ...headers, "Content-Length": String(headerLength + length) },
    });
  }

  async function* streamFrames(queries: PreparedQuery[], t0: number): AsyncGenerator<Uint8Array> {
    const framer = new ChunkedSeriesFramer({ maxBytesInFrame });
    const ts = new Float64Array(STREAM_BATCH);
    const values = new Float64Array(STREAM_BATCH);
    let seriesOut = 0;
    let samplesOut = 0;
    for (let qi = 0; qi < queries.length; qi++) {
      const q = queries[qi];
      let samples = 0;
      for (const s of selectSeries(store, q)) {
        const got = await seriesSamples(s, q.startMs, q.endMs, maxSamples - samples, qi);
        if (got.to === got.from) continue;
        samples += got.to - got.from;
        if (samples > maxSamples) throw tooManySamples(qi, maxSamples);
        framer.beginSeries(qi, encodeLabelBlock(s.labels));
        for (let i = got.from; i < got.to; i += STREAM_BATCH) {
          const n = Math.min(STREAM_BATCH, got.to - i);
          got.samples.decodeInto(i, n, ts, values);
          yield* framer.addSamples(ts, values, 0, n);
        }
        yield* framer.endSeries();
        seriesOut++;
      }
      samplesOut += samples;
    }
    options.onAnswered?.({
      responseType: "streamed",
      queries: queries.length,
      series: seriesOut,
      samples: samplesOut,
      elapsedMs: performance.now() - t0,
    });
  }

  function answerStreamed(queries: PreparedQuery[], t0: number): Response {
    // Labels too long for a frame, and more samples than allowed as far as the index can tell
    // (series wholly inside the range), are a 4xx before anything is sent; a partly covered series
    // can still cross the limit mid-stream, which aborts the stream.
    for (let qi = 0; qi < queries.length; qi++) {
      const q = queries[qi];
      let knownSamples = 0;
      for (const s of selectSeries(store, q)) {
        if (s.count !== undefined && s.minTs >= q.startMs && s.maxTs <= q.endMs) {
          knownSamples += s.count;
          if (knownSamples > maxSamples) throw tooManySamples(qi, maxSamples);
        }
        const need = minFrameBytes(encodeLabelBlock(s.labels));
        if (need > maxBytesInFrame) {
          throw new HttpRefusal(
            422,
            `query ${qi}: series ${JSON.stringify(Object.fromEntries(s.labels))} needs frames ` +
              `of at least ${need} bytes (--max-bytes-in-frame is ${maxBytesInFrame})`,
          );
        }
      }
    }
    const frames = streamFrames(queries, t0);
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await frames.next();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          options.onRefused?.(
            err instanceof HttpRefusal ? err.status : 500,
            `stream aborted: ${msg}`,
          );
          controller.error(err);
        }
      },
      async cancel() {
        await frames.return(undefined);
      },
    }, { highWaterMark: 4 });
    return new Response(body, {
      status: 200,
      headers: { "Content-Type": STREAMED_CONTENT_TYPE },
    });
  }

  return async (req) => {
    const t0 = performance.now();
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
      if (type === RESPONSE_STREAMED_XOR_CHUNKS) return answerStreamed(queries, t0);
      return await answerSamples(queries, t0);
    } catch (err) {
      if (err instanceof HttpRefusal) {
        options.onRefused?.(err.status, err.message);
        return textResponse(err.status, err.message);
      }
      const msg = `internal error: ${(err as Error).message}`;
      options.onRefused?.(500, msg);
      return textResponse(500, msg);
    }
  };
}

interface PendingWrite {
  request: DecodedWriteRequest;
  resolve: (r: SinkResult) => void;
  reject: (err: unknown) => void;
}

/**
 * A remote-write sink (for `createWriteHandler`) that appends into a store and resolves once the
 * samples are durable. Requests are applied one batch at a time: those that arrive while a commit
 * runs are appended and committed together by the next one.
 */
export class StoreWriteSink {
  #store: WritableSeriesStore;
  #queue: PendingWrite[] = [];
  #running = false;
  /** Samples made durable so far. */
  samples = 0;
  /** Requests made durable so far. */
  requests = 0;
  /** Commits done so far. */
  commits = 0;

  /** A sink writing into `store`. */
  constructor(store: WritableSeriesStore) {
    this.#store = store;
  }

  /** The sink function to pass as `createWriteHandler({ sink })`. */
  readonly sink = (request: DecodedWriteRequest): Promise<SinkResult> =>
    new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      if (!this.#running) this.#drain();
    });

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length) {
        const batch = this.#queue;
        this.#queue = [];
        try {
          let samples = 0;
          for (const { request } of batch) {
            for (const s of request.series) {
              if (s.timestampsMs.length === 0) continue;
              await this.#store.append(s.labels, s.timestampsMs, s.values);
              samples += s.timestampsMs.length;
            }
            for (const m of request.metadata) {
              if (m.name) {
                this.#store.setMetadata({ name: m.name, type: m.type, unit: m.unit, help: m.help });
              }
            }
          }
          await this.#store.commit();
          this.samples += samples;
          this.requests += batch.length;
          this.commits++;
          for (const p of batch) p.resolve("ok");
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.#running = false;
    }
  }
}

/** Routes of {@linkcode routeRemoteStorage}. */
export interface RemoteStorageRoutes {
  /** Path of remote read, e.g. `/api/v1/read`. */
  readPath: string;
  /** The remote-read handler. */
  read: (req: Request) => Promise<Response>;
  /** Path of remote write, when writes are taken. */
  writePath?: string;
  /** The remote-write handler. */
  write?: (req: Request) => Promise<Response>;
}

/** Routes health checks, the read path and (optionally) the write path; everything else is 404/405. */
export function routeRemoteStorage(
  routes: RemoteStorageRoutes,
): (req: Request) => Promise<Response> | Response {
  return (req) => {
    const url = new URL(req.url);
    const health = healthResponse(url, req);
    if (health) return health;
    const handler = url.pathname === routes.readPath
      ? routes.read
      : routes.writePath !== undefined && url.pathname === routes.writePath
      ? routes.write
      : undefined;
    if (!handler) {
      const where = routes.writePath
        ? `remote read is at ${routes.readPath}, remote write at ${routes.writePath}`
        : `remote read is at ${routes.readPath}`;
      return textResponse(404, `no endpoint at ${url.pathname}; ${where}`);
    }
    if (req.method !== "POST") {
      return textResponse(405, `method ${req.method} not allowed; use POST`, { Allow: "POST" });
    }
    return handler(req);
  };
}
