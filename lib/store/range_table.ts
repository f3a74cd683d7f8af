/**
 * The ranges of a store index in memory, as columns: one row per range, a typed array per field,
 * no object per range. A million one-range series held a million range objects (68 bytes, plus
 * 32 for the two timestamps boxed as heap numbers) and a million arrays of one element (65
 * bytes); a row here is 38 bytes. {@linkcode SeriesEntry} (`series_entry.ts`) names its rows and
 * makes {@linkcode RangeEntry} objects only when asked.
 *
 * Rows are never changed once added, so a reader holding a row number (a checkpoint written in
 * the background, a series replaced by compaction) reads the same range for as long as it holds
 * it. Rows of replaced ranges are counted as dead; when they outnumber the live ones, the index
 * moves its series to a fresh table (`SeriesEntry.moveTo`, in `index_log.ts`) and the old one
 * goes to the collector once nothing holds it.
 *
 * @module
 */
import type { ExceptionEntry, RangeEntry } from "./index_file.ts";
import type { ValueMode } from "./value_map.ts";

/** The value modes, by their code in the `mode` column. */
const MODES: readonly ValueMode[] = ["dec", "dec2", "f64"];
const MODE_CODES = new Map<string, number>(MODES.map((m, i) => [m, i]));

/** Rows a table first holds. */
const INITIAL_ROWS = 256;

/** A range's fields the columns do not hold (rare: values no scale captures, long ranges' seek table). */
interface RowExtras {
  exceptions?: ExceptionEntry[];
  seek?: number[];
}

/** Whether `n` fits a Uint32 column. */
function isUint32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/** The ranges of an index, one row each (see the module doc). */
export class RangeTable {
  /** File names by id (the `file` column holds ids). */
  #fileNames: string[] = [];
  #fileIds = new Map<string, number>();
  #file = new Uint32Array(INITIAL_ROWS);
  #at = new Uint32Array(INITIAL_ROWS);
  #count = new Uint32Array(INITIAL_ROWS);
  #minTs = new Float64Array(INITIAL_ROWS);
  #maxTs = new Float64Array(INITIAL_ROWS);
  #stepMs = new Float64Array(INITIAL_ROWS);
  #mode = new Uint8Array(INITIAL_ROWS);
  #scale = new Int8Array(INITIAL_ROWS);
  #extras = new Map<number, RowExtras>();
  #rows = 0;
  #dead = 0;

  /** Rows added. */
  get rows(): number {
    return this.#rows;
  }

  /** Rows no series of the index names any more (see {@linkcode release}). */
  get deadRows(): number {
    return this.#dead;
  }

  /** Bytes of the columns (capacity, not only rows in use). */
  get bytes(): number {
    return this.#file.length * 38;
  }

  /**
   * Adds a range; returns its row. Throws `RangeError` naming the field when a value does not
   * fit its column (an index on disk that was tampered with).
   */
  add(r: RangeEntry): number {
    if (!isUint32(r.at)) throw new RangeError(`range position ${r.at} is not a sample offset`);
    if (!isUint32(r.count)) throw new RangeError(`range count ${r.count} is not a sample count`);
    const mode = MODE_CODES.get(r.mode);
    if (mode === undefined) throw new RangeError(`unknown value mode ${JSON.stringify(r.mode)}`);
    if (!Number.isInteger(r.scale) || r.scale < -128 || r.scale > 127) {
      throw new RangeError(`value scale ${r.scale} out of range`);
    }
    if (typeof r.file !== "string") throw new RangeError(`range file ${r.file} is not a name`);
    if (this.#rows === this.#file.length) this.#grow();
    const row = this.#rows++;
    this.#file[row] = this.#fileId(r.file);
    this.#at[row] = r.at;
    this.#count[row] = r.count;
    this.#minTs[row] = r.minTs;
    this.#maxTs[row] = r.maxTs;
    this.#stepMs[row] = r.stepMs;
    this.#mode[row] = mode;
    this.#scale[row] = r.scale;
    if (r.exceptions?.length || r.seek?.length) {
      const extras: RowExtras = {};
      if (r.exceptions?.length) extras.exceptions = r.exceptions;
      if (r.seek?.length) extras.seek = r.seek;
      this.#extras.set(row, extras);
    }
    return row;
  }

  /** Adds row `row` of `from` (the same range) to this table; returns its row here. */
  copyRow(from: RangeTable, row: number): number {
    if (this.#rows === this.#file.length) this.#grow();
    const to = this.#rows++;
    this.#file[to] = this.#fileId(from.#fileNames[from.#file[row]]);
    this.#at[to] = from.#at[row];
    this.#count[to] = from.#count[row];
    this.#minTs[to] = from.#minTs[row];
    this.#maxTs[to] = from.#maxTs[row];
    this.#stepMs[to] = from.#stepMs[row];
    this.#mode[to] = from.#mode[row];
    this.#scale[to] = from.#scale[row];
    const extras = from.#extras.get(row);
    if (extras) this.#extras.set(to, extras);
    return to;
  }

  /** The range of a row, as a new object (its `exceptions` and `seek` arrays are shared: do not change them). */
  entry(row: number): RangeEntry {
    const r: RangeEntry = {
      file: this.#fileNames[this.#file[row]],
      at: this.#at[row],
      count: this.#count[row],
      minTs: this.#minTs[row],
      maxTs: this.#maxTs[row],
      stepMs: this.#stepMs[row],
      mode: MODES[this.#mode[row]],
      scale: this.#scale[row],
    };
    const extras = this.#extras.get(row);
    if (extras?.exceptions) r.exceptions = extras.exceptions;
    if (extras?.seek) r.seek = extras.seek;
    return r;
  }

  /** File name of a row's range. */
  file(row: number): string {
    return this.#fileNames[this.#file[row]];
  }

  /** Samples of a row's range. */
  count(row: number): number {
    return this.#count[row];
  }

  /** First sample of a row's range in its file. */
  at(row: number): number {
    return this.#at[row];
  }

  /** Smallest timestamp of a row's range. */
  minTs(row: number): number {
    return this.#minTs[row];
  }

  /** Largest timestamp of a row's range. */
  maxTs(row: number): number {
    return this.#maxTs[row];
  }

  /** Counts `n` rows as dead: no series of the index names them any more. */
  release(n: number): void {
    this.#dead += n;
  }

  /** Whether dead rows outnumber live ones (and are many): time to move the series to a new table. */
  get sparse(): boolean {
    return this.#dead > 65536 && this.#dead * 2 > this.#rows;
  }

  /** The id of file name `name` in this table (added when new). */
  #fileId(name: string): number {
    let file = this.#fileIds.get(name);
    if (file === undefined) {
      file = this.#fileNames.length;
      this.#fileNames.push(name);
      this.#fileIds.set(name, file);
    }
    return file;
  }

  /** Makes room for `n` more rows at once (a commit's ranges: no growth by steps while they are added). */
  reserve(n: number): void {
    if (this.#rows + n > this.#file.length) this.#grow(this.#rows + n);
  }

  #grow(atLeast = 0): void {
    const capacity = Math.max(atLeast, Math.ceil(this.#file.length * 1.5));
    const grow = <T extends Uint32Array | Float64Array | Uint8Array | Int8Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(capacity);
      b.set(a);
      return b;
    };
    this.#file = grow(this.#file, (n) => new Uint32Array(n));
    this.#at = grow(this.#at, (n) => new Uint32Array(n));
    this.#count = grow(this.#count, (n) => new Uint32Array(n));
    this.#minTs = grow(this.#minTs, (n) => new Float64Array(n));
    this.#maxTs = grow(this.#maxTs, (n) => new Float64Array(n));
    this.#stepMs = grow(this.#stepMs, (n) => new Float64Array(n));
    this.#mode = grow(this.#mode, (n) => new Uint8Array(n));
    this.#scale = grow(this.#scale, (n) => new Int8Array(n));
  }
}
