/**
 * The STREAMED_XOR_CHUNKS answer of remote read: length-delimited, CRC-32C checked
 * ChunkedReadResponse frames of XOR chunks, produced as the client reads them.
 *
 * @module
 */
import {
  ChunkedSeriesFramer,
  minFrameBytes,
  STREAMED_CONTENT_TYPE,
} from "../codec/chunked_response.ts";
import { encodeLabelBlock } from "../codec/write_request.ts";
import { HttpRefusal } from "../http.ts";
import type { ReadAnswerInfo } from "./answer_samples.ts";
import {
  histogramChunks,
  histogramsOf,
  pairSeries,
  selectHistogramSeries,
} from "./histogram_series.ts";
import {
  type PreparedQuery,
  queryLimit,
  selectSeries,
  tooManyRequestSamples,
  tooManySamples,
} from "./query.ts";
import type { SeriesSampleSource } from "./series_samples.ts";
import type { ReadableSeriesStore } from "./series_store.ts";

/** Samples decoded at a time for the streamed response. */
const STREAM_BATCH = 4096;

/** Options of {@linkcode answerStreamed}. */
export interface AnswerStreamedOptions {
  /** Most samples one query may return (422 beyond). */
  maxSamplesPerQuery: number;
  /** Largest frame, bytes. */
  maxBytesInFrame: number;
  /** `performance.now()` when the request came in. */
  startedMs: number;
  /** Called once the last frame is produced. */
  onAnswered?: (info: ReadAnswerInfo) => void;
  /** Called when the stream is aborted after it began, with the status it would have had. */
  onRefused?: (status: number, reason: string) => void;
  /** Most samples all the queries together may return (422 beyond). Default no limit. */
  maxSamplesPerRequest?: number;
}

async function* streamFrames(
  store: ReadableSeriesStore,
  source: SeriesSampleSource,
  queries: PreparedQuery[],
  options: AnswerStreamedOptions,
): AsyncGenerator<Uint8Array> {
  const maxSamples = options.maxSamplesPerQuery;
  const framer = new ChunkedSeriesFramer({ maxBytesInFrame: options.maxBytesInFrame });
  const ts = new Float64Array(STREAM_BATCH);
  const values = new Float64Array(STREAM_BATCH);
  let seriesOut = 0;
  let samplesOut = 0;
  for (let qi = 0; qi < queries.length; qi++) {
    const q = queries[qi];
    const limit = queryLimit(
      qi,
      maxSamples,
      (options.maxSamplesPerRequest ?? Infinity) - samplesOut,
    );
    let samples = 0;
    // Float series and series with native histograms, merged by labels: one ChunkedSeries each,
    // XOR chunks first, then histogram chunks.
    for (const p of pairSeries(selectSeries(store, q), selectHistogramSeries(store, q))) {
      let begun = false;
      if (p.a) {
        const got = await source.seriesSamples(
          p.a,
          q.startMs,
          q.endMs,
          limit.samples - samples,
          qi,
          limit.refusal,
        );
        if (got.to > got.from) {
          samples += got.to - got.from;
          if (samples > limit.samples) throw limit.refusal();
          framer.beginSeries(qi, encodeLabelBlock(p.labels));
          begun = true;
          for (let i = got.from; i < got.to; i += STREAM_BATCH) {
            const n = Math.min(STREAM_BATCH, got.to - i);
            got.samples.decodeInto(i, n, ts, values);
            yield* framer.addSamples(ts, values, 0, n);
          }
        }
      }
      if (p.b) {
        const hs = await histogramsOf(store, p.b.id, q, limit.samples - samples);
        samples += hs.length;
        if (samples > limit.samples) throw limit.refusal();
        for (const c of histogramChunks(hs)) {
          if (!begun) framer.beginSeries(qi, encodeLabelBlock(p.labels));
          begun = true;
          try {
            yield* framer.addChunk(c.encoding, c.minTimeMs, c.maxTimeMs, c.data);
          } catch (err) {
            if (err instanceof RangeError) throw new HttpRefusal(422, err.message);
            throw err;
          }
        }
      }
      if (!begun) continue;
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
    elapsedMs: performance.now() - options.startedMs,
  });
}

/**
 * Answers `queries` as a stream of frames. Labels too long for a frame, and more samples than
 * allowed as far as the index can tell (series wholly inside the range), are a 4xx before
 * anything is sent; a partly covered series can still cross the limit mid-stream, which aborts
 * the stream.
 */
export function answerStreamed(
  store: ReadableSeriesStore,
  source: SeriesSampleSource,
  queries: PreparedQuery[],
  options: AnswerStreamedOptions,
): Response {
  const { maxSamplesPerQuery: maxSamples, maxBytesInFrame } = options;
  const maxPerRequest = options.maxSamplesPerRequest ?? Infinity;
  let knownRequestSamples = 0;
  for (let qi = 0; qi < queries.length; qi++) {
    const q = queries[qi];
    let knownSamples = 0;
    for (const s of selectSeries(store, q)) {
      if (s.count !== undefined && s.minTs >= q.startMs && s.maxTs <= q.endMs) {
        knownSamples += s.count;
        knownRequestSamples += s.count;
        if (knownSamples > maxSamples) throw tooManySamples(qi, maxSamples);
        if (knownRequestSamples > maxPerRequest) throw tooManyRequestSamples(maxPerRequest);
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
  const frames = streamFrames(store, source, queries, options);
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
        // The client must see a broken stream, not a clean end that looks complete; the error
        // is already logged in one line, so the one the server logs again carries no stack.
        const aborted = new Error(`stream aborted: ${msg}`);
        aborted.stack = aborted.message;
        controller.error(aborted);
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
