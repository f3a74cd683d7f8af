/**
 * The SAMPLES answer of remote read: one ReadResponse holding every query's result, sent as one
 * snappy literal streamed piece by piece (or snappy-compressed, when asked).
 *
 * @module
 */
import { encodeLabelBlock } from "../codec/write_request.ts";
import {
  readResponseChunks,
  readResponseLength,
  type ReadSeriesParts,
  writeReadResponse,
} from "../codec/read_response.ts";
import { snappyEncode, snappyLiteralHeader, snappyLiteralHeaderLength } from "../codec/snappy.ts";
import {
  histogramFields,
  histogramsOf,
  pairSeries,
  selectHistogramSeries,
} from "./histogram_series.ts";
import { type PreparedQuery, queryLimit, selectSeries } from "./query.ts";
import type { SeriesSampleSource } from "./series_samples.ts";
import type { ReadableSeriesStore } from "./series_store.ts";

/** What an answered request held, for logs and tests. */
export interface ReadAnswerInfo {
  /** `samples` or `streamed`. */
  responseType: "samples" | "streamed";
  /** Queries in the request. */
  queries: number;
  /** Series returned over all queries. */
  series: number;
  /** Samples returned over all queries (native histogram samples included). */
  samples: number;
  /** Time from request to the last byte produced, ms. */
  elapsedMs: number;
}

/** Options of {@linkcode answerSamples}. */
export interface AnswerSamplesOptions {
  /** Compress the response with snappy (else one snappy literal). */
  compress: boolean;
  /** `performance.now()` when the request came in. */
  startedMs: number;
  /** Called once the last byte is produced. */
  onAnswered?: (info: ReadAnswerInfo) => void;
  /** Most samples all the queries together may return (422 beyond). Default no limit. */
  maxSamplesPerRequest?: number;
  /**
   * Most samples (native histograms included) one query may return (422 beyond); float samples
   * are held to it by the sample source. Default no limit.
   */
  maxSamplesPerQuery?: number;
}

/** Answers `queries` with one SAMPLES ReadResponse. */
export async function answerSamples(
  store: ReadableSeriesStore,
  source: SeriesSampleSource,
  queries: PreparedQuery[],
  options: AnswerSamplesOptions,
): Promise<Response> {
  const results: ReadSeriesParts[][] = [];
  let seriesOut = 0;
  let samplesOut = 0;
  for (let qi = 0; qi < queries.length; qi++) {
    const q = queries[qi];
    const result: ReadSeriesParts[] = [];
    const selected = selectSeries(store, q);
    const requestLeft = (options.maxSamplesPerRequest ?? Infinity) - samplesOut;
    const found = await source.allSeriesSamples(selected, q, qi, requestLeft);
    let samples = 0;
    const floats: { labels: [string, string][]; parts: ReadSeriesParts }[] = [];
    for (let i = 0; i < selected.length; i++) {
      const got = found[i];
      const n = got.to - got.from;
      if (n === 0) continue;
      samples += n;
      floats.push({
        labels: selected[i].labels,
        parts: {
          labelBlock: encodeLabelBlock(selected[i].labels),
          samples: [got.samples.slice(got.from, got.to)],
        },
      });
    }
    // Native histograms go in the same TimeSeries (field 4) as the series' float samples.
    for (const p of pairSeries(floats, selectHistogramSeries(store, q))) {
      let parts = p.a?.parts;
      if (p.b) {
        const limit = queryLimit(qi, options.maxSamplesPerQuery ?? Infinity, requestLeft);
        const hs = await histogramsOf(store, p.b.id, q, limit.samples - samples);
        if (hs.length) {
          samples += hs.length;
          if (samples > limit.samples) throw limit.refusal();
          parts ??= { labelBlock: encodeLabelBlock(p.labels), samples: [] };
          parts.samples.push(histogramFields(hs));
        }
      }
      if (parts) result.push(parts);
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
  const answered = () =>
    options.onAnswered?.({ ...info, elapsedMs: performance.now() - options.startedMs });
  const headers = { "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy" };
  if (options.compress) {
    const raw = new Uint8Array(length);
    writeReadResponse(results, raw, 0);
    const body = snappyEncode(raw);
    answered();
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
      answered();
    },
  }, { highWaterMark: 0 });
  return new Response(body, {
    status: 200,
    headers: { ...headers, "Content-Length": String(headerLength + length) },
  });
}
