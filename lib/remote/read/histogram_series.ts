/**
 * Native histograms in remote read answers: the series of a query that hold histograms (from the
 * store's side data), as `TimeSeries.histograms` (field 4) for SAMPLES answers and as HISTOGRAM /
 * FLOAT_HISTOGRAM chunks for STREAMED_XOR_CHUNKS answers.
 *
 * @module
 */
import type { NativeHistogram } from "../../model/histogram.ts";
import { compareLabelPairs, type LabelPairs } from "../../model/labels.ts";
import { matchesAllPairs } from "../../query/selector.ts";
import { encodeHistogram } from "../codec/histogram_wire.ts";
import { HistogramChunkEncoder } from "../codec/histogram_chunk.ts";
import { WireWriter } from "../codec/wire.ts";
import type { PreparedQuery } from "./query.ts";
import type { ReadableSeriesStore, StoredSeries } from "./series_store.ts";

/**
 * Bytes a histogram chunk grows to before the next one starts: far above what 120 histograms of
 * usual layouts take, so chunks are cut where Prometheus 2.42 cuts them (120 histograms, a layout
 * change), yet a frame always has room for one.
 */
const CHUNK_MAX_BYTES = 64 * 1024;

/** The series of a query that have side data (histograms maybe) in its time range, sorted by labels. */
export function selectHistogramSeries(
  store: ReadableSeriesStore,
  q: PreparedQuery,
): StoredSeries[] {
  if (!store.sideSeries || q.startMs > q.endMs) return [];
  return store.sideSeries((labels) => matchesAllPairs(q.matchers, labels))
    .filter((s) => s.maxTs >= q.startMs && s.minTs <= q.endMs)
    .sort((a, b) => compareLabelPairs(a.labels, b.labels));
}

/**
 * The histograms of series `id` in the query's time range, in timestamp order; more than
 * `maxHistograms` means the caller's limit is crossed (reading stops there, memory stays bounded).
 */
export async function histogramsOf(
  store: ReadableSeriesStore,
  id: string,
  q: PreparedQuery,
  maxHistograms: number,
): Promise<NativeHistogram[]> {
  if (!store.readSide) return [];
  return (await store.readSide(id, q.startMs, q.endMs, maxHistograms)).histograms;
}

/** `TimeSeries.histograms` (field 4) entries of `histograms`, encoded, to append to a series. */
export function histogramFields(histograms: readonly NativeHistogram[]): Uint8Array {
  const w = new WireWriter(64 + histograms.length * 96);
  for (const h of histograms) encodeHistogram(w, 4, h); // TimeSeries 4: histograms
  return w.finish().slice();
}

/** One encoded chunk of histograms. */
export interface HistogramChunk {
  /** `Chunk.Encoding`: 2 (HISTOGRAM) or 3 (FLOAT_HISTOGRAM). */
  encoding: number;
  /** Timestamp of the first histogram, ms. */
  minTimeMs: number;
  /** Timestamp of the last histogram, ms. */
  maxTimeMs: number;
  /** The chunk bytes. */
  data: Uint8Array;
}

/**
 * `histograms` (timestamps ascending) as Prometheus chunks: a chunk ends at 120 histograms, past
 * 64 KiB, or where the bucket layout, kind or counter continuity changes. A repeated timestamp is
 * dropped (the first kept), as for XOR chunks.
 */
export function* histogramChunks(
  histograms: readonly NativeHistogram[],
): Generator<HistogramChunk> {
  const enc = new HistogramChunkEncoder();
  const take = (): HistogramChunk => {
    const c = {
      encoding: enc.encoding,
      minTimeMs: enc.minTimeMs,
      maxTimeMs: enc.maxTimeMs,
      data: enc.bytes().slice(),
    };
    enc.reset();
    return c;
  };
  let lastTs = -Infinity;
  for (const h of histograms) {
    if (h.timestampMs <= lastTs) continue;
    lastTs = h.timestampMs;
    if (enc.count > 0 && (!enc.canAppend(h) || enc.bytes().length >= CHUNK_MAX_BYTES)) {
      yield take();
    }
    enc.append(h);
  }
  if (enc.count > 0) yield take();
}

/** Merges two label-sorted series lists into one, pairing entries with equal labels. */
export function pairSeries<A extends { labels: LabelPairs }, B extends { labels: LabelPairs }>(
  a: readonly A[],
  b: readonly B[],
): { labels: LabelPairs; a?: A; b?: B }[] {
  const out: { labels: LabelPairs; a?: A; b?: B }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const c = i >= a.length ? 1 : j >= b.length ? -1 : compareLabelPairs(a[i].labels, b[j].labels);
    if (c === 0) out.push({ labels: a[i].labels, a: a[i++], b: b[j++] });
    else if (c < 0) out.push({ labels: a[i].labels, a: a[i++] });
    else out.push({ labels: b[j].labels, b: b[j++] });
  }
  return out;
}
