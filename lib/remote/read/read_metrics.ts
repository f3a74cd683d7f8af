/**
 * The self-metrics of the remote-read endpoint (`serve-read`): requests by response type,
 * queries, series and samples returned, refusals, and the series cache.
 *
 * @module
 */
import type { Registry } from "../../metrics/registry.ts";
import type { ReadAnswerInfo } from "./answer_samples.ts";
import type { SeriesCacheStats } from "./read_cache.ts";

/** Hooks the read handler calls. */
export interface ReadMetricHooks {
  /** Counts an answered request. */
  answered(info: ReadAnswerInfo): void;
  /** Counts a refused request by its status code. */
  refused(status: number): void;
}

/** Registers the read metrics; `cacheStats` is read when scraped. */
export function registerReadMetrics(
  registry: Registry,
  cacheStats: () => SeriesCacheStats,
): ReadMetricHooks {
  const requests = registry.counter(
    "wattwave_remote_read_requests_total",
    "Remote-read requests answered, by response type (samples, streamed).",
    ["response_type"],
  );
  const queries = registry.counter(
    "wattwave_remote_read_queries_total",
    "Queries in answered remote-read requests.",
  );
  const series = registry.counter(
    "wattwave_remote_read_series_returned_total",
    "Series returned by remote read.",
  );
  const samples = registry.counter(
    "wattwave_remote_read_samples_returned_total",
    "Samples returned by remote read.",
  );
  const refused = registry.counter(
    "wattwave_remote_read_refused_total",
    "Remote-read requests refused, by status code (400 malformed, 413 too large, 422 too many samples).",
    ["code"],
  );
  registry.valueOf(
    "wattwave_read_cache_hits_total",
    "Series answered from the cache of decoded series.",
    "counter",
    () => cacheStats().hits,
  );
  registry.valueOf(
    "wattwave_read_cache_misses_total",
    "Series read from the store because the cache did not hold them.",
    "counter",
    () => cacheStats().misses,
  );
  registry.valueOf(
    "wattwave_read_cache_bytes",
    "Bytes held by the cache of decoded series.",
    "gauge",
    () => cacheStats().bytes,
  );
  return {
    answered: (info) => {
      requests.inc([info.responseType]);
      queries.inc([], info.queries);
      series.inc([], info.series);
      samples.inc([], info.samples);
    },
    refused: (status) => refused.inc([String(status)]),
  };
}
