/**
 * A store's series back out as NDJSON, bit-exact: the metadata records of the exported metric
 * names first, then each series in turn, its samples in timestamp order (equal timestamps in the
 * order they were stored). Only segments and FLAC frames covering the range are decoded.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { hexOfWords } from "../model/value.ts";
import type { MetricType } from "../model/sample.ts";
import { formatMetadata, sampleLineHeadOfPairs } from "../ndjson/contract.ts";
import { formatExemplarLine, formatHistogramLine } from "../ndjson/histogram_line.ts";
import { formatJsonValue } from "../ndjson/value_text.ts";
import { startAt, type StartRun } from "./side_record.ts";
import { NdjsonWriter } from "../ndjson/writer.ts";
import { type CompiledMatcher, matchesAllPairs } from "../query/selector.ts";
import type { Store } from "./mod.ts";

/** Options of {@linkcode exportNdjson}. */
export interface ExportOptions {
  /** Series selectors (a union); none selects every series. Default none. */
  selectors?: CompiledMatcher[][];
  /** First timestamp, inclusive, ms. Default -Infinity. */
  startMs?: number;
  /** Last timestamp, inclusive, ms. Default Infinity. */
  endMs?: number;
  /** Write the metadata records first. Default true (false: sample lines only, for `jq`). */
  metadata?: boolean;
  /** Told at once about each series that could not be read whole. */
  onDamaged?: (labels: [string, string][], reason: string) => void;
}

const utf8 = new TextEncoder();

/** A series that could not be read whole: its labels and why (naming the file). */
export interface DamagedSeries {
  /** The series' label pairs. */
  labels: [string, string][];
  /** The reader's error, naming the segment file. */
  reason: string;
}

/** What {@linkcode exportNdjson} wrote. */
export interface ExportCounts {
  /** Series selected. */
  series: number;
  /** Sample lines written. */
  samples: number;
  /** Native histogram lines written. */
  histograms: number;
  /** Exemplar lines written. */
  exemplars: number;
  /**
   * Series whose segments could not be read (a damaged frame or a missing file): the export went
   * on with the others; the samples of such a series read before the damage were written.
   */
  damaged: DamagedSeries[];
}

/** Writes the selected series of `store` to `out` as NDJSON (see the module doc). */
export async function exportNdjson(
  store: Store,
  out: WritableStream<Uint8Array>,
  options: ExportOptions = {},
): Promise<ExportCounts> {
  const selectors = options.selectors ?? [];
  const startMs = options.startMs ?? -Infinity;
  const endMs = options.endMs ?? Infinity;
  const selected = (labels: [string, string][]) =>
    selectors.length === 0 || selectors.some((m) => matchesAllPairs(m, labels));
  const inWindow = (s: { minTs: number; maxTs: number }) => s.maxTs >= startMs && s.minTs <= endMs;
  const floats = store.series(selected).filter(inWindow);
  // Series with histograms, exemplars or start timestamps (often the same as float series).
  const sides = new Map(store.sideSeries(selected).filter(inWindow).map((s) => [s.id, s]));
  const series: { id: string; labels: [string, string][]; floats: boolean }[] = floats.map((s) => ({
    id: s.id,
    labels: s.labels,
    floats: true,
  }));
  const floatIds = new Set(floats.map((s) => s.id));
  for (const s of sides.values()) {
    if (!floatIds.has(s.id)) series.push({ id: s.id, labels: s.labels, floats: false });
  }
  const writer = new NdjsonWriter(out, { bufferBytes: 256 * 1024 });
  let samples = 0;
  let histograms = 0;
  let exemplars = 0;
  const damaged: DamagedSeries[] = [];
  try {
    // Metadata records first, for the metric names of the exported series (in series order).
    const names = new Set<string>();
    for (const s of options.metadata === false ? [] : series) {
      const name = s.labels.find(([n]) => n === "__name__")?.[1] ?? "";
      if (names.has(name)) continue;
      names.add(name);
      const m = store.metadata(name);
      if (!m) continue;
      const p = writer.writeLine(
        formatMetadata({ kind: "metadata", ...m, type: m.type as MetricType }),
      );
      if (p) await p;
    }
    for (const s of series) {
      const headText = sampleLineHeadOfPairs(s.labels);
      const head = utf8.encode(headText);
      try {
        const side = sides.has(s.id) ? await store.readSide(s.id, startMs, endMs) : undefined;
        const starts: StartRun[] = side?.starts ?? [];
        for await (const block of s.floats ? store.read(s.id, startMs, endMs) : []) {
          const ts = block.timestampsMs;
          const v = block.values;
          const words = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
          samples += ts.length;
          for (let i = 0; i < ts.length; i++) {
            const x = v[i];
            const nanBits = x === x ? undefined : hexOfWords(words[2 * i + 1], words[2 * i]);
            const start = starts.length ? startAt(starts, ts[i]) : 0;
            const p = start
              ? writer.writeLine(
                `${headText}${ts[i]},"value":${
                  formatJsonValue(x, nanBits)
                },"startTimestamp":${start}}`,
              )
              : writer.writeSample(head, ts[i], x, nanBits);
            if (p) await p;
          }
        }
        for (const h of side?.histograms ?? []) {
          const p = writer.writeLine(formatHistogramLine(headText, h));
          histograms++;
          if (p) await p;
        }
        for (const e of side?.exemplars ?? []) {
          const p = writer.writeLine(formatExemplarLine(headText, e));
          exemplars++;
          if (p) await p;
        }
      } catch (err) {
        // A damaged segment affects only its series: name it and go on with the others.
        if (!(err instanceof InputError)) throw err;
        damaged.push({ labels: s.labels, reason: err.message });
        options.onDamaged?.(s.labels, err.message);
      }
    }
  } finally {
    await writer.release();
  }
  return { series: series.length, samples, histograms, exemplars, damaged };
}
