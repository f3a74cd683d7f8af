/**
 * The series and ranges of a version-5 checkpoint, as columns (see the store README, "Layout"):
 *
 * ```jsonc
 * "series": { "labels": [0, 1, 2, 3, 0, 1, 2, 4],   // string ids, name and value, all series
 *             "pairs": [2, 2],                      // label pairs of each series
 *             "ranges": [1, 1] },                   // ranges of each series (in commit order)
 * "ranges": { "file": [0, 0], "at": [0, 1], "count": [1, 1], "minTs": [..], "maxTs": [..],
 *             "stepMs": [0, 0], "mode": [0, 0], "modes": ["dec", "dec2", "f64"],
 *             "scale": [0, 0],
 *             "exceptions": [[range, [[index, bitsHex], ...]], ...],   // only ranges that have any
 *             "seek": [[range, [ts, ...]], ...] }
 * ```
 *
 * Ranges are numbered in series order, then commit order. A checkpoint of a million series in
 * version 4 (an object per series and per range) took 1.9 s to `JSON.parse` and was 149 MB of
 * JSON; arrays of numbers parse in a fraction of that and go straight into the range table.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import type { FileEntry } from "./index_file.ts";
import type { JsonPieces } from "./json_pieces.ts";
import { MODES, RangeTable, type RowExtras } from "./range_table.ts";
import { SeriesEntry } from "./series_entry.ts";

/** The `series` object of a version-5 checkpoint. */
export interface SeriesColumns {
  labels: number[];
  pairs: number[];
  ranges: number[];
}

/** The `ranges` object of a version-5 checkpoint. */
export interface RangeColumns {
  file: number[];
  at: number[];
  count: number[];
  minTs: number[];
  maxTs: number[];
  stepMs: number[];
  mode: number[];
  modes: string[];
  scale: number[];
  exceptions?: [number, [number, string][]][];
  seek?: [number, number[]][];
}

/** The numeric columns, in the order they are written. */
const NUMERIC = ["at", "count", "minTs", "maxTs", "stepMs", "mode", "scale"] as const;

/**
 * Writes `,"series":{…},"ranges":{…}` for `series` (the first `counts[i]` ranges of series `i`
 * when `counts` is given: a snapshot). `labelIds` gives a series' labels as string ids (name,
 * value, …); `fileIds` the position of each file in the checkpoint's `files`.
 */
export async function writeSeriesColumns(
  out: JsonPieces,
  series: readonly SeriesEntry[],
  counts: Int32Array | undefined,
  labelIds: (labels: [string, string][]) => number[],
  fileIds: Map<string, number>,
): Promise<void> {
  const n = series.length;
  const rangeCount = (i: number) => counts ? counts[i] : series[i].rangeCount;
  out.raw(`,"series":{"labels":`);
  await out.flat(n, (i) => labelIds(series[i].labels));
  out.raw(`,"pairs":`);
  await out.sequence(n, (i) => series[i].labels.length);
  out.raw(`,"ranges":`);
  await out.sequence(n, rangeCount);
  // Every range's table and row, in checkpoint order.
  let total = 0;
  for (let i = 0; i < n; i++) total += rangeCount(i);
  const rows = new Int32Array(total);
  const tables = new Array<RangeTable>(total);
  for (let i = 0, r = 0; i < n; i++) {
    const s = series[i];
    for (let k = 0, c = rangeCount(i); k < c; k++, r++) {
      rows[r] = s.rangeRow(k);
      tables[r] = s.table;
    }
  }
  out.raw(`},"ranges":{"file":`);
  await out.sequence(total, (r) => {
    const name = tables[r].file(rows[r]);
    const id = fileIds.get(name);
    if (id === undefined) throw new Error(`index: range refers to unknown file ${name}`);
    return id;
  });
  for (const name of NUMERIC) {
    out.raw(`,"${name}":`);
    await out.sequence(total, (r) => tables[r].field(name, rows[r]));
  }
  out.raw(`,"modes":${JSON.stringify(MODES)}`);
  const exceptions: number[] = [];
  const seek: number[] = [];
  for (let r = 0; r < total; r++) {
    const extras = tables[r].extras(rows[r]);
    if (extras?.exceptions) exceptions.push(r);
    if (extras?.seek) seek.push(r);
  }
  out.raw(`,"exceptions":`);
  await out.sequence(exceptions.length, (i) => {
    const r = exceptions[i];
    return [r, tables[r].extras(rows[r])!.exceptions];
  });
  out.raw(`,"seek":`);
  await out.sequence(seek.length, (i) => {
    const r = seek[i];
    return [r, tables[r].extras(rows[r])!.seek];
  });
  out.raw("}");
}

/** Whether `v` is an array of numbers (checked cheaply: its type and first element). */
function numbers(v: unknown, length: number, what: string, where: string): number[] {
  if (!Array.isArray(v) || v.length !== length || (length > 0 && typeof v[0] !== "number")) {
    throw new InputError(
      `checkpoint ${what} is not an array of ${length} numbers`,
      { where },
    );
  }
  return v as number[];
}

/** Whether `n` is a count (a non-negative integer). */
function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 0;
}

/**
 * The series of a version-5 checkpoint's columns, their ranges in a new table. `pair` gives the
 * label pair of two string ids (checking them); `seriesIdOf` a series' id from its labels.
 * Throws {@linkcode InputError} naming `where` when the columns do not fit together.
 */
export function readSeriesColumns(
  disk: { series: unknown; ranges: unknown },
  files: readonly FileEntry[],
  pair: (name: number, value: number) => [string, string],
  seriesIdOf: (labels: [string, string][]) => string,
  where: string,
): { series: SeriesEntry[]; rangeTable: RangeTable } {
  const s = disk.series as SeriesColumns;
  const c = disk.ranges as RangeColumns;
  if (!s || !c || typeof s !== "object" || typeof c !== "object") {
    throw new InputError("checkpoint has no series or ranges columns", { where });
  }
  const n = Array.isArray(s.pairs) ? s.pairs.length : -1;
  if (n < 0) throw new InputError("checkpoint series.pairs is not an array", { where });
  numbers(s.ranges, n, "series.ranges", where);
  let labelCount = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (!isCount(s.pairs[i]) || !isCount(s.ranges[i])) {
      throw new InputError(`checkpoint series ${i}: bad pair or range count`, { where });
    }
    labelCount += 2 * s.pairs[i];
    total += s.ranges[i];
  }
  numbers(s.labels, labelCount, "series.labels", where);
  for (const name of ["file", ...NUMERIC] as const) {
    numbers(c[name], total, `ranges.${name}`, where);
  }
  if (!Array.isArray(c.modes) || MODES.some((m, i) => c.modes[i] !== m)) {
    throw new InputError(`checkpoint ranges.modes is not ${JSON.stringify(MODES)}`, { where });
  }
  const table = new RangeTable();
  table.reserve(total);
  const series = new Array<SeriesEntry>(n);
  let l = 0;
  let r = 0;
  for (let i = 0; i < n; i++) {
    const labels: [string, string][] = new Array(s.pairs[i]);
    for (let p = 0; p < labels.length; p++, l += 2) labels[p] = pair(s.labels[l], s.labels[l + 1]);
    const entry = new SeriesEntry(seriesIdOf(labels), labels, table);
    for (let k = 0; k < s.ranges[i]; k++, r++) {
      const f = files[c.file[r]];
      if (!f) throw new InputError(`range ${r} refers to missing file ${c.file[r]}`, { where });
      try {
        entry.addRow(
          table.addFields(
            f.file,
            c.at[r],
            c.count[r],
            c.minTs[r],
            c.maxTs[r],
            c.stepMs[r],
            c.mode[r],
            c.scale[r],
          ),
        );
      } catch (err) {
        throw new InputError(`range ${r} (series ${i}): ${(err as Error).message}`, { where });
      }
    }
    series[i] = entry;
  }
  // Rows were added in range order: range r is row r.
  const extras = new Map<number, RowExtras>();
  const extra = (list: unknown, key: "exceptions" | "seek") => {
    if (list === undefined) return;
    if (!Array.isArray(list)) {
      throw new InputError(`checkpoint ranges.${key} is not an array`, { where });
    }
    for (const item of list) {
      const at = Array.isArray(item) ? item[0] : undefined;
      if (!isCount(at) || at >= total || !Array.isArray(item[1])) {
        throw new InputError(`checkpoint ranges.${key} names no range: ${JSON.stringify(item)}`, {
          where,
        });
      }
      const e = extras.get(at) ?? {};
      e[key] = item[1];
      extras.set(at, e);
    }
  };
  extra(c.exceptions, "exceptions");
  extra(c.seek, "seek");
  for (const [row, e] of extras) table.setExtras(row, e);
  return { series, rangeTable: table };
}
