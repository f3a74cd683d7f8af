/**
 * Native histograms and exemplars as remote write carries them (prompb `Histogram`,
 * `BucketSpan`, `Exemplar`; the same fields in remote write 1.0 and 2.0).
 *
 * Every float64 field keeps its exact bits: scalar fields as {@linkcode ExactValue}s, bucket
 * counts and custom bounds in typed arrays (copied as bytes). A stale native histogram is one
 * whose `sum` is the staleness marker.
 *
 * @module
 */
import type { ExactValue } from "./value.ts";

/** `Histogram.ResetHint` as NDJSON spells it, by enum number (UNKNOWN = 0 … GAUGE = 3). */
export const RESET_HINTS = ["unknown", "yes", "no", "gauge"] as const;

/** One of {@linkcode RESET_HINTS}. */
export type ResetHint = typeof RESET_HINTS[number];

/** The schema of histograms with custom bucket bounds (`custom_values`). */
export const CUSTOM_BUCKETS_SCHEMA = -53;

/** One native histogram sample, integer or float. */
export interface NativeHistogram {
  /** Milliseconds since the Unix epoch. */
  timestampMs: number;
  /** Start (created) timestamp, ms; 0 when not known. */
  startTimestampMs: number;
  /**
   * A float histogram: `count`, `zeroCount` and the bucket counts are float64
   * (`count_float`, `zero_count_float`, `*_counts`); otherwise they are integers
   * (`count_int`, `zero_count_int`, `*_deltas`).
   */
  isFloat: boolean;
  /** Observations: an integer (integer histograms) or an exact float64. */
  count: ExactValue;
  /** Sum of observations; the staleness marker for a stale histogram. */
  sum: ExactValue;
  /** Bucket schema: −4 … 8 exponential, −53 custom bounds. */
  schema: number;
  /** Width of the zero bucket. */
  zeroThreshold: ExactValue;
  /** Observations in the zero bucket. */
  zeroCount: ExactValue;
  /** Negative bucket spans, flat: `[offset, length, offset, length, …]`. */
  negativeSpans: number[];
  /** Integer histograms: bucket count deltas (first against 0). */
  negativeDeltas: number[];
  /** Float histograms: absolute bucket counts. */
  negativeCounts: Float64Array;
  /** Positive bucket spans, flat like {@linkcode negativeSpans}. */
  positiveSpans: number[];
  /** Integer histograms: bucket count deltas. */
  positiveDeltas: number[];
  /** Float histograms: absolute bucket counts. */
  positiveCounts: Float64Array;
  /** Reset hint (index into {@linkcode RESET_HINTS}). */
  resetHint: number;
  /** Custom bucket upper bounds (schema −53); empty otherwise. */
  customValues: Float64Array;
}

/** An exemplar of a series: its own labels (a trace id, say), a value and a timestamp. */
export interface Exemplar {
  /** `[name, value]` pairs, sorted by name. */
  labels: [string, string][];
  /** The exemplar's value. */
  value: ExactValue;
  /** Milliseconds since the Unix epoch; 0 when not known. */
  timestampMs: number;
}

/** An empty integer histogram at `timestampMs` (every field at its protobuf default). */
export function emptyHistogram(timestampMs = 0): NativeHistogram {
  return {
    timestampMs,
    startTimestampMs: 0,
    isFloat: false,
    count: { value: 0 },
    sum: { value: 0 },
    schema: 0,
    zeroThreshold: { value: 0 },
    zeroCount: { value: 0 },
    negativeSpans: [],
    negativeDeltas: [],
    negativeCounts: new Float64Array(0),
    positiveSpans: [],
    positiveDeltas: [],
    positiveCounts: new Float64Array(0),
    resetHint: 0,
    customValues: new Float64Array(0),
  };
}

function spanBuckets(spans: number[]): number {
  let n = 0;
  for (let i = 1; i < spans.length; i += 2) n += spans[i];
  return n;
}

/**
 * Why `h` is not a valid native histogram (as Prometheus' `ValidateHistogram` sees it: schema
 * range, buckets matching their spans, custom bounds only with schema −53), or undefined.
 */
export function histogramProblem(h: NativeHistogram): string | undefined {
  const custom = h.schema === CUSTOM_BUCKETS_SCHEMA;
  if (!custom && (h.schema < -4 || h.schema > 8)) {
    return `histogram schema ${h.schema} is not -4…8 or -53`;
  }
  if (custom && (h.negativeSpans.length || h.negativeDeltas.length || h.negativeCounts.length)) {
    return "a histogram of custom buckets (schema -53) has no negative buckets";
  }
  if (!custom && h.customValues.length) {
    return "customValues belong to schema -53 only";
  }
  for (
    const [side, spans, buckets] of [
      ["negative", h.negativeSpans, h.isFloat ? h.negativeCounts.length : h.negativeDeltas.length],
      ["positive", h.positiveSpans, h.isFloat ? h.positiveCounts.length : h.positiveDeltas.length],
    ] as const
  ) {
    const want = spanBuckets(spans);
    if (want !== buckets) {
      return `histogram ${side} spans hold ${want} buckets but ${buckets} ${
        h.isFloat ? "counts" : "deltas"
      } are given`;
    }
  }
  return undefined;
}
