/**
 * Where a query's samples come from: the sample cache, the store (a few series at a time), or the
 * read pool's workers; always in wire form ({@linkcode WireSamples}), with the per-query sample
 * limit enforced while reading.
 *
 * @module
 */
import { type WireSamples, WireSamplesBuilder } from "../codec/wire_samples.ts";
import { forEachBounded } from "./bounded.ts";
import type { PreparedQuery } from "./query.ts";
import { queryLimit, tooManySamples } from "./query.ts";
import { HttpRefusal } from "../http.ts";
import { InputError } from "../../errors.ts";
import { seriesText } from "../../model/labels.ts";
import type { SeriesSampleCache } from "./read_cache.ts";
import { PoolBudgetError, type PoolJobItem } from "./read_pool.ts";
import type { ReadableSeriesStore, SeriesReader, StoredSeries } from "./series_store.ts";

/** Fewest series not in the cache for a query to be read by the read pool. */
export const POOL_MIN_SERIES = 8;

/**
 * Series read from the store at the same time for one query. Segment reads are synchronous
 * (page-cache reads, see `Store.read`): the runners take turns between series.
 */
const READ_CONCURRENCY = 4;

/** Samples `[from, to)` of a series' {@linkcode WireSamples}: those in a query's range. */
export interface SeriesSamples {
  /** All samples kept for the series (maybe more than the query's range). */
  samples: WireSamples;
  /** First index in the query's range. */
  from: number;
  /** End index (exclusive) of the query's range. */
  to: number;
}

/** Options of {@linkcode SeriesSampleSource}. */
export interface SeriesSampleSourceOptions {
  /** Most samples one query may return (422 beyond). */
  maxSamplesPerQuery: number;
  /** Workers that read series in parallel. Default none. */
  readPool?: SeriesReader;
}

/** Reads the samples of selected series for queries (see the module doc). */
export class SeriesSampleSource {
  #store: ReadableSeriesStore;
  #cache: SeriesSampleCache;
  #pool?: SeriesReader;
  #maxSamples: number;

  /** A source over `store` that keeps what it reads in `cache`. */
  constructor(
    store: ReadableSeriesStore,
    cache: SeriesSampleCache,
    options: SeriesSampleSourceOptions,
  ) {
    this.#store = store;
    this.#cache = cache;
    this.#pool = options.readPool;
    this.#maxSamples = options.maxSamplesPerQuery;
  }

  /**
   * The samples of series `s` with timestamps in `[startMs, endMs]`, from the cache or read from
   * the store (and cached). Refuses (422) once more than `budget` samples are read.
   */
  async seriesSamples(
    s: StoredSeries,
    startMs: number,
    endMs: number,
    budget: number,
    queryIndex: number,
    refusal: () => HttpRefusal = () => tooManySamples(queryIndex, this.#maxSamples),
  ): Promise<SeriesSamples> {
    try {
      return await this.#seriesSamples(s, startMs, endMs, budget, refusal);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      // A damaged segment: this query fails naming the series and file; others are answered.
      throw new HttpRefusal(
        500,
        `query ${queryIndex}: series ${seriesText(s.labels)} cannot be read (${err.message}); ` +
          `queries of other series are answered; \`wattwave compress --store DIR --repair\` ` +
          `takes the damaged ranges out of the store`,
      );
    }
  }

  async #seriesSamples(
    s: StoredSeries,
    startMs: number,
    endMs: number,
    budget: number,
    refusal: () => HttpRefusal,
  ): Promise<SeriesSamples> {
    const cache = this.#cache;
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
      for await (const block of this.#store.read(s.id, ext.afterMs + 1, Infinity)) {
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
    const samples = await this.#readOne(s.id, startMs, endMs, s.count ?? 256, budget);
    if (!samples) throw refusal();
    cache.set(s, startMs, endMs, samples);
    return { samples, from: 0, to: samples.count };
  }

  /** Reads and encodes one series range; undefined once more than `budget` samples are read. */
  async #readOne(
    id: string,
    startMs: number,
    endMs: number,
    expectedSamples: number,
    budget: number,
  ): Promise<WireSamples | undefined> {
    const builder = new WireSamplesBuilder(expectedSamples);
    for await (const block of this.#store.read(id, startMs, endMs)) {
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
  readJobHere = async (items: PoolJobItem[], budget: number): Promise<WireSamples[]> => {
    const out: WireSamples[] = new Array(items.length);
    let total = 0;
    await forEachBounded(items.length, READ_CONCURRENCY, async (i) => {
      const it = items[i];
      const w = await this.#readOne(
        it.id,
        it.startMs,
        it.endMs,
        it.expectedSamples,
        budget - total,
      );
      if (!w || (total += w.count) > budget) throw new PoolBudgetError("sample budget exceeded");
      out[i] = w;
    });
    return out;
  };

  /**
   * {@linkcode seriesSamples} of every series of a query, in order: cached ones at once; with a
   * read pool and at least {@linkcode POOL_MIN_SERIES} series to read in full, those are read by
   * the pool (and this thread); the others `READ_CONCURRENCY` at a time here. Refuses (422)
   * once the query's samples pass the limit.
   */
  async allSeriesSamples(
    selected: StoredSeries[],
    q: PreparedQuery,
    qi: number,
    requestLeft = Infinity,
  ): Promise<SeriesSamples[]> {
    const cache = this.#cache;
    const limit = queryLimit(qi, this.#maxSamples, requestLeft);
    const maxSamples = limit.samples;
    const found: SeriesSamples[] = new Array(selected.length);
    let samples = 0;
    const add = (i: number, got: SeriesSamples) => {
      found[i] = got;
      samples += got.to - got.from;
      if (samples > maxSamples) throw limit.refusal();
    };
    let here: number[] = []; // read (or extended) in this thread
    const pooled: number[] = [];
    const pool = this.#pool;
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
          this.readJobHere,
        );
        for (let k = 0; k < pooled.length; k++) {
          const w = got[k];
          cache.set(selected[pooled[k]], q.startMs, q.endMs, w);
          add(pooled[k], { samples: w, from: 0, to: w.count });
        }
      } catch (err) {
        if (err instanceof PoolBudgetError) throw limit.refusal();
        // The pool broke down, or a series could not be read (a damaged segment): read them
        // here, where a damaged series is named.
        here = here.concat(pooled);
      }
    } else here = here.concat(pooled);
    await forEachBounded(here.length, READ_CONCURRENCY, async (k) => {
      const i = here[k];
      add(
        i,
        await this.seriesSamples(
          selected[i],
          q.startMs,
          q.endMs,
          maxSamples - samples,
          qi,
          limit.refusal,
        ),
      );
    });
    return found;
  }
}
