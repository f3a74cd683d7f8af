/**
 * NDJSON lines → columns: the samples of a batch of lines as typed arrays (series id,
 * timestamp, value bits), which a worker can hand to another thread without making an object
 * per sample. Series are numbered per parser; each batch carries the series first seen in it.
 *
 * @module
 */
import type {
  ExemplarRecord,
  HistogramRecord,
  Labels,
  MetricMetadata,
  Sample,
} from "../model/sample.ts";
import { writeExactValue } from "../model/value.ts";
import { SeriesMap } from "../model/series_map.ts";
import { BadLine } from "./contract.ts";
import { lineBytes, parseLineAt } from "./reader.ts";
import { splitLines, type SplitLinesOptions } from "./lines.ts";

/** The samples of a batch of lines, in line order, from one {@linkcode ColumnParser}. */
export interface SampleColumns {
  /** Id of the parser: series ids are its own. */
  parser: number;
  /** The parser forgot its series before this batch: ids start over. */
  reset: boolean;
  /** Series first seen in this batch; their ids follow the parser's earlier ones (0, 1, ...). */
  newSeries: { name: string; labels: Labels }[];
  /** Samples. */
  count: number;
  /** Series id of each sample. */
  seriesIds: Uint32Array;
  /** Timestamp of each sample, ms. */
  timestampsMs: Float64Array;
  /** Value of each sample, as little-endian float64 bits (NaN payloads kept: copy the bits). */
  values: Float64Array;
  /** Metadata records; `at` is the index of the sample that followed it. */
  metadata: { at: number; record: MetricMetadata }[];
  /**
   * Native histogram and exemplar records, and samples with a start timestamp (which the
   * columns have no room for); `at` as in {@linkcode metadata}.
   */
  others: { at: number; record: HistogramRecord | ExemplarRecord | Sample }[];
  /** Bad lines skipped: index of the line in the batch (0-based), and what is wrong. */
  badLines: { line: number; message: string }[];
  /** In strict mode, the bad line where parsing stopped (the columns hold what came before). */
  strictError?: { line: number; message: string };
  /** Lines in the batch, blank ones included (where the next batch's line numbers start). */
  lineCount: number;
  /** Lines read (blank lines excluded; bad lines included). */
  lines: number;
  /** Bytes of input consumed. */
  bytes: number;
}

/** Options of {@linkcode ColumnParser}. */
export interface ColumnParserOptions {
  /** Stop at the first bad line of a batch (see {@linkcode SampleColumns.strictError}). Default false. */
  strict?: boolean;
  /** Series remembered before the ids start over (between batches). Default 100,000. */
  maxSeries?: number;
}

/** Parses batches of lines into {@linkcode SampleColumns}, numbering series as it goes. */
export class ColumnParser {
  #id: number;
  #strict: boolean;
  #maxSeries: number;
  #ids: SeriesMap<number>;
  #nextId = 0;
  #newSeries: { name: string; labels: Labels }[] = [];
  #decoder = new TextDecoder("utf-8", { ignoreBOM: true });

  /** A parser whose batches say they come from parser `id`. */
  constructor(id: number, options: ColumnParserOptions = {}) {
    this.#id = id;
    this.#strict = options.strict ?? false;
    this.#maxSeries = options.maxSeries ?? 100_000;
    this.#ids = new SeriesMap((name, labels) => {
      this.#newSeries.push({ name, labels });
      return this.#nextId++;
    });
  }

  /** Parses the lines `bytes[starts[i], ends[i])` (ranges as `byteLinesOf` gives them). */
  parse(bytes: Uint8Array, starts: ArrayLike<number>, ends: ArrayLike<number>): SampleColumns {
    const reset = this.#ids.size >= this.#maxSeries;
    if (reset) {
      this.#ids.clear();
      this.#nextId = 0;
    }
    const n = starts.length;
    const seriesIds = new Uint32Array(n);
    const timestampsMs = new Float64Array(n);
    const values = new Float64Array(n);
    const valuesView = new DataView(values.buffer);
    const cols: SampleColumns = {
      parser: this.#id,
      reset,
      newSeries: this.#newSeries = [],
      count: 0,
      seriesIds,
      timestampsMs,
      values,
      metadata: [],
      others: [],
      badLines: [],
      lineCount: n,
      lines: 0,
      bytes: 0,
    };
    let count = 0;
    for (let i = 0; i < n; i++) {
      cols.bytes += lineBytes(starts[i], ends[i]);
      let record;
      try {
        record = parseLineAt(bytes, starts[i], ends[i], this.#decoder);
      } catch (err) {
        if (!(err instanceof BadLine)) throw err;
        cols.lines++;
        const bad = { line: i, message: err.message };
        if (this.#strict) {
          cols.strictError = bad;
          break;
        }
        cols.badLines.push(bad);
        continue;
      }
      if (record === null) continue;
      cols.lines++;
      if (record.kind === "metadata") {
        cols.metadata.push({ at: count, record });
        continue;
      }
      if (record.kind !== "sample" || record.startTimestampMs) {
        cols.others.push({ at: count, record });
        continue;
      }
      seriesIds[count] = this.#ids.get(record.name, record.labels);
      timestampsMs[count] = record.timestampMs;
      writeExactValue(valuesView, count * 8, record.value, record.nanBits, true);
      count++;
    }
    cols.count = count;
    return cols;
  }
}

/** Splits whole lines of a stream (see {@linkcode splitLines}) and parses them with `parser`. */
export function parseJob(
  parser: ColumnParser,
  bytes: Uint8Array,
  options: SplitLinesOptions = {},
): SampleColumns {
  const { starts, ends } = splitLines(bytes, options);
  return parser.parse(bytes, starts, ends);
}
