/**
 * `nvidia-smi --query-gpu=... --format=csv[,nounits]` logs: one row per GPU per reading, headers
 * with units in brackets (`power.draw [W]`), values with or without units (`69.85 W`, `69.85`),
 * timestamps like `2026/07/14 08:12:38.696` in local time.
 *
 * Fields become the same metrics, units and labels as `wattwave sample` produces, through the
 * shared table in `nvidia_fields.ts`; columns that table does not know are ignored (noted once).
 * Non-values (`[N/A]`, `N/A`, `[Not Supported]`, `[Requested functionality has been deprecated]`)
 * are left out. A file without a `timestamp` column is stamped with the time each row is read.
 *
 * @module
 */
import type { Labels, MetricMetadata } from "../model/sample.ts";
import {
  baseFieldName,
  findNvidiaField,
  normalizeGpuUuid,
  type NvidiaField,
  nvidiaLabelName,
  nvidiaMetadata,
  nvidiaValue,
} from "./nvidia_fields.ts";
import {
  BadRow,
  type CsvFormat,
  type CsvFormatOptions,
  isNonValue,
  type MappedRow,
  normalizeHeader,
  type SeriesIdentity,
  SeriesKeys,
} from "./csv_formats.ts";
import { BadTimestamp, quote, type TimestampParser } from "./csv_time.ts";

const UNIT_HEADER_RE = /^[a-z_]+(?:\.[a-zA-Z0-9_]+)+ \[[^\]]+\]$/;

/**
 * Whether a header is an nvidia-smi `--query-gpu` CSV header: it has a field wattwave knows
 * (`power.draw`, `memory.used [MiB]`, ...) or a dotted field with a bracketed unit.
 */
export function isNvidiaSmiHeader(header: string[]): boolean {
  return header.some((h) => findNvidiaField(h) !== undefined || UNIT_HEADER_RE.test(h.trim()));
}

/** The nvidia-smi CSV format bound to one header. */
export class NvidiaSmiFormat implements CsvFormat {
  /** The format's name. */
  readonly format = "nvidia-smi" as const;
  /** Notes about the header. */
  readonly notes: string[] = [];
  #timestamps: TimestampParser;
  #extra: Labels;
  #tsCol = -1;
  #labelCols: number[] = [];
  #labelNames: ("index" | "uuid" | "name")[] = [];
  #metricCols: number[] = [];
  /** Series keys: one per metric column, told apart by the label columns. */
  #keys: SeriesKeys;
  #fields: NvidiaField[] = [];
  #headers: string[];
  #columns: number;
  #byName = new Map<string, NvidiaField>();

  /** Binds the format to `header`. */
  constructor(header: string[], options: CsvFormatOptions) {
    this.#timestamps = options.timestamps;
    this.#extra = options.extraLabels ?? {};
    this.#headers = header.map((h) => h.trim());
    this.#columns = header.length;
    const ignored: string[] = [];
    for (let i = 0; i < header.length; i++) {
      const h = this.#headers[i];
      if (this.#tsCol < 0 && normalizeHeader(h) === "timestamp") {
        this.#tsCol = i;
        continue;
      }
      const label = nvidiaLabelName(h);
      if (label !== undefined) {
        this.#labelCols.push(i);
        this.#labelNames.push(label);
        continue;
      }
      const field = findNvidiaField(h);
      if (field !== undefined && !this.#byName.has(field.metric)) {
        this.#metricCols.push(i);
        this.#fields.push(field);
        this.#byName.set(field.metric, field);
      } else ignored.push(baseFieldName(h));
    }
    if (this.#tsCol < 0) {
      this.notes.push("no timestamp column: rows are stamped with the time they are read");
    }
    this.#keys = new SeriesKeys(this.#labelCols, this.#metricCols.length);
    if (this.#metricCols.length === 0) {
      this.notes.push("no column is an nvidia-smi field wattwave knows: no samples");
    }
    if (ignored.length > 0) {
      const shown = ignored.slice(0, 8).join(", ") + (ignored.length > 8 ? ", ..." : "");
      this.notes.push(
        `${ignored.length} column(s) are not numeric nvidia-smi fields wattwave knows, ignored: ${shown}`,
      );
    }
  }

  /** Fills `out` with one sample per known field that has a value. */
  mapRow(fields: string[], out: MappedRow): void {
    out.count = 0;
    if (fields.length !== this.#columns) {
      throw new BadRow(`expected ${this.#columns} fields as in the header, got ${fields.length}`);
    }
    if (this.#tsCol >= 0) {
      try {
        out.timestampMs = this.#timestamps.parseMs(fields[this.#tsCol]);
      } catch (err) {
        if (err instanceof BadTimestamp) throw new BadRow(err.message);
        throw err;
      }
    } else out.timestampMs = NaN;
    const keys = this.#keys.of(fields);
    let n = 0;
    for (let j = 0; j < this.#metricCols.length; j++) {
      const col = this.#metricCols[j];
      const text = fields[col];
      const value = nvidiaValue(this.#fields[j], text);
      if (value === undefined) {
        const t = text.trim();
        if (isNonValue(t) || t === "N/A") continue;
        throw new BadRow(`${this.#headers[col]}: not a value (got ${quote(t)})`);
      }
      out.keys[n] = keys[j];
      out.values[n] = value;
      out.slots[n] = j;
      n++;
    }
    out.count = n;
  }

  /** Name and labels (`index`, `uuid` without `GPU-`, `name`) of sample `i`. */
  series(fields: string[], out: MappedRow, i: number): SeriesIdentity {
    const labels: Labels = {};
    for (let j = 0; j < this.#labelCols.length; j++) {
      const v = fields[this.#labelCols[j]].trim();
      if (isNonValue(v)) continue;
      const name = this.#labelNames[j];
      labels[name] = name === "uuid" ? normalizeGpuUuid(v) : v;
    }
    Object.assign(labels, this.#extra);
    return { name: this.#fields[out.slots[i]].metric, labels };
  }

  /** Type, unit and help from the shared field table. */
  metadata(name: string): MetricMetadata | undefined {
    const field = this.#byName.get(name);
    return field === undefined ? undefined : nvidiaMetadata(field);
  }
}
