/**
 * One series of a store index in memory: its id, its labels and the rows of its ranges in a
 * {@linkcode RangeTable}. A series of one range holds the row number itself, a series of two or
 * more an array of rows (of exact length while short: an array grown by `push` keeps room for
 * 16 more).
 *
 * Ranges only grow at the end ({@linkcode SeriesEntry.addRange}); any other change makes a new
 * series object ({@linkcode SeriesEntry.replaced}, {@linkcode SeriesEntry.filtered}), so a
 * checkpoint written in the background reads the first ranges it counted, unchanged. Moving to
 * another table ({@linkcode SeriesEntry.moveTo}) changes the rows, not the ranges they hold.
 *
 * @module
 */
import type { RangeEntry } from "./index_file.ts";
import type { RangeTable } from "./range_table.ts";

/** Ranges of a series below which adding one makes an exact-length copy of its row array. */
const SMALL_ROW_ARRAY = 8;

/** A committed series (see the module doc). */
export class SeriesEntry {
  /** Stable id: 16 hex digits of the SHA-256 of the series key (not stored: recomputed). */
  readonly id: string;
  /** Label pairs including `__name__`, sorted by label name. */
  readonly labels: [string, string][];
  #table: RangeTable;
  /** -1: no range; a row number: one range; an array: the rows of two or more. */
  #rows: number | number[] = -1;

  /** A series of no ranges whose ranges will be rows of `table`. */
  constructor(id: string, labels: [string, string][], table: RangeTable) {
    this.id = id;
    this.labels = labels;
    this.#table = table;
  }

  /** A series holding `ranges` (added to `table`) in this order. */
  static withRanges(
    id: string,
    labels: [string, string][],
    table: RangeTable,
    ranges: readonly RangeEntry[],
  ): SeriesEntry {
    const s = new SeriesEntry(id, labels, table);
    for (const r of ranges) s.addRange(r);
    return s;
  }

  /** Number of ranges. */
  get rangeCount(): number {
    const rows = this.#rows;
    return typeof rows === "number" ? (rows < 0 ? 0 : 1) : rows.length;
  }

  #row(k: number): number {
    const rows = this.#rows;
    if (typeof rows === "number") {
      if (k !== 0 || rows < 0) throw new RangeError(`series has no range ${k}`);
      return rows;
    }
    if (k < 0 || k >= rows.length) throw new RangeError(`series has no range ${k}`);
    return rows[k];
  }

  /** Range `k` (in commit order), as a new object. */
  range(k: number): RangeEntry {
    return this.#table.entry(this.#row(k));
  }

  /** Ranges `from … to - 1` (default all), in commit order, as new objects. */
  ranges(from = 0, to = this.rangeCount): RangeEntry[] {
    const out = new Array<RangeEntry>(Math.max(0, to - from));
    for (let k = from; k < to; k++) out[k - from] = this.range(k);
    return out;
  }

  /** The table the rows of this series are in. */
  get table(): RangeTable {
    return this.#table;
  }

  /** The row of range `k` in {@linkcode table}. */
  rangeRow(k: number): number {
    return this.#row(k);
  }

  /** Samples of range `k`. */
  rangeSamples(k: number): number {
    return this.#table.count(this.#row(k));
  }

  /** Smallest timestamp of range `k`. */
  rangeMinTs(k: number): number {
    return this.#table.minTs(this.#row(k));
  }

  /** Largest timestamp of range `k`. */
  rangeMaxTs(k: number): number {
    return this.#table.maxTs(this.#row(k));
  }

  /** File name of range `k`. */
  rangeFile(k: number): string {
    return this.#table.file(this.#row(k));
  }

  /** Samples of all ranges, and the smallest and largest timestamp (±Infinity when none). */
  totals(): { count: number; minTs: number; maxTs: number } {
    let count = 0;
    let minTs = Infinity;
    let maxTs = -Infinity;
    const n = this.rangeCount;
    for (let k = 0; k < n; k++) {
      const row = this.#row(k);
      count += this.#table.count(row);
      const lo = this.#table.minTs(row);
      const hi = this.#table.maxTs(row);
      if (lo < minTs) minTs = lo;
      if (hi > maxTs) maxTs = hi;
    }
    return { count, minTs, maxTs };
  }

  /** Adds a range at the end (the only change made in place; see the module doc). */
  addRange(r: RangeEntry): void {
    this.#addRow(this.#table.add(r));
  }

  /** {@linkcode addRange} of row `row` of `table` (copied: no range object is made). */
  addRangeFrom(table: RangeTable, row: number): void {
    this.#addRow(this.#table.copyRow(table, row));
  }

  /** Adds a row that the caller added to {@linkcode table} (a checkpoint being loaded) as the last range. */
  addRow(row: number): void {
    this.#addRow(row);
  }

  #addRow(row: number): void {
    const rows = this.#rows;
    if (typeof rows === "number") this.#rows = rows < 0 ? row : [rows, row];
    else if (rows.length < SMALL_ROW_ARRAY) this.#rows = rows.concat(row);
    else rows.push(row);
  }

  /**
   * A copy of this series whose ranges `at … at + removed - 1` are replaced by `ranges` (added
   * to the table); the other ranges keep their rows, the removed ones are counted dead.
   */
  replaced(at: number, removed: number, ranges: readonly RangeEntry[]): SeriesEntry {
    const n = this.rangeCount;
    if (at < 0 || removed < 0 || at + removed > n) {
      throw new RangeError(`series has no ranges ${at}…${at + removed - 1}`);
    }
    const rows: number[] = [];
    for (let k = 0; k < at; k++) rows.push(this.#row(k));
    for (const r of ranges) rows.push(this.#table.add(r));
    for (let k = at + removed; k < n; k++) rows.push(this.#row(k));
    this.#table.release(removed);
    return this.#withRows(rows);
  }

  /** A copy of this series keeping the ranges `keep` accepts (this series when it keeps all). */
  filtered(keep: (r: RangeEntry, k: number) => boolean): SeriesEntry {
    const n = this.rangeCount;
    const rows: number[] = [];
    for (let k = 0; k < n; k++) if (keep(this.range(k), k)) rows.push(this.#row(k));
    if (rows.length === n) return this;
    this.#table.release(n - rows.length);
    return this.#withRows(rows);
  }

  #withRows(rows: number[]): SeriesEntry {
    const s = new SeriesEntry(this.id, this.labels, this.#table);
    s.#rows = rows.length === 0 ? -1 : rows.length === 1 ? rows[0] : rows;
    return s;
  }

  /** Copies this series' ranges into `table` and uses them from now on (a table of many dead rows is left behind). */
  moveTo(table: RangeTable): void {
    const from = this.#table;
    if (from === table) return;
    const rows = this.#rows;
    if (typeof rows === "number") {
      this.#rows = rows < 0 ? rows : table.copyRow(from, rows);
    } else {
      this.#rows = rows.map((row) => table.copyRow(from, row));
    }
    this.#table = table;
  }
}
