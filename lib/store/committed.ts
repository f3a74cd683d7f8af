/**
 * The committed index of a store as this process last read it, and the ways to change it, both
 * under the store's LOCK: {@linkcode CommittedIndex.append} adds one commit's record to the
 * journal (`index.log`, see `index_log.ts`) and applies it in place, costing what the commit
 * changed; {@linkcode CommittedIndex.publish} (compaction) replaces the checkpoint
 * (`index.json.gz`) atomically and empties the journal. Re-read when another process changed
 * either (`refresh`): only the journal's new records when the checkpoint is the same.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { EventLoopPacer } from "../sleep.ts";
import { syncDir, writeFileDurable, writeTempDurable } from "./atomic_file.ts";
import {
  COMPACTION_RECORDS_VERSION,
  emptyIndex,
  encodeIndexAsync,
  type FileEntry,
  INDEX_FILE,
  INDEX_VERSION,
  type MetadataEntry,
  type RangeEntry,
  readIndex,
  type SeriesEntry,
  type SideFileEntry,
  type StoreIndex,
  writeIndex,
} from "./index_file.ts";
import {
  applyLogRecord,
  applyLogRecordPaced,
  decodeLogRecords,
  encodeLogRecord,
  INDEX_LOG_FILE,
  type IndexMaps,
  indexMaps,
  type LogRecord,
} from "./index_log.ts";
import type { PendingRanges } from "./pending_ranges.ts";
import { LOCK_FILE, SEGMENTS_DIR } from "./types.ts";

/** Whether `err` (or the error it wraps) says a file does not exist. */
export function isNotFound(err: unknown): boolean {
  if (err instanceof Deno.errors.NotFound) return true;
  return err instanceof Error && err.cause instanceof Deno.errors.NotFound;
}

function stampOf(st: Deno.FileInfo): string {
  return `${st.ino}:${st.size}:${st.mtime?.getTime()}`;
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** Reads `path` from byte `offset` to its end (empty when it does not exist). */
async function readFrom(path: string, offset: number): Promise<Uint8Array> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return new Uint8Array(0);
    throw err;
  }
  try {
    const size = (await f.stat()).size;
    if (size <= offset) return new Uint8Array(0);
    await f.seek(offset, Deno.SeekMode.Start);
    const out = new Uint8Array(size - offset);
    let got = 0;
    while (got < out.length) {
      const n = await f.read(out.subarray(got));
      if (n === null) break;
      got += n;
    }
    return out.subarray(0, got);
  } finally {
    f.close();
  }
}

/**
 * The journal outgrows twice the checkpoint (and this many bytes) before the writer
 * checkpoints: a checkpoint costs the whole index, so it is amortised over at least as many
 * journal bytes, and replaying the journal at open costs at most about twice the checkpoint.
 */
const MIN_CHECKPOINT_LOG_BYTES = checkpointBytesFromEnv() ?? 64 * 1024 * 1024;

/**
 * `WATTWAVE_INDEX_CHECKPOINT_BYTES`: a smaller journal threshold, for tests that crash a writer
 * while it checkpoints (1: whenever the journal outgrows twice the checkpoint).
 */
function checkpointBytesFromEnv(): number | undefined {
  try {
    const n = Number(Deno.env.get("WATTWAVE_INDEX_CHECKPOINT_BYTES"));
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined; // no env permission
  }
}

/** What a commit adds (see {@linkcode CommittedIndex.append}); generation and ordinals are filled in. */
export interface IndexAddition {
  /** Segment files added. */
  files: FileEntry[];
  /** Ranges added, by series (labels sorted, with `__name__`; new series are created). Default none. */
  ranges?: PendingRanges;
  /** Metadata set. */
  metadata: MetadataEntry[];
  /** Side files added. */
  sides?: SideFileEntry[];
  /** Compaction: ranges replaced, `[series ordinal, at, removed, ranges]` (see `LogRecord`). */
  replace?: [number, number, number, RangeEntry[]][];
  /** Files no range names any more, to retire. */
  retire?: string[];
}

/** A copy of `index` whose arrays are its own and whose entries are shared (see `locked`). */
function copyIndex(index: StoreIndex): StoreIndex {
  return {
    generation: index.generation,
    files: index.files.slice(),
    series: index.series.slice(),
    rangeTable: index.rangeTable,
    metadata: index.metadata.slice(),
    retired: index.retired.slice(),
    sides: index.sides.slice(),
  };
}

/** The committed index of the store at `dir` (see the module doc). */
export class CommittedIndex {
  /** The store directory. */
  readonly dir: string;
  #index: StoreIndex = emptyIndex();
  #maps: IndexMaps = indexMaps(this.#index);
  #stamp = "";
  #bytes = 0;
  /** A checkpoint being written while commits go on (see `#checkpointInBackground`). */
  #background: Promise<void> | undefined;
  /** Version of the checkpoint on disk as last read or written. */
  #diskVersion = INDEX_VERSION;
  /** Identity (inode) of the journal as last read, and the bytes of it applied. */
  #logIno = -1;
  #logBytes = 0;
  /** A commit's record being applied (paced): refreshes wait for it, or they would apply it again. */
  #applying: Promise<void> | undefined;

  /** The index of the store at `dir`; empty until {@linkcode refresh}. */
  constructor(dir: string) {
    this.dir = dir;
  }

  /** The index as last read or changed (do not change it: use {@linkcode locked} or {@linkcode append}). */
  get index(): StoreIndex {
    return this.#index;
  }

  /** Bytes of the index on disk as last read: the checkpoint and the journal. */
  get bytes(): number {
    return this.#bytes + this.#logBytes;
  }

  /** The position of a committed series (by id) in the index's `series`. */
  ordinal(id: string): number | undefined {
    return this.#maps.ordinals.get(id);
  }

  /** How many committed ranges name the segment file `name`. */
  rangesInFile(name: string): number {
    return this.#maps.fileRanges.get(name) ?? 0;
  }

  /** A committed series by id. */
  seriesById(id: string): SeriesEntry | undefined {
    const ordinal = this.#maps.ordinals.get(id);
    return ordinal === undefined ? undefined : this.#index.series[ordinal];
  }

  /** A committed segment file by name. */
  file(name: string): FileEntry | undefined {
    return this.#maps.files.get(name);
  }

  /** A committed side file by name. */
  sideFile(name: string): SideFileEntry | undefined {
    return this.#maps.sideFiles.get(name);
  }

  /** The committed side files naming a series (by id), in commit order. */
  sidesOf(id: string): readonly SideFileEntry[] {
    return this.#maps.sidesOf.get(id) ?? [];
  }

  /** Path of a segment file of this store. */
  segmentPath(file: string): string {
    return `${this.dir}/${SEGMENTS_DIR}/${file}`;
  }

  get #logPath(): string {
    return `${this.dir}/${INDEX_LOG_FILE}`;
  }

  /**
   * Re-reads the index when another process (or this one) changed it: the whole of it when the
   * checkpoint was replaced, else only the journal's new records. Returns whether it changed.
   */
  async refresh(): Promise<boolean> {
    while (this.#applying) await this.#applying;
    const st = await statOrUndefined(`${this.dir}/${INDEX_FILE}`);
    if (!st) return false;
    if (stampOf(st) !== this.#stamp) return await this.#load();
    const log = await statOrUndefined(this.#logPath);
    const ino = log?.ino ?? -1;
    const size = log?.size ?? 0;
    if (ino === this.#logIno && size === this.#logBytes) return false;
    if (ino !== this.#logIno || size < this.#logBytes) return await this.#load();
    const tail = await readFrom(this.#logPath, this.#logBytes);
    const { records, validBytes } = decodeLogRecords(tail, this.#logPath);
    let applied = false;
    for (const r of records) {
      if (r.g <= this.#index.generation) continue;
      if (r.g !== this.#index.generation + 1) return await this.#load(); // replaced meanwhile
      applyLogRecord(this.#index, this.#maps, r, this.#logPath);
      applied = true;
    }
    this.#logBytes += validBytes;
    return applied;
  }

  /** Reads the checkpoint and replays the journal (again if a checkpoint raced the read). */
  async #load(): Promise<boolean> {
    for (let attempt = 0;; attempt++) {
      const st = await statOrUndefined(`${this.dir}/${INDEX_FILE}`);
      if (!st) return false;
      const index = await readIndex(this.dir);
      if (!index) return false;
      const maps = indexMaps(index);
      const logSt = await statOrUndefined(this.#logPath);
      const log = await readFrom(this.#logPath, 0);
      const { records, validBytes } = decodeLogRecords(log, this.#logPath);
      let raced = false;
      try {
        for (const r of records) {
          if (r.g <= index.generation) continue; // already in the checkpoint
          applyLogRecord(index, maps, r, this.#logPath);
        }
      } catch (err) {
        if (!(err instanceof InputError) || attempt >= 4) throw err;
        raced = true;
      }
      const after = await statOrUndefined(`${this.dir}/${INDEX_FILE}`);
      if (raced || !after || stampOf(after) !== stampOf(st)) {
        if (attempt >= 4) {
          throw new InputError("the index keeps changing while it is read", { where: this.dir });
        }
        continue;
      }
      this.#index = index;
      this.#diskVersion = index.version ?? INDEX_VERSION;
      this.#maps = maps;
      this.#stamp = stampOf(st);
      this.#bytes = st.size;
      this.#logIno = logSt?.ino ?? -1;
      this.#logBytes = validBytes;
      return true;
    }
  }

  /**
   * Writes `index` as the next generation's checkpoint and empties the journal (call inside
   * {@linkcode locked}). `seriesKept`: the caller changed no series' position or id (the lookup
   * by id is kept instead of rebuilt: a million entries).
   */
  async publish(index: StoreIndex, options: { seriesKept?: boolean } = {}): Promise<void> {
    index.generation++;
    await this.#checkpoint(index, options.seriesKept ?? false);
  }

  /**
   * Deletes the files the index lists as retired and records that in the journal (the cost of a
   * record, not of a checkpoint of the whole index). Nothing when none is listed.
   */
  async clearRetired(): Promise<void> {
    await this.appendComputed((index) =>
      index.retired.length ? { files: [], metadata: [] } : undefined
    );
  }

  /** Writes `index` (at its generation) as the checkpoint, then empties the journal. */
  async #checkpoint(index: StoreIndex, seriesKept = true): Promise<void> {
    const bytes = await writeIndex(this.dir, index);
    const st = await Deno.stat(`${this.dir}/${INDEX_FILE}`);
    // A crash here leaves journal records the checkpoint holds: replay skips them.
    await writeFileDurable(this.#logPath, new Uint8Array(0));
    const logSt = await Deno.stat(this.#logPath);
    if (index !== this.#index) {
      this.#maps = indexMaps(index, seriesKept ? this.#maps : undefined);
    }
    this.#index = index;
    this.#diskVersion = INDEX_VERSION;
    this.#stamp = stampOf(st);
    this.#bytes = bytes;
    this.#logIno = logSt.ino ?? -1;
    this.#logBytes = 0;
  }

  async #withLock<T>(fn: () => Promise<T>): Promise<T> {
    const lock = await Deno.open(`${this.dir}/${LOCK_FILE}`, {
      read: true,
      write: true,
      create: true,
    });
    try {
      await lock.lock(true);
      await this.refresh();
      return await fn();
    } finally {
      lock.close();
    }
  }

  /**
   * Runs `fn` holding the store's LOCK, on a copy of the committed index (for
   * {@linkcode publish}). The copy's arrays are its own but their entries are shared with the
   * committed index: change a series, file or side file by putting a changed copy in its place,
   * never in place (a deep copy of a million series took seconds at every compaction).
   */
  locked<T>(fn: (index: StoreIndex) => Promise<T>): Promise<T> {
    return this.#withLock(async () => {
      const index = copyIndex(this.#index);
      // Files retired by an earlier compaction: delete what is left and forget them.
      for (const f of index.retired) await this.removeSegment(f);
      index.retired = [];
      return await fn(index);
    });
  }

  /**
   * Commits `addition` under the store's LOCK as one journal record (appended, fsynced), then
   * applies it to the index in place: the cost is the addition's, not the store's. Checkpoints
   * when the journal has outgrown the checkpoint. Returns the new generation.
   */
  append(addition: IndexAddition): Promise<number> {
    return this.appendComputed(() => addition).then((g) => g ?? this.#index.generation);
  }

  /**
   * {@linkcode append} of what `build` makes of the committed index, read under the LOCK (so
   * nothing changes between the look and the record); `undefined`: nothing to commit.
   */
  appendComputed(
    build: (index: StoreIndex) => IndexAddition | undefined,
  ): Promise<number | undefined> {
    return this.#withLock(async () => {
      const index = this.#index;
      const addition = build(index);
      if (!addition) return undefined;
      if (addition.replace?.length && this.#diskVersion < COMPACTION_RECORDS_VERSION) {
        // A record that replaces ranges needs a checkpoint an older wattwave refuses (it would
        // ignore the replacement and read the ranges twice): once per store.
        await this.#checkpoint(index);
      }
      const record: LogRecord = {
        g: index.generation + 1,
        files: addition.files,
        series: [],
        ranges: [],
        metadata: addition.metadata,
      };
      if (addition.sides?.length) record.sides = addition.sides;
      if (addition.replace?.length) record.replace = addition.replace;
      if (addition.retire?.length) record.retire = addition.retire;
      // New series get their ordinals in the index's lookup at once (a second map of a million
      // ids was 40 MB more at the commit's peak); taken out again if the commit fails before
      // they are applied. Until then they are past the end of `series`: not found.
      const newIds: string[] = [];
      let applied = false;
      try {
        await this.#recordRanges(index, record, addition.ranges, newIds);
        await this.#appendRecord(index, record, newIds);
        applied = true;
      } finally {
        if (!applied) {
          for (const id of newIds) {
            if ((this.#maps.ordinals.get(id) ?? -1) >= index.series.length) {
              this.#maps.ordinals.delete(id);
            }
          }
        }
      }
      if (
        this.#logBytes > Math.max(MIN_CHECKPOINT_LOG_BYTES, 2 * this.#bytes) && !this.#background
      ) {
        this.#background = this.#checkpointInBackground();
      }
      return index.generation;
    });
  }

  /**
   * Fills `record.series` and `record.ranges` from a commit's pending ranges: each range's
   * series ordinal, new series (ids pushed to `newIds`) taking the next ones.
   */
  async #recordRanges(
    index: StoreIndex,
    record: LogRecord,
    pending: PendingRanges | undefined,
    newIds: string[],
  ): Promise<void> {
    if (!pending?.length) return;
    const pacer = new EventLoopPacer();
    const ordinals = new Int32Array(pending.length);
    for (let i = 0; i < pending.length; i++) {
      const pause = pacer.tick(); // a commit of a million series leaves the server answering
      if (pause) await pause;
      const id = pending.seriesIds[i];
      let ordinal = this.#maps.ordinals.get(id);
      if (ordinal === undefined) {
        ordinal = index.series.length + record.series.length;
        this.#maps.ordinals.set(id, ordinal);
        record.series.push(pending.labels[i]);
        newIds.push(id);
      }
      ordinals[i] = ordinal;
    }
    record.ranges = { ordinals, table: pending.table };
  }

  /** Appends `record` to the journal (fsynced), then applies it to `index` (paced). */
  async #appendRecord(index: StoreIndex, record: LogRecord, newIds: string[]): Promise<void> {
    if (index.retired.length) {
      for (const f of index.retired) await this.removeSegment(f);
      record.clearRetired = true;
    }
    const bytes = await encodeLogRecord(record);
    // Bytes after the last whole record are a commit that died while appending: cut them.
    const before = await statOrUndefined(this.#logPath);
    const log = await Deno.open(this.#logPath, { write: true, create: true });
    try {
      if (before && before.size !== this.#logBytes) await log.truncate(this.#logBytes);
      await log.seek(this.#logBytes, Deno.SeekMode.Start);
      let written = 0;
      while (written < bytes.length) written += await log.write(bytes.subarray(written));
      await log.syncData();
    } finally {
      log.close();
    }
    if (!before) {
      await syncDir(this.dir); // the journal's directory entry
      this.#logIno = (await Deno.stat(this.#logPath)).ino ?? -1;
    }
    const applying = applyLogRecordPaced(index, this.#maps, record, this.#logPath, newIds);
    this.#applying = applying;
    try {
      await applying;
    } finally {
      this.#applying = undefined;
    }
    this.#logBytes += bytes.length;
  }

  /** Writes a checkpoint when the journal holds records (a writer closing the store). */
  async checkpointJournal(): Promise<void> {
    while (this.#background) await this.#background;
    await this.#withLock(async () => {
      if (this.#logBytes > 0) await this.#checkpoint(this.#index);
    });
  }

  /**
   * A checkpoint of the index as it is now, written while commits go on: a commit that found
   * the journal too long used to write it before answering (18 s for a million series of 8
   * ranges each). The snapshot is cheap because a series' ranges only ever grow at the end (a
   * changed series is a new object, and rows of the range table never change; see
   * `series_entry.ts`): it keeps the series and each one's range count.
   * The JSON is made in paced slices and gzip'd off the thread; then, under the LOCK and only if
   * no other checkpoint replaced the index meanwhile, it is renamed into place and the journal
   * keeps only the records after the snapshot (a crash in between leaves records the checkpoint
   * holds, which replay skips). A failure is logged: the commits are durable without it.
   */
  async #checkpointInBackground(): Promise<void> {
    const snapshot = copyIndex(this.#index);
    const rangeCounts = Int32Array.from(snapshot.series, (s) => s.rangeCount);
    const stamp = this.#stamp;
    const logIno = this.#logIno;
    const logOffset = this.#logBytes;
    const path = `${this.dir}/${INDEX_FILE}`;
    let temp: string | undefined;
    try {
      await Promise.resolve(); // the commit that started it returns first
      const bytes = await encodeIndexAsync(snapshot, { rangeCounts, alwaysPace: true });
      temp = await writeTempDurable(path, bytes);
      await this.#withLock(async () => {
        // Another checkpoint (this process's `publish`, or another writer's) came first.
        if (this.#stamp !== stamp || this.#logIno !== logIno || this.#logBytes < logOffset) return;
        await Deno.rename(temp!, path);
        temp = undefined;
        await syncDir(this.dir);
        const st = await Deno.stat(path);
        // The records after the snapshot's (all applied here: the LOCK is held, refreshed).
        const after = (await readFrom(this.#logPath, logOffset)).subarray(
          0,
          this.#logBytes - logOffset,
        );
        await writeFileDurable(this.#logPath, after);
        const logSt = await Deno.stat(this.#logPath);
        this.#stamp = stampOf(st);
        this.#bytes = bytes.length;
        this.#diskVersion = INDEX_VERSION;
        this.#logIno = logSt.ino ?? -1;
        this.#logBytes = after.length;
      });
    } catch (err) {
      console.error(
        `wattwave store: writing a checkpoint failed (commits are kept in the journal): ${
          (err as Error).message
        }`,
      );
    } finally {
      if (temp) await Deno.remove(temp).catch(() => {});
      this.#background = undefined;
    }
  }

  /** Deletes a segment file (gone already is fine). */
  async removeSegment(name: string): Promise<void> {
    await Deno.remove(this.segmentPath(name)).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }
}
