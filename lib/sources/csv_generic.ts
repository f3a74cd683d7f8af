/**
 * Generic wide CSV: one timestamp column, optional label columns, every other numeric column a
 * metric (`<prefix><column>`); or, with `metric`, a `timestamp,value` file (NAB style) whose one
 * value column is that metric.
 *
 * The timestamp column is the one named with `timestampColumn`, else the first whose header is
 * `timestamp`, `time`, `ts`, `date`, `datetime` (any case, punctuation ignored), else the first
 * whose header contains `time` or `date`. A column whose first non-empty value is not a number
 * is a text column: ignored, with a note (name it in `labelColumns` to make it a label). After
 * that, a non-number in a metric column makes the row bad; empty cells and `N/A`/`null`-like
 * cells are left out.
 *
 * @module
 */
import type { Labels, MetricMetadata } from "../model/sample.ts";
import { METRIC_NAME_RE } from "../model/sample.ts";
import { InputError, UsageError } from "../errors.ts";
import {
  BadRow,
  type CsvFormat,
  type CsvFormatOptions,
  isNonValue,
  type MappedRow,
  normalizeHeader,
  parseNumberCell,
  sanitizeName,
  type SeriesIdentity,
  SeriesKeys,
} from "./csv_formats.ts";
import { BadTimestamp, quote, type TimestampParser } from "./csv_time.ts";

const TIME_NAMES = new Set(["timestamp", "time", "ts", "date", "datetime", "timestamputc"]);

const UNDECIDED = 0;
const METRIC = 1;
const TEXT = 2;

/** The generic wide format bound to one header. */
export class GenericFormat implements CsvFormat {
  /** The format's name. */
  readonly format = "generic" as const;
  /** Notes about the header and the columns. */
  readonly notes: string[] = [];
  #timestamps: TimestampParser;
  #extra: Labels;
  #fileLabel: string | undefined;
  #headers: string[];
  #columns: number;
  #tsCol: number;
  #labelCols: number[] = [];
  /** Series keys: one per value column, told apart by the label columns. */
  #keys: SeriesKeys;
  #labelNames: string[] = [];
  #valueCols: number[] = [];
  #metricNames: string[] = [];
  #state: Uint8Array;
  #onNote: (note: string) => void;

  /**
   * Binds the format to `header`. Throws {@linkcode UsageError} when a named column is missing,
   * {@linkcode InputError} when no timestamp column can be found. `onNote` receives notes that
   * arise while reading (text columns).
   */
  constructor(
    header: string[],
    options: CsvFormatOptions,
    onNote: (note: string) => void = () => {},
  ) {
    this.#timestamps = options.timestamps;
    this.#extra = options.extraLabels ?? {};
    this.#fileLabel = options.fileLabel;
    this.#onNote = onNote;
    this.#headers = header.map((h) => h.trim());
    this.#columns = header.length;
    const find = (name: string, what: string): number => {
      const i = this.#headers.indexOf(name.trim());
      if (i < 0) {
        throw new UsageError(
          `${what} "${name}" is not a column of the header (columns: ${
            this.#headers.map((h) => JSON.stringify(h)).join(", ")
          })`,
        );
      }
      return i;
    };
    if (options.timestampColumn !== undefined) {
      this.#tsCol = find(options.timestampColumn, "--timestamp-column");
    } else {
      const norm = this.#headers.map(normalizeHeader);
      this.#tsCol = norm.findIndex((h) => TIME_NAMES.has(h));
      if (this.#tsCol < 0) this.#tsCol = norm.findIndex((h) => /time|date/.test(h));
      if (this.#tsCol < 0) {
        throw new InputError(
          `no timestamp column in the header (columns: ${
            this.#headers.map((h) => JSON.stringify(h)).join(", ")
          }); name it with --timestamp-column`,
        );
      }
    }
    for (const name of options.labelColumns ?? []) {
      const i = find(name, "--label-columns:");
      if (i === this.#tsCol) throw new UsageError(`column "${name}" is the timestamp column`);
      this.#labelCols.push(i);
      this.#labelNames.push(sanitizeName(name, "label"));
    }
    for (let i = 0; i < header.length; i++) {
      if (i === this.#tsCol || this.#labelCols.includes(i)) continue;
      this.#valueCols.push(i);
      this.#metricNames.push(
        (options.metricPrefix ?? "") + sanitizeName(this.#headers[i], "metric"),
      );
    }
    if (options.metric !== undefined) {
      let keep = this.#valueCols;
      if (keep.length > 1) keep = keep.filter((i) => normalizeHeader(this.#headers[i]) === "value");
      if (keep.length !== 1) {
        throw new UsageError(
          `--metric names one series, but the file has ${this.#valueCols.length} value columns (${
            this.#valueCols.map((i) => JSON.stringify(this.#headers[i])).join(", ")
          }) and none is "value"; use --metric-prefix, or --label-columns for the text ones`,
        );
      }
      this.#valueCols = keep;
      this.#metricNames = [options.metric];
    }
    for (const name of this.#metricNames) {
      if (!METRIC_NAME_RE.test(name)) throw new UsageError(`invalid metric name "${name}"`);
    }
    this.#state = new Uint8Array(this.#valueCols.length);
    this.#keys = new SeriesKeys(this.#labelCols, this.#valueCols.length);
    // With --metric the user named the value column: a non-number in it is a bad row, never "text".
    if (options.metric !== undefined) this.#state.fill(METRIC);
    if (this.#valueCols.length === 0) this.notes.push("no value columns: no samples");
  }

  /** Fills `out` with one sample per metric column that holds a number. */
  mapRow(fields: string[], out: MappedRow): void {
    out.count = 0;
    if (fields.length !== this.#columns) {
      throw new BadRow(`expected ${this.#columns} fields as in the header, got ${fields.length}`);
    }
    try {
      out.timestampMs = this.#timestamps.parseMs(fields[this.#tsCol]);
    } catch (err) {
      if (err instanceof BadTimestamp) throw new BadRow(err.message);
      throw err;
    }
    const keys = this.#keys.of(fields);
    let n = 0;
    for (let j = 0; j < this.#valueCols.length; j++) {
      const state = this.#state[j];
      if (state === TEXT) continue;
      const col = this.#valueCols[j];
      let text = fields[col];
      const value = parseNumberCell(text);
      if (value === undefined) {
        text = text.trim();
        if (isNonValue(text)) continue;
        if (state === UNDECIDED) {
          this.#state[j] = TEXT;
          this.#onNote(
            `column ${quote(this.#headers[col])} is not numeric (first value ${
              quote(text)
            }): ignored (use --label-columns to make it a label)`,
          );
          continue;
        }
        throw new BadRow(`column ${quote(this.#headers[col])}: not a number (got ${quote(text)})`);
      }
      if (state === UNDECIDED) this.#state[j] = METRIC;
      out.keys[n] = keys[j];
      out.values[n] = value;
      out.slots[n] = j;
      n++;
    }
    out.count = n;
  }

  /** Name (`<prefix><column>` or `metric`) and labels (label columns, empty ones left out). */
  series(fields: string[], out: MappedRow, i: number): SeriesIdentity {
    const labels: Labels = this.#fileLabel === undefined ? {} : { file: this.#fileLabel };
    for (let j = 0; j < this.#labelCols.length; j++) {
      const v = fields[this.#labelCols[j]];
      if (v !== "") labels[this.#labelNames[j]] = v;
    }
    Object.assign(labels, this.#extra);
    return { name: this.#metricNames[out.slots[i]], labels };
  }

  /** Generic CSV carries no metadata. */
  metadata(_name: string): MetricMetadata | undefined {
    return undefined;
  }
}
