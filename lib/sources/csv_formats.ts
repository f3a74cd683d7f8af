/**
 * The CSV log formats `replay-csv` reads, how each is recognised from its header, and the
 * interface every format implements: a data row in, samples (series key, value) out.
 *
 * @module
 */
import type { Labels, MetricMetadata } from "../model/sample.ts";
import type { TimestampParser } from "./csv_time.ts";

/** Format names, as `--format` spells them. */
export const CSV_FORMATS = ["dcgm", "nvidia-smi", "generic"] as const;

/** One of {@linkcode CSV_FORMATS}. */
export type CsvFormatName = typeof CSV_FORMATS[number];

/** Why a data row was refused (its line number is added by the caller). */
export class BadRow extends Error {
  override name = "BadRow";
}

/**
 * The samples of one data row, filled by {@linkcode CsvFormat.mapRow}. The arrays are reused
 * from row to row; only the first `count` entries are meaningful.
 */
export interface MappedRow {
  /** Timestamp of every sample of the row (ms since the epoch), or NaN: "when it is read". */
  timestampMs: number;
  /** Number of samples. */
  count: number;
  /** Per sample: a key identifying its series within this file (cheap to build, not canonical). */
  keys: string[];
  /** Per sample: the value (NaN means Prometheus' normal NaN). */
  values: number[];
  /** Per sample: which column or slot it came from, for {@linkcode CsvFormat.series}. */
  slots: number[];
}

/**
 * The keys of a row's sample slots, built from the fields that tell its series apart. Rows of
 * one series follow each other in logs: while those fields repeat, the same key strings come
 * back, so the replay's per-row series check compares pointers instead of texts.
 */
export class SeriesKeys {
  #last: string[] = [];
  #keys: string[] | undefined;

  /** Keys for `slots` samples per row, told apart by the fields at `keyCols`. */
  constructor(readonly keyCols: readonly number[], readonly slots: number) {}

  /** The key of each slot of the row with `fields` (`<slot>` + the key fields, NUL-separated). */
  of(fields: readonly string[]): string[] {
    const cols = this.keyCols;
    let same = this.#keys !== undefined;
    for (let k = 0; same && k < cols.length; k++) same = fields[cols[k]] === this.#last[k];
    if (!same) {
      let key = "";
      for (let k = 0; k < cols.length; k++) key += "\x00" + (this.#last[k] = fields[cols[k]]);
      this.#keys = Array.from({ length: this.slots }, (_, j) => j + key);
    }
    return this.#keys!;
  }
}

/** A new, empty {@linkcode MappedRow}. */
export function newMappedRow(): MappedRow {
  return { timestampMs: NaN, count: 0, keys: [], values: [], slots: [] };
}

/** The name and labels of one series. */
export interface SeriesIdentity {
  /** Metric name. */
  name: string;
  /** Labels (without `__name__`). */
  labels: Labels;
}

/** A CSV log format bound to one file's header. */
export interface CsvFormat {
  /** The format's name. */
  readonly format: CsvFormatName;
  /** Things to say once about the header (columns ignored, assumptions); printed on stderr. */
  readonly notes: string[];
  /** Fills `out` from the fields of one data row; throws {@linkcode BadRow}. */
  mapRow(fields: string[], out: MappedRow): void;
  /** The series of sample `i` of the row just mapped (called once per new series key). */
  series(fields: string[], out: MappedRow, i: number): SeriesIdentity;
  /** Metadata for a metric this format knows the type/unit/help of. */
  metadata(name: string): MetricMetadata | undefined;
}

/** Options shared by the formats. */
export interface CsvFormatOptions {
  /** Parses timestamp cells (bound to the `--timezone` zone). */
  timestamps: TimestampParser;
  /** Labels added to every series (`--label k=v`). Default none. */
  extraLabels?: Labels;
  /** Generic: the timestamp column's header. Default: auto-detected. */
  timestampColumn?: string;
  /** Generic: columns whose values are labels. Default none. */
  labelColumns?: string[];
  /** Generic: prefix of every metric name. Default "". */
  metricPrefix?: string;
  /** Generic: the one metric name of a `timestamp,value` file. */
  metric?: string;
  /**
   * Generic: the `file` label of every series (the input file's base name), so that several
   * files never merge into one series; a label column or `extraLabels` named `file` wins.
   * Default none (stdin).
   */
  fileLabel?: string;
}

/** The canonical form of a header cell for matching: lower case, only letters and digits. */
export function normalizeHeader(cell: string): string {
  return cell.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** Known non-values in CSV logs: a cell holding one of these is left out (no sample). */
export function isNonValue(text: string): boolean {
  if (text.length === 0) return true;
  const c = text.charCodeAt(0);
  if (c === 91 /* [ */ && text.endsWith("]")) return true; // [N/A], [Not Supported], ...
  switch (text.toLowerCase()) {
    case "n/a":
    case "na":
    case "null":
    case "none":
    case "-":
      return true;
  }
  return false;
}

/**
 * Parses a numeric cell: a decimal or exponent number, `NaN`, `Inf`/`+Inf`/`-Inf`/`Infinity`.
 * Returns `undefined` for anything else (the caller decides whether that is a non-value or a bad row).
 */
export function parseNumberCell(text: string): number | undefined {
  if (text.length === 0) return undefined;
  if (text.charCodeAt(0) <= 32 || text.charCodeAt(text.length - 1) <= 32) {
    text = text.trim(); // Number() would read "" and " " as 0
    if (text.length === 0) return undefined;
  }
  const n = Number(text);
  if (n === n) {
    // Number() also reads "0x1f", "0o7", "0b1": not decimal numbers, refuse them.
    const c1 = text.charCodeAt(1) | 32;
    if (c1 === 120 /* x */ || c1 === 111 /* o */ || c1 === 98 /* b */) return undefined;
    return n;
  }
  switch (text.toLowerCase()) {
    case "nan":
      return NaN;
    case "inf":
    case "+inf":
    case "+infinity":
      return Infinity;
    case "-inf":
      return -Infinity;
  }
  return undefined;
}

/** Turns any header text into a valid metric or label name: invalid characters become `_`. */
export function sanitizeName(text: string, kind: "metric" | "label"): string {
  const re = kind === "metric" ? /[^a-zA-Z0-9_:]+/g : /[^a-zA-Z0-9_]+/g;
  let s = text.trim().replace(re, "_").replace(/^_+|_+$/g, "");
  if (s === "") s = "_";
  if (/^[0-9]/.test(s)) s = "_" + s;
  return s;
}
