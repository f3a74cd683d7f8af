/**
 * The in-memory model every subcommand shares: samples, metric metadata and label sets.
 *
 * @module
 */
import type { LabelPairs } from "./labels.ts";
import type { ExactValue } from "./value.ts";
import type { Exemplar, NativeHistogram } from "./histogram.ts";

/** Label names to values, without `__name__` (the metric name is kept apart). */
export type Labels = Record<string, string>;

/** One sample of one series. `nanBits` is set exactly when `value` is NaN (see `value.ts`). */
export interface Sample extends ExactValue {
  /** Discriminant of {@linkcode NdjsonRecord}. */
  kind: "sample";
  /** Metric name (`__name__`). */
  name: string;
  /** Other labels. */
  labels: Labels;
  /** Milliseconds since the Unix epoch (an integer). */
  timestampMs: number;
  /** Start (created) timestamp, ms, when known (remote write 2.0 carries it). */
  startTimestampMs?: number;
}

/** One native histogram sample of one series. */
export interface HistogramRecord {
  /** Discriminant of {@linkcode NdjsonRecord}. */
  kind: "histogram";
  /** Metric name (`__name__`). */
  name: string;
  /** Other labels. */
  labels: Labels;
  /** The histogram, its timestamp included. */
  histogram: NativeHistogram;
}

/** One exemplar of one series. */
export interface ExemplarRecord {
  /** Discriminant of {@linkcode NdjsonRecord}. */
  kind: "exemplar";
  /** Metric name of the series. */
  name: string;
  /** Other labels of the series. */
  labels: Labels;
  /** The exemplar (its own labels, value and timestamp). */
  exemplar: Exemplar;
}

/** Metric types as NDJSON spells them (OpenMetrics names). */
export const METRIC_TYPES = [
  "counter",
  "gauge",
  "histogram",
  "gaugehistogram",
  "summary",
  "info",
  "stateset",
  "unknown",
] as const;

/** One of {@linkcode METRIC_TYPES}. */
export type MetricType = typeof METRIC_TYPES[number];

/** Metadata of a metric family: type, unit and help text. */
export interface MetricMetadata {
  /** Discriminant of {@linkcode NdjsonRecord}. */
  kind: "metadata";
  /** Metric family name. */
  name: string;
  /** Metric type. */
  type: MetricType;
  /** Unit, e.g. `joules` (empty when unknown). */
  unit: string;
  /** Help text (empty when unknown). */
  help: string;
}

/** One NDJSON line: a sample, a metadata record, a native histogram or an exemplar. */
export type NdjsonRecord = Sample | MetricMetadata | HistogramRecord | ExemplarRecord;

/** Valid metric names: `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
export const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Valid label names: `[a-zA-Z_][a-zA-Z0-9_]*`. */
export const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A canonical key for a series: name and labels sorted by label name, joined with
 * separators that cannot occur in names (`\xff` is not valid UTF-8 in label values sent on the wire).
 */
export function seriesKey(name: string, labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length === 0) return name;
  names.sort();
  let key = name;
  for (const n of names) key += "\xff" + n + "\xfe" + labels[n];
  return key;
}

/** Labels including `__name__`, sorted by name, as `[name, value]` pairs (the wire order). */
export function sortedLabelPairs(name: string, labels: Labels): LabelPairs {
  const pairs: LabelPairs = [["__name__", name]];
  for (const n in labels) pairs.push([n, labels[n]]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs;
}
