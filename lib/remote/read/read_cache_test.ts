import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { seriesFingerprint, SeriesSampleCache, type SeriesVersion } from "./read_cache.ts";
import { type WireSamples, WireSamplesBuilder } from "../codec/wire_samples.ts";

const T0 = 1_732_350_000_000;

function samples(n: number): WireSamples {
  const ts = Array.from({ length: n }, (_, i) => T0 + i * 1000);
  const b = new WireSamplesBuilder(n);
  b.add(ts, new Float64Array(n).fill(2), 0, n);
  return b.finish();
}

function version(id: string, count: number, segments = 1): SeriesVersion {
  return { id, count, segments, minTs: T0, maxTs: T0 + (count - 1) * 1000 };
}

Deno.test("read cache: hit only while the series is unchanged and the range is covered", () => {
  const cache = new SeriesSampleCache(1 << 20);
  const v1 = version("a", 100);
  const w = samples(100);
  strictEqual(cache.get(v1, T0, T0 + 99_000), undefined);
  cache.set(v1, T0 + 10_000, T0 + 50_000, w);
  strictEqual(cache.get(v1, T0 + 10_000, T0 + 50_000), w);
  strictEqual(cache.get(v1, T0 + 20_000, T0 + 30_000), w);
  strictEqual(cache.get(v1, T0 + 9_999, T0 + 30_000), undefined); // starts before the range read
  strictEqual(cache.get(v1, T0 + 20_000, T0 + 50_001), undefined); // ends after it
  // A range read from before the first sample to after the last covers any range.
  cache.set(v1, T0 - 5_000, T0 + 200_000, w);
  strictEqual(cache.get(v1, 0, 2 * T0), w);
  // A new segment (more samples, another segment) makes the entry stale.
  strictEqual(cache.get(version("a", 150, 2), T0, T0 + 1000), undefined);
  // A rewrite that keeps the sample count but changes the segments too.
  strictEqual(cache.get(version("a", 100, 3), T0, T0 + 1000), undefined);
  // Same count and segments but a different time span.
  strictEqual(cache.get({ ...v1, maxTs: v1.maxTs + 1 }, T0, T0 + 1000), undefined);
  deepStrictEqual(
    { hits: cache.stats().hits, misses: cache.stats().misses, entries: cache.stats().entries },
    { hits: 3, misses: 6, entries: 1 },
  );
});

Deno.test("read cache: bounded by bytes, least recently used evicted first", () => {
  const one = samples(1000).byteSize;
  const cache = new SeriesSampleCache(3 * one + 10);
  for (const id of ["a", "b", "c"]) {
    cache.set(version(id, 1000), -Infinity, Infinity, samples(1000));
  }
  strictEqual(cache.stats().entries, 3);
  cache.get(version("a", 1000), T0, T0); // a is now the most recently used
  cache.set(version("d", 1000), -Infinity, Infinity, samples(1000));
  strictEqual(cache.stats().entries, 3);
  strictEqual(cache.stats().evictions, 1);
  strictEqual(cache.get(version("b", 1000), T0, T0), undefined); // b was least recently used
  for (const id of ["a", "c", "d"]) strictEqual(cache.get(version(id, 1000), T0, T0)?.count, 1000);
  ok(cache.stats().bytes <= cache.maxBytes);
  // Larger than the whole cache: not kept, nothing evicted for it.
  cache.set(version("e", 5000), -Infinity, Infinity, samples(5000));
  strictEqual(cache.get(version("e", 5000), T0, T0), undefined);
  strictEqual(cache.stats().entries, 3);
  // Replacing an entry does not count it twice.
  cache.set(version("a", 1000), -Infinity, Infinity, samples(1000));
  strictEqual(cache.stats().entries, 3);
  cache.clear();
  deepStrictEqual([cache.stats().entries, cache.stats().bytes], [0, 0]);
});

Deno.test("read cache: 0 bytes disables it; stores without counts are not cached", () => {
  const off = new SeriesSampleCache(0);
  off.set(version("a", 10), -Infinity, Infinity, samples(10));
  strictEqual(off.get(version("a", 10), T0, T0), undefined);
  strictEqual(seriesFingerprint({ id: "x", minTs: 1, maxTs: 2 }), undefined);
  const cache = new SeriesSampleCache(1 << 20);
  const bare: SeriesVersion = { id: "x", minTs: T0, maxTs: T0 + 9000 };
  cache.set(bare, -Infinity, Infinity, samples(10));
  strictEqual(cache.get(bare, T0, T0), undefined);
});

Deno.test("read cache: an entry reaching the series' end can be extended when it only grew", () => {
  const cache = new SeriesSampleCache(1 << 20);
  const v1 = version("a", 100);
  const w = samples(100);
  cache.set(v1, -Infinity, Infinity, w);
  const v2 = { ...v1, count: 130, segments: 2, maxTs: v1.maxTs + 30_000 };
  deepStrictEqual(cache.extendable(v2, T0), {
    samples: w,
    fromMs: -Infinity,
    afterMs: v1.maxTs,
    addedSamples: 30,
  });
  strictEqual(cache.extendable(v1, T0), undefined, "unchanged: a hit, not an extension");
  strictEqual(cache.extendable({ ...v2, maxTs: v1.maxTs }, T0), undefined, "no later samples");
  strictEqual(cache.extendable({ ...v2, minTs: T0 - 1 }, T0), undefined, "an earlier sample");
  strictEqual(cache.extendable({ ...v2, count: 100 }, T0), undefined, "rewritten, not grown");
  // An entry that stops before the series' end cannot be extended.
  cache.set(v1, T0 + 10_000, T0 + 50_000, w);
  strictEqual(cache.extendable(v2, T0 + 10_000), undefined);
  // One that starts after the query's start cannot either.
  cache.set(v1, T0 + 10_000, Infinity, w);
  strictEqual(cache.extendable(v2, T0 + 9_000), undefined);
  strictEqual(cache.extendable(v2, T0 + 10_000)?.fromMs, T0 + 10_000);
  strictEqual(new SeriesSampleCache(0).extendable(v2, T0), undefined);
});
