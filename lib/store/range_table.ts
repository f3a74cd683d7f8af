/**
 * The ranges of a store index in memory, as columns: one row per range, a typed array per field,
 * no object per range. A million one-range series held a million range objects (68 bytes, plus
 * 32 for the two timestamps boxed as heap numbers) and a million arrays of one element (65
 * bytes); a row here is 38 bytes. {@linkcode SeriesEntry} (`series_entry.ts`) names its rows and
 * makes {@linkcode RangeEntry} objects only when asked.
 *
 * Rows are never changed once added, so a reader holding a row number (a checkpoint written in
 * the background, a series replaced by compaction) reads the same range for as long as it holds
 * it. The columns are chunks of 65,536 rows: a table grows by a chunk, not by copying all of it
 * (growing two million rows by half held a commit for 200 ms). Rows of replaced ranges are counted as dead; when they outnumber the live ones, the index
 * moves its series to a fresh table (`SeriesEntry.moveTo`, in `index_log.ts`) and the old one
 * goes to the collector once nothing holds it.
 *
 * @module
 */
import type { ExceptionEntry, RangeEntry } from "./index_file.ts";
import type { ValueMode } from "./value_map.ts";

/** The value modes, by their code in the `mode` column (and in a version-5 checkpoint). */
export const MODES: readonly ValueMode[] = ["dec", "dec2", "f64"];
const MODE_CODES = new Map<string, number>(MODES.map((m, i) => [m, i]));

/** Rows of a full chunk (a power of two: row `r` is row `r & CHUNK_MASK` of chunk `r >>> CHUNK_BITS`). */
const CHUNK_BITS = 16;
const CHUNK_ROWS = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_ROWS - 1;
/** Rows the first chunk holds at first (it doubles up to a full chunk: small tables stay small). */
const INITIAL_ROWS = 256;
/** Bytes of one row in all columns. */
const ROW_BYTES = 38;

/** A range's fields the columns do not hold (rare: values no scale captures, long ranges' seek table). */
export interface RowExtras {
  exceptions?: ExceptionEntry[];
  seek?: number[];
}

/** The columns of up to {@linkcode CHUNK_ROWS} rows. */
class Chunk {
  file: Uint32Array;
  at: Uint32Array;
  count: Uint32Array;
  minTs: Float64Array;
  maxTs: Float64Array;
  stepMs: Float64Array;
  mode: Uint8Array;
  scale: Int8Array;

  /** Empty columns of `rows` rows, holding the first `from.length` rows of `from` when given. */
  constructor(rows: number, from?: Chunk) {
    this.file = new Uint32Array(rows);
    this.at = new Uint32Array(rows);
    this.count = new Uint32Array(rows);
    this.minTs = new Float64Array(rows);
    this.maxTs = new Float64Array(rows);
    this.stepMs = new Float64Array(rows);
    this.mode = new Uint8Array(rows);
    this.scale = new Int8Array(rows);
    if (from) {
      this.file.set(from.file);
      this.at.set(from.at);
      this.count.set(from.count);
      this.minTs.set(from.minTs);
      this.maxTs.set(from.maxTs);
      this.stepMs.set(from.stepMs);
      this.mode.set(from.mode);
      this.scale.set(from.scale);
    }
  }

  /** Rows it holds. */
  get length(): number {
    return this.file.length;
  }
}

/** Whether `v` is a number (not NaN). */
function isNumber(v: unknown): boolean {
  return typeof v === "number" && v === v;
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
  #chunks: Chunk[] = [new Chunk(INITIAL_ROWS)];
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
    let rows = 0;
    for (const c of this.#chunks) rows += c.length;
    return rows * ROW_BYTES;
  }

  /**
   * Adds a range; returns its row. Throws `RangeError` naming the field when a value does not
   * fit its column (an index on disk that was tampered with).
   */
  add(r: RangeEntry): number {
    const mode = MODE_CODES.get(r.mode);
    if (mode === undefined) throw new RangeError(`unknown value mode ${JSON.stringify(r.mode)}`);
    const row = this.addFields(r.file, r.at, r.count, r.minTs, r.maxTs, r.stepMs, mode, r.scale);
    if (r.exceptions?.length || r.seek?.length) {
      const extras: RowExtras = {};
      if (r.exceptions?.length) extras.exceptions = r.exceptions;
      if (r.seek?.length) extras.seek = r.seek;
      this.#extras.set(row, extras);
    }
    return row;
  }

  /**
   * {@linkcode add} of a range given field by field (`modeCode`: index into {@linkcode MODES};
   * no extras): a checkpoint's columns are loaded without an object per range.
   */
  addFields(
    file: string,
    at: number,
    count: number,
    minTs: number,
    maxTs: number,
    stepMs: number,
    modeCode: number,
    scale: number,
  ): number {
    if (!isUint32(at)) throw new RangeError(`range position ${at} is not a sample offset`);
    if (!isUint32(count)) throw new RangeError(`range count ${count} is not a sample count`);
    if (!(modeCode >= 0 && modeCode < MODES.length && Number.isInteger(modeCode))) {
      throw new RangeError(`unknown value mode code ${modeCode}`);
    }
    if (!Number.isInteger(scale) || scale < -128 || scale > 127) {
      throw new RangeError(`value scale ${scale} out of range`);
    }
    if (typeof file !== "string") throw new RangeError(`range file ${file} is not a name`);
    if (!isNumber(minTs)) throw new RangeError(`range minTs ${minTs} is not a number`);
    if (!isNumber(maxTs)) throw new RangeError(`range maxTs ${maxTs} is not a number`);
    if (!isNumber(stepMs)) throw new RangeError(`range stepMs ${stepMs} is not a number`);
    const row = this.#next();
    const c = this.#chunks[row >>> CHUNK_BITS];
    const i = row & CHUNK_MASK;
    c.file[i] = this.#fileId(file);
    c.at[i] = at;
    c.count[i] = count;
    c.minTs[i] = minTs;
    c.maxTs[i] = maxTs;
    c.stepMs[i] = stepMs;
    c.mode[i] = modeCode;
    c.scale[i] = scale;
    return row;
  }

  /** Sets the extras (exceptions, seek timestamps) of a row added by {@linkcode addFields}. */
  setExtras(row: number, extras: RowExtras): void {
    if (extras.exceptions?.length || extras.seek?.length) this.#extras.set(row, extras);
  }

  /** The extras of a row, if it has any. */
  extras(row: number): RowExtras | undefined {
    return this.#extras.get(row);
  }

  /** A numeric field of a row (`mode`: its code, see {@linkcode MODES}). */
  field(
    name: "at" | "count" | "minTs" | "maxTs" | "stepMs" | "mode" | "scale",
    row: number,
  ): number {
    return this.#chunks[row >>> CHUNK_BITS][name][row & CHUNK_MASK];
  }

  /** Adds row `row` of `from` (the same range) to this table; returns its row here. */
  copyRow(from: RangeTable, row: number): number {
    const to = this.#next();
    const c = this.#chunks[to >>> CHUNK_BITS];
    const i = to & CHUNK_MASK;
    const f = from.#chunks[row >>> CHUNK_BITS];
    const j = row & CHUNK_MASK;
    c.file[i] = this.#fileId(from.#fileNames[f.file[j]]);
    c.at[i] = f.at[j];
    c.count[i] = f.count[j];
    c.minTs[i] = f.minTs[j];
    c.maxTs[i] = f.maxTs[j];
    c.stepMs[i] = f.stepMs[j];
    c.mode[i] = f.mode[j];
    c.scale[i] = f.scale[j];
    const extras = from.#extras.get(row);
    if (extras) this.#extras.set(to, extras);
    return to;
  }

  /** The range of a row, as a new object (its `exceptions` and `seek` arrays are shared: do not change them). */
  entry(row: number): RangeEntry {
    const c = this.#chunks[row >>> CHUNK_BITS];
    const i = row & CHUNK_MASK;
    const r: RangeEntry = {
      file: this.#fileNames[c.file[i]],
      at: c.at[i],
      count: c.count[i],
      minTs: c.minTs[i],
      maxTs: c.maxTs[i],
      stepMs: c.stepMs[i],
      mode: MODES[c.mode[i]],
      scale: c.scale[i],
    };
    const extras = this.#extras.get(row);
    if (extras?.exceptions) r.exceptions = extras.exceptions;
    if (extras?.seek) r.seek = extras.seek;
    return r;
  }

  /** File name of a row's range. */
  file(row: number): string {
    return this.#fileNames[this.#chunks[row >>> CHUNK_BITS].file[row & CHUNK_MASK]];
  }

  /** Samples of a row's range. */
  count(row: number): number {
    return this.#chunks[row >>> CHUNK_BITS].count[row & CHUNK_MASK];
  }

  /** First sample of a row's range in its file. */
  at(row: number): number {
    return this.#chunks[row >>> CHUNK_BITS].at[row & CHUNK_MASK];
  }

  /** Smallest timestamp of a row's range. */
  minTs(row: number): number {
    return this.#chunks[row >>> CHUNK_BITS].minTs[row & CHUNK_MASK];
  }

  /** Largest timestamp of a row's range. */
  maxTs(row: number): number {
    return this.#chunks[row >>> CHUNK_BITS].maxTs[row & CHUNK_MASK];
  }

  /** Counts `n` rows as dead: no series of the index names them any more. */
  release(n: number): void {
    this.#dead += n;
  }

  /** Whether dead rows outnumber live ones (and are many): time to move the series to a new table. */
  get sparse(): boolean {
    return this.#dead > 65536 && this.#dead * 2 > this.#rows;
  }

  /** Makes room for `n` more rows (whole chunks at once once past the first). */
  reserve(n: number): void {
    const first = this.#chunks[0];
    if (this.#chunks.length === 1 && first.length < CHUNK_ROWS && this.#rows + n > first.length) {
      this.#chunks[0] = new Chunk(Math.min(CHUNK_ROWS, this.#rows + n), first);
    }
  }

  /** The row the next range takes (a chunk added, or the first one grown, when full). */
  #next(): number {
    const row = this.#rows;
    const last = this.#chunks[this.#chunks.length - 1];
    const end = (this.#chunks.length - 1) * CHUNK_ROWS + last.length;
    if (row === end) {
      if (last.length < CHUNK_ROWS) {
        this.#chunks[this.#chunks.length - 1] = new Chunk(
          Math.min(CHUNK_ROWS, last.length * 2),
          last,
        );
      } else this.#chunks.push(new Chunk(CHUNK_ROWS));
    }
    this.#rows++;
    return row;
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
}
