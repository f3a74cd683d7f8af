/**
 * What the remote-read path needs from a series store (`lib/store`'s `Store` has it) and from a
 * parallel series reader (`read_pool.ts`).
 *
 * @module
 */
import type { NativeHistogram } from "../../model/histogram.ts";
import type { LabelPairs } from "../../model/labels.ts";
import type { WireSamples } from "../codec/wire_samples.ts";
import type { PoolJobItem } from "./read_pool.ts";

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
  /** The committed series with side data (native histograms…) whose labels satisfy `predicate`. */
  sideSeries?(predicate?: (labels: LabelPairs) => boolean): StoredSeries[];
  /**
   * The native histograms of series `id` in `[startMs, endMs]`, in timestamp order; reading may
   * stop once more than `maxHistograms` were found.
   */
  readSide?(
    id: string,
    startMs: number,
    endMs: number,
    maxHistograms?: number,
  ): Promise<{ histograms: NativeHistogram[] }>;
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
