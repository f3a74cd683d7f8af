/**
 * What a store holds, from its index alone (no segment is read), like `promtool tsdb analyze`:
 * series, samples, time range, bytes on disk and per sample, files and ranges, the top metrics by
 * samples and by bytes, label names with their value counts, and optionally every series.
 *
 * Bytes are attributed to series by their share of each file's samples (a packed file holds
 * several series' ranges one after the other); the index file's bytes are counted in the total
 * only.
 *
 * @module
 */
import type { LabelPairs } from "../model/labels.ts";
import { type CompiledMatcher, matchesAllPairs } from "../query/selector.ts";
import type { CommittedIndex } from "./committed.ts";
import type { StoreStats } from "./types.ts";

/** One metric name's totals. */
export interface MetricTotals {
  /** Metric name. */
  name: string;
  /** Series with that name. */
  series: number;
  /** Their samples. */
  samples: number;
  /** Bytes of segment files attributed to them. */
  bytes: number;
}

/** One label name: in how many series, with how many distinct values. */
export interface LabelTotals {
  /** Label name. */
  name: string;
  /** Series that have it. */
  series: number;
  /** Distinct values. */
  values: number;
}

/** One series' totals (with `series: true`). */
export interface SeriesTotals {
  /** Labels with `__name__`, sorted. */
  labels: LabelPairs;
  /** Samples. */
  samples: number;
  /** Ranges (one per commit until compacted). */
  ranges: number;
  /** Bytes attributed. */
  bytes: number;
  /** Smallest timestamp, ms. */
  minTs: number;
  /** Largest timestamp, ms. */
  maxTs: number;
}

/** What {@linkcode analyzeStore} found. */
export interface StoreAnalysis {
  /** Series selected (with at least one sample). */
  series: number;
  /** Their samples. */
  samples: number;
  /** Smallest timestamp, ms (null when no sample). */
  minTs: number | null;
  /** Largest timestamp, ms (null when no sample). */
  maxTs: number | null;
  /** Segment bytes attributed to the selected series. */
  segmentBytes: number;
  /** `segmentBytes / samples` (0 when no sample). */
  bytesPerSample: number;
  /** Ranges of the selected series. */
  ranges: number;
  /** Files holding them. */
  files: number;
  /** Totals of the whole store, whatever the selection. */
  store: {
    series: number;
    samples: number;
    files: number;
    segmentBytes: number;
    indexBytes: number;
    /** Side files (native histograms, exemplars, start timestamps). */
    sideFiles: number;
    /** Their bytes. */
    sideBytes: number;
    /** Native histogram samples in them. */
    histograms: number;
    /** Exemplars in them. */
    exemplars: number;
  };
  /** Metric names, most samples first. */
  topBySamples: MetricTotals[];
  /** Metric names, most bytes first. */
  topByBytes: MetricTotals[];
  /** Label names (`__name__` included), most distinct values first. */
  labels: LabelTotals[];
  /** Every selected series, by labels (with `series: true`). */
  seriesList?: SeriesTotals[];
}

/** Options of {@linkcode analyzeStore}. */
export interface AnalyzeOptions {
  /** Series selectors (a union); none selects all. Default none. */
  selectors?: CompiledMatcher[][];
  /** Entries in each top list. Default 10. */
  top?: number;
  /** List every selected series. Default false. */
  series?: boolean;
}

/** Analyzes the committed index (see the module doc). */
export function analyzeStore(
  committed: CommittedIndex,
  options: AnalyzeOptions = {},
): StoreAnalysis {
  const index = committed.index;
  const selectors = options.selectors ?? [];
  const top = options.top ?? 10;
  const fileShare = new Map<string, number>(); // bytes per sample of each file
  for (const f of index.files) fileShare.set(f.file, f.count > 0 ? f.bytes / f.count : 0);
  let storeSamples = 0;
  let storeSeries = 0;
  let storeSegmentBytes = 0;
  for (const f of index.files) storeSegmentBytes += f.bytes;
  const metrics = new Map<string, MetricTotals>();
  const labelValues = new Map<string, { series: number; values: Set<string> }>();
  const files = new Set<string>();
  const list: SeriesTotals[] = [];
  let series = 0;
  let samples = 0;
  let ranges = 0;
  let bytes = 0;
  let minTs = Infinity;
  let maxTs = -Infinity;
  for (const s of index.series) {
    let n = 0;
    let b = 0;
    let lo = Infinity;
    let hi = -Infinity;
    const rangeCount = s.rangeCount;
    for (let k = 0; k < rangeCount; k++) {
      const count = s.rangeSamples(k);
      n += count;
      b += count * (fileShare.get(s.rangeFile(k)) ?? 0);
      lo = Math.min(lo, s.rangeMinTs(k));
      hi = Math.max(hi, s.rangeMaxTs(k));
    }
    if (n > 0) storeSeries++;
    storeSamples += n;
    if (n === 0) continue;
    if (selectors.length > 0 && !selectors.some((m) => matchesAllPairs(m, s.labels))) continue;
    series++;
    samples += n;
    ranges += rangeCount;
    bytes += b;
    for (let k = 0; k < rangeCount; k++) files.add(s.rangeFile(k));
    if (lo < minTs) minTs = lo;
    if (hi > maxTs) maxTs = hi;
    const name = s.labels.find(([k]) => k === "__name__")?.[1] ?? "";
    const m = metrics.get(name) ?? { name, series: 0, samples: 0, bytes: 0 };
    m.series++;
    m.samples += n;
    m.bytes += b;
    metrics.set(name, m);
    for (const [k, v] of s.labels) {
      const l = labelValues.get(k) ?? { series: 0, values: new Set<string>() };
      l.series++;
      l.values.add(v);
      labelValues.set(k, l);
    }
    if (options.series) {
      list.push({
        labels: s.labels,
        samples: n,
        ranges: rangeCount,
        bytes: b,
        minTs: lo,
        maxTs: hi,
      });
    }
  }
  const all = [...metrics.values()].map((m) => ({ ...m, bytes: Math.round(m.bytes) }));
  const byName = (a: { name: string }, b: { name: string }) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  const analysis: StoreAnalysis = {
    series,
    samples,
    minTs: samples ? minTs : null,
    maxTs: samples ? maxTs : null,
    segmentBytes: Math.round(bytes),
    bytesPerSample: samples ? bytes / samples : 0,
    ranges,
    files: files.size,
    store: {
      series: storeSeries,
      samples: storeSamples,
      files: index.files.length,
      segmentBytes: storeSegmentBytes,
      indexBytes: committed.bytes,
      sideFiles: index.sides.length,
      sideBytes: index.sides.reduce((n, f) => n + f.bytes, 0),
      histograms: index.sides.reduce((n, f) => n + f.histograms, 0),
      exemplars: index.sides.reduce((n, f) => n + f.exemplars, 0),
    },
    topBySamples: [...all].sort((a, b) => b.samples - a.samples || byName(a, b)).slice(0, top),
    topByBytes: [...all].sort((a, b) => b.bytes - a.bytes || byName(a, b)).slice(0, top),
    labels: [...labelValues].map(([name, l]) => ({ name, series: l.series, values: l.values.size }))
      .sort((a, b) => b.values - a.values || byName(a, b)),
  };
  if (options.series) {
    analysis.seriesList = list.map((s) => ({ ...s, bytes: Math.round(s.bytes) }));
  }
  return analysis;
}

function isoOrDash(ms: number | null): string {
  if (ms === null) return "-";
  return Math.abs(ms) <= 8.64e15 ? `${new Date(ms).toISOString()} (${ms})` : String(ms);
}

function labelText(labels: LabelPairs): string {
  let name = "";
  const rest: string[] = [];
  for (const [k, v] of labels) {
    if (k === "__name__") name = v;
    else rest.push(`${k}=${JSON.stringify(v)}`);
  }
  return `${name}{${rest.join(",")}}`;
}

/** The analysis as text for a terminal, one block after the other. */
export function formatAnalysis(a: StoreAnalysis): string {
  const lines: string[] = [];
  const num = (n: number) => n.toLocaleString("en-US");
  lines.push(
    `series: ${num(a.series)}`,
    `samples: ${num(a.samples)}`,
    `time range: ${isoOrDash(a.minTs)} .. ${isoOrDash(a.maxTs)}`,
    `bytes on disk: ${num(a.segmentBytes)} in segments (${
      a.bytesPerSample.toFixed(3)
    } bytes/sample)`,
    `ranges: ${num(a.ranges)} in ${num(a.files)} files`,
    `whole store: ${num(a.store.series)} series, ${num(a.store.samples)} samples, ` +
      `${num(a.store.files)} files, ${
        num(a.store.segmentBytes + a.store.sideBytes + a.store.indexBytes)
      } bytes ` +
      `(index ${num(a.store.indexBytes)})` +
      (a.store.sideFiles
        ? `; ${num(a.store.histograms)} native histograms and ${
          num(a.store.exemplars)
        } exemplars in ${num(a.store.sideFiles)} side files (${num(a.store.sideBytes)} bytes)`
        : ""),
    "",
    "top metrics by samples:",
    ...a.topBySamples.map((m) => `  ${num(m.samples)}  ${m.name}  (${num(m.series)} series)`),
    "",
    "top metrics by bytes:",
    ...a.topByBytes.map((m) =>
      `  ${num(m.bytes)}  ${m.name}  (${
        (m.samples ? m.bytes / m.samples : 0).toFixed(3)
      } bytes/sample)`
    ),
    "",
    "label names by distinct values:",
    ...a.labels.map((l) => `  ${num(l.values)}  ${l.name}  (in ${num(l.series)} series)`),
  );
  if (a.seriesList) {
    lines.push("", "series:");
    for (const s of a.seriesList) {
      lines.push(
        `  ${labelText(s.labels)}  ${num(s.samples)} samples, ${s.ranges} ranges, ` +
          `${num(s.bytes)} bytes, ${isoOrDash(s.minTs)} .. ${isoOrDash(s.maxTs)}`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** Totals of the committed store (see `Store.stats`). */
export function storeStats(committed: CommittedIndex): StoreStats {
  const index = committed.index;
  let ranges = 0;
  let samples = 0;
  let series = 0;
  for (const s of index.series) {
    const n = s.rangeCount;
    if (n) series++;
    ranges += n;
    for (let k = 0; k < n; k++) samples += s.rangeSamples(k);
  }
  let segmentBytes = 0;
  for (const f of index.files) segmentBytes += f.bytes;
  let sideBytes = 0;
  let histograms = 0;
  let exemplars = 0;
  for (const f of index.sides) {
    sideBytes += f.bytes;
    histograms += f.histograms;
    exemplars += f.exemplars;
  }
  return {
    series,
    segments: index.files.length,
    ranges,
    samples,
    segmentBytes,
    indexBytes: committed.bytes,
    sideFiles: index.sides.length,
    sideBytes,
    histograms,
    exemplars,
  };
}
