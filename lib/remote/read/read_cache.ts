/**
 * A bounded LRU cache of the samples of series already read from the store, kept in wire form
 * ({@linkcode WireSamples}), so that repeated queries (dashboards refreshing, the same panel over
 * several queries) skip reading files, FLAC decoding and protobuf encoding.
 *
 * Correctness rests on segments being immutable: the samples of a series only change when its
 * committed segments change, and then its fingerprint (sample count, segment count, first and last
 * timestamp, as `Store.series()` lists them after `refresh()`) changes too. An entry is used only
 * when its fingerprint equals the series' current one and its time range covers the query; a
 * series whose fingerprint moved is read again (and its entry replaced), except when it only grew
 * at the end ({@linkcode SeriesSampleCache.extendable}): then only the new tail is read and
 * appended. Entries are bounded by bytes; the least recently used go first.
 *
 * @module
 */
import type { WireSamples } from "../codec/wire_samples.ts";

/** What the cache needs to know of a series (as `Store.series()` lists it). */
export interface SeriesVersion {
  /** Series id. */
  id: string;
  /** Committed samples. */
  count?: number;
  /** Committed segments. */
  segments?: number;
  /** Smallest committed timestamp, ms. */
  minTs: number;
  /** Largest committed timestamp, ms. */
  maxTs: number;
}

/**
 * The fingerprint of a series' committed data, or undefined when the store does not list sample
 * and segment counts (then nothing is cached for it).
 */
export function seriesFingerprint(s: SeriesVersion): string | undefined {
  if (s.count === undefined || s.segments === undefined) return undefined;
  return `${s.count}:${s.segments}:${s.minTs}:${s.maxTs}`;
}

interface Entry {
  fingerprint: string;
  /** The series as listed when the entry was read. */
  count: number;
  minTs: number;
  maxTs: number;
  /** Queries with startMs ≥ fromMs and endMs ≤ toMs are covered (-Infinity/Infinity: open). */
  fromMs: number;
  toMs: number;
  samples: WireSamples;
  bytes: number;
}

/** Counters of a {@linkcode SeriesSampleCache}. */
export interface SeriesCacheStats {
  /** Entries held. */
  entries: number;
  /** Bytes held. */
  bytes: number;
  /** Lookups answered from the cache. */
  hits: number;
  /** Lookups that had to read the store. */
  misses: number;
  /** Entries dropped to stay within the byte bound. */
  evictions: number;
}

/** The LRU cache (see the module doc). `maxBytes` 0 disables it. */
export class SeriesSampleCache {
  /** Upper bound on the bytes of cached samples. */
  readonly maxBytes: number;
  #entries = new Map<string, Entry>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  /** A cache holding at most `maxBytes` of samples. */
  constructor(maxBytes: number) {
    this.maxBytes = Math.max(0, maxBytes);
  }

  /**
   * The cached samples of `series` when they are current and cover `[startMs, endMs]`;
   * marks them recently used. Undefined (a miss) otherwise.
   */
  get(series: SeriesVersion, startMs: number, endMs: number): WireSamples | undefined {
    if (this.maxBytes === 0) return undefined;
    const e = this.#entries.get(series.id);
    if (
      e && e.fingerprint === seriesFingerprint(series) && e.fromMs <= startMs && endMs <= e.toMs
    ) {
      this.#entries.delete(series.id); // re-insert: most recently used last
      this.#entries.set(series.id, e);
      this.#hits++;
      return e.samples;
    }
    this.#misses++;
    return undefined;
  }

  /**
   * The entry of a series that has changed only by growing (more samples, same first timestamp,
   * a later last one) and that holds everything up to its old last sample: the caller reads the
   * samples after `afterMs` and keeps the result only if they number exactly `addedSamples`
   * (the store never drops samples, so then no sample landed at or before `afterMs`). Undefined
   * when there is no such entry or it does not cover `startMs`.
   */
  extendable(
    series: SeriesVersion,
    startMs: number,
  ): { samples: WireSamples; fromMs: number; afterMs: number; addedSamples: number } | undefined {
    if (this.maxBytes === 0 || series.count === undefined) return undefined;
    const e = this.#entries.get(series.id);
    if (
      !e || e.toMs !== Infinity || e.fromMs > startMs || e.minTs !== series.minTs ||
      !(series.count > e.count) || !(series.maxTs > e.maxTs)
    ) return undefined;
    return {
      samples: e.samples,
      fromMs: e.fromMs,
      afterMs: e.maxTs,
      addedSamples: series.count - e.count,
    };
  }

  /**
   * Whether samples of this many bytes could be kept (callers skip building cache entries that
   * would be refused).
   */
  fits(bytes: number): boolean {
    return bytes <= this.maxBytes;
  }

  /**
   * Keeps `samples`: every committed sample of `series` with a timestamp in `[fromMs, toMs]`
   * (as read after the refresh that listed `series`). Replaces the series' previous entry and
   * evicts the least recently used entries beyond the bound.
   */
  set(series: SeriesVersion, fromMs: number, toMs: number, samples: WireSamples): void {
    const fingerprint = seriesFingerprint(series);
    if (fingerprint === undefined || !this.fits(samples.byteSize)) return;
    this.delete(series.id);
    const entry: Entry = {
      fingerprint,
      count: series.count!,
      minTs: series.minTs,
      maxTs: series.maxTs,
      // A range reaching past the series' first/last sample covers every range beyond it too.
      fromMs: fromMs <= series.minTs ? -Infinity : fromMs,
      toMs: toMs >= series.maxTs ? Infinity : toMs,
      samples,
      bytes: samples.byteSize,
    };
    this.#entries.set(series.id, entry);
    this.#bytes += entry.bytes;
    for (const [id, e] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(id);
      this.#bytes -= e.bytes;
      this.#evictions++;
    }
  }

  /** Drops the entry of series `id`, if any. */
  delete(id: string): void {
    const old = this.#entries.get(id);
    if (!old) return;
    this.#entries.delete(id);
    this.#bytes -= old.bytes;
  }

  /** Drops everything. */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  /** Current counters. */
  stats(): SeriesCacheStats {
    return {
      entries: this.#entries.size,
      bytes: this.#bytes,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
    };
  }
}
