/**
 * DCGM long-format CSV, as exported from a dcgm-exporter scrape:
 * `timestamp,metric_name,gpu_id,device,uuid,modelName,Hostname,container,pod,namespace,value,labels_raw`.
 *
 * One sample per row: the name from `metric_name`, the value from `value`, the time from
 * `timestamp`. Labels come from `labels_raw` (a Prometheus label set, `k="v",...`) and from the
 * other named columns, empty ones left out; the columns are renamed to the labels dcgm-exporter
 * itself uses (`gpu_id` → `gpu`, `uuid` → `UUID`), so a replayed series has the same label set as
 * the scraped one instead of duplicates. A column and a `labels_raw` pair of the same name: the
 * column wins.
 *
 * @module
 */
import {
  LABEL_NAME_RE,
  type Labels,
  METRIC_NAME_RE,
  type MetricMetadata,
} from "../model/sample.ts";
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

/** Column headers (normalised) that mark a DCGM long-format file. */
export const DCGM_REQUIRED_COLUMNS = ["timestamp", "metricname", "value"] as const;

/** Whether a header is DCGM long format (has `timestamp`, `metric_name` and `value`). */
export function isDcgmHeader(header: string[]): boolean {
  const names = new Set(header.map(normalizeHeader));
  return DCGM_REQUIRED_COLUMNS.every((c) => names.has(c));
}

/** dcgm-exporter's label name for a CSV column, where they differ. */
const COLUMN_LABELS: Record<string, string> = { gpuid: "gpu", uuid: "UUID" };

const g = "gauge" as const;
const c = "counter" as const;
/**
 * Type and help of the fields in dcgm-exporter's default and DCP counter lists
 * (etc/default-counters.csv, etc/dcp-metrics-included.csv). Others get no metadata line.
 */
const DCGM_METRICS: Record<string, [typeof g | typeof c, string]> = {
  DCGM_FI_DEV_SM_CLOCK: [g, "SM clock frequency (in MHz)."],
  DCGM_FI_DEV_MEM_CLOCK: [g, "Memory clock frequency (in MHz)."],
  DCGM_FI_DEV_MEMORY_TEMP: [g, "Memory temperature (in C)."],
  DCGM_FI_DEV_GPU_TEMP: [g, "GPU temperature (in C)."],
  DCGM_FI_DEV_POWER_USAGE: [g, "Power draw (in W)."],
  DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION: [c, "Total energy consumption since boot (in mJ)."],
  DCGM_FI_DEV_PCIE_REPLAY_COUNTER: [c, "Total number of PCIe retries."],
  DCGM_FI_DEV_GPU_UTIL: [g, "GPU utilization (in %)."],
  DCGM_FI_DEV_MEM_COPY_UTIL: [g, "Memory utilization (in %)."],
  DCGM_FI_DEV_ENC_UTIL: [g, "Encoder utilization (in %)."],
  DCGM_FI_DEV_DEC_UTIL: [g, "Decoder utilization (in %)."],
  DCGM_FI_DEV_XID_ERRORS: [g, "Value of the last XID error encountered."],
  DCGM_FI_DEV_FB_FREE: [g, "Framebuffer memory free (in MiB)."],
  DCGM_FI_DEV_FB_USED: [g, "Framebuffer memory used (in MiB)."],
  DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL: [
    c,
    "Total number of NVLink bandwidth counters for all lanes.",
  ],
  DCGM_FI_DEV_VGPU_LICENSE_STATUS: [g, "vGPU License status."],
  DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS: [c, "Number of remapped rows for uncorrectable errors."],
  DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS: [c, "Number of remapped rows for correctable errors."],
  DCGM_FI_DEV_ROW_REMAP_FAILURE: [g, "Whether remapping of rows has failed."],
  DCGM_FI_PROF_GR_ENGINE_ACTIVE: [g, "Ratio of time the graphics engine is active."],
  DCGM_FI_PROF_SM_ACTIVE: [g, "The ratio of cycles an SM has at least 1 warp assigned."],
  DCGM_FI_PROF_SM_OCCUPANCY: [g, "The ratio of number of warps resident on an SM."],
  DCGM_FI_PROF_PIPE_TENSOR_ACTIVE: [g, "Ratio of cycles the tensor (HMMA) pipe is active."],
  DCGM_FI_PROF_DRAM_ACTIVE: [
    g,
    "Ratio of cycles the device memory interface is active sending or receiving data.",
  ],
  DCGM_FI_PROF_PIPE_FP64_ACTIVE: [g, "Ratio of cycles the fp64 pipes are active."],
  DCGM_FI_PROF_PIPE_FP32_ACTIVE: [g, "Ratio of cycles the fp32 pipes are active."],
  DCGM_FI_PROF_PIPE_FP16_ACTIVE: [g, "Ratio of cycles the fp16 pipes are active."],
  DCGM_FI_PROF_PCIE_TX_BYTES: [g, "The rate of data transmitted over the PCIe bus (bytes/s)."],
  DCGM_FI_PROF_PCIE_RX_BYTES: [g, "The rate of data received over the PCIe bus (bytes/s)."],
  DCGM_FI_DEV_ECC_SBE_VOL_TOTAL: [c, "Total number of single-bit volatile ECC errors."],
  DCGM_FI_DEV_ECC_DBE_VOL_TOTAL: [c, "Total number of double-bit volatile ECC errors."],
  DCGM_FI_DEV_ECC_SBE_AGG_TOTAL: [c, "Total number of single-bit persistent ECC errors."],
  DCGM_FI_DEV_ECC_DBE_AGG_TOTAL: [c, "Total number of double-bit persistent ECC errors."],
  DCGM_FI_DEV_RETIRED_SBE: [c, "Total number of retired pages due to single-bit errors."],
  DCGM_FI_DEV_RETIRED_DBE: [c, "Total number of retired pages due to double-bit errors."],
  DCGM_FI_DEV_RETIRED_PENDING: [c, "Total number of pages pending retirement."],
};

/** Metadata for a DCGM field name dcgm-exporter documents, else `undefined`. */
export function dcgmMetadata(name: string): MetricMetadata | undefined {
  const known = DCGM_METRICS[name];
  if (known === undefined) return undefined;
  return { kind: "metadata", name, type: known[0], unit: "", help: known[1] };
}

/**
 * Parses a Prometheus label set as dcgm exports put it in `labels_raw`:
 * `k="v",k2="v2"` (optionally in braces), values with `\"`, `\\` and `\n` escapes.
 * `__name__` is dropped. Throws {@linkcode BadRow} on malformed text.
 */
export function parseLabelsRaw(text: string, into: Labels = {}): Labels {
  let s = text.trim();
  if (s.startsWith("{") && s.endsWith("}")) s = s.slice(1, -1);
  let i = 0;
  const n = s.length;
  while (i < n) {
    while (i < n && (s[i] === " " || s[i] === ",")) i++;
    if (i >= n) break;
    const eq = s.indexOf("=", i);
    if (eq < 0) {
      throw new BadRow(`labels_raw: expected k="v" at offset ${i} (got ${quote(s.slice(i))})`);
    }
    const name = s.slice(i, eq).trim();
    if (!LABEL_NAME_RE.test(name)) {
      throw new BadRow(`labels_raw: invalid label name ${quote(name)}`);
    }
    i = eq + 1;
    if (s[i] !== '"') {
      throw new BadRow(`labels_raw: value of ${name} must be quoted (got ${quote(s.slice(i))})`);
    }
    i++;
    let value = "";
    let start = i;
    for (;;) {
      if (i >= n) throw new BadRow(`labels_raw: value of ${name} is not closed`);
      const ch = s.charCodeAt(i);
      if (ch === 34 /* " */) break;
      if (ch === 92 /* \ */) {
        value += s.slice(start, i);
        const next = s[i + 1];
        value += next === "n" ? "\n" : next ?? "";
        i += 2;
        start = i;
        continue;
      }
      i++;
    }
    value += s.slice(start, i);
    i++; // closing quote
    if (name !== "__name__") into[name] = value;
  }
  return into;
}

/** The DCGM long format bound to one header. */
export class DcgmFormat implements CsvFormat {
  /** The format's name. */
  readonly format = "dcgm" as const;
  /** Notes about the header. */
  readonly notes: string[] = [];
  #timestamps: TimestampParser;
  #extra: Labels;
  #tsCol: number;
  #nameCol: number;
  #valueCol: number;
  #rawCol: number;
  #labelCols: number[];
  #labelNames: string[];
  #columns: number;
  /** Series keys, told apart by the metric name, label and `labels_raw` columns. */
  #keys: SeriesKeys;

  /** Binds the format to `header` (see {@linkcode isDcgmHeader}). */
  constructor(header: string[], options: CsvFormatOptions) {
    this.#timestamps = options.timestamps;
    this.#extra = options.extraLabels ?? {};
    const norm = header.map(normalizeHeader);
    this.#columns = header.length;
    this.#tsCol = norm.indexOf("timestamp");
    this.#nameCol = norm.indexOf("metricname");
    this.#valueCol = norm.indexOf("value");
    this.#rawCol = norm.indexOf("labelsraw");
    this.#labelCols = [];
    this.#labelNames = [];
    for (let i = 0; i < header.length; i++) {
      if (i === this.#tsCol || i === this.#nameCol || i === this.#valueCol || i === this.#rawCol) {
        continue;
      }
      this.#labelCols.push(i);
      this.#labelNames.push(COLUMN_LABELS[norm[i]] ?? sanitizeName(header[i], "label"));
    }
    const keyCols = [this.#nameCol, ...this.#labelCols];
    if (this.#rawCol >= 0) keyCols.push(this.#rawCol);
    this.#keys = new SeriesKeys(keyCols, 1);
  }

  /** Fills `out` with the row's one sample. */
  mapRow(fields: string[], out: MappedRow): void {
    out.count = 0;
    if (fields.length !== this.#columns) {
      throw new BadRow(`expected ${this.#columns} fields as in the header, got ${fields.length}`);
    }
    const name = fields[this.#nameCol];
    if (!METRIC_NAME_RE.test(name)) throw new BadRow(`invalid metric_name ${quote(name)}`);
    try {
      out.timestampMs = this.#timestamps.parseMs(fields[this.#tsCol]);
    } catch (err) {
      if (err instanceof BadTimestamp) throw new BadRow(err.message);
      throw err;
    }
    const text = fields[this.#valueCol].trim();
    const value = parseNumberCell(text);
    if (value === undefined) {
      if (isNonValue(text)) return;
      throw new BadRow(`value is not a number (got ${quote(text)})`);
    }
    out.keys[0] = this.#keys.of(fields)[0];
    out.values[0] = value;
    out.slots[0] = 0;
    out.count = 1;
  }

  /** Name and labels of the row's sample. */
  series(fields: string[]): SeriesIdentity {
    const labels: Labels = {};
    if (this.#rawCol >= 0 && fields[this.#rawCol] !== "") {
      parseLabelsRaw(fields[this.#rawCol], labels);
    }
    for (let j = 0; j < this.#labelCols.length; j++) {
      const v = fields[this.#labelCols[j]];
      if (v !== "") labels[this.#labelNames[j]] = v;
    }
    Object.assign(labels, this.#extra);
    return { name: fields[this.#nameCol], labels };
  }

  /** dcgm-exporter's type and help for known fields. */
  metadata(name: string): MetricMetadata | undefined {
    return dcgmMetadata(name);
  }
}
