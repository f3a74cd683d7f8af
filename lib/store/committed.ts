/**
 * The committed index of a store as this process last read it, and the one way to change it:
 * under the store's LOCK, on a fresh copy, replaced atomically (`publish`). Re-read when another
 * process replaced it (`refresh`).
 *
 * @module
 */
import {
  emptyIndex,
  type FileEntry,
  INDEX_FILE,
  readIndex,
  type SeriesEntry,
  type StoreIndex,
  writeIndex,
} from "./index_file.ts";
import { LOCK_FILE, SEGMENTS_DIR } from "./types.ts";

/** Whether `err` (or the error it wraps) says a file does not exist. */
export function isNotFound(err: unknown): boolean {
  if (err instanceof Deno.errors.NotFound) return true;
  return err instanceof Error && err.cause instanceof Deno.errors.NotFound;
}

function stampOf(st: Deno.FileInfo): string {
  return `${st.ino}:${st.size}:${st.mtime?.getTime()}`;
}

/** The committed index of the store at `dir` (see the module doc). */
export class CommittedIndex {
  /** The store directory. */
  readonly dir: string;
  #index: StoreIndex = emptyIndex();
  #byId = new Map<string, SeriesEntry>();
  #files = new Map<string, FileEntry>();
  #stamp = "";
  #bytes = 0;

  /** The index of the store at `dir`; empty until {@linkcode refresh}. */
  constructor(dir: string) {
    this.dir = dir;
  }

  /** The index as last read or published (do not change it: use {@linkcode locked}). */
  get index(): StoreIndex {
    return this.#index;
  }

  /** Bytes of the index file as last read. */
  get bytes(): number {
    return this.#bytes;
  }

  /** A committed series by id. */
  seriesById(id: string): SeriesEntry | undefined {
    return this.#byId.get(id);
  }

  /** A committed segment file by name. */
  file(name: string): FileEntry | undefined {
    return this.#files.get(name);
  }

  /** Path of a segment file of this store. */
  segmentPath(file: string): string {
    return `${this.dir}/${SEGMENTS_DIR}/${file}`;
  }

  /** Re-reads the index when another process (or this one) replaced it. Returns whether it changed. */
  async refresh(): Promise<boolean> {
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(`${this.dir}/${INDEX_FILE}`);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
    const stamp = stampOf(st);
    if (stamp === this.#stamp) return false;
    const index = await readIndex(this.dir);
    if (!index) return false;
    this.#set(index, stamp, st.size);
    return true;
  }

  #set(index: StoreIndex, stamp: string, bytes: number): void {
    this.#index = index;
    this.#stamp = stamp;
    this.#bytes = bytes;
    this.#byId = new Map(index.series.map((s) => [s.id, s]));
    this.#files = new Map(index.files.map((f) => [f.file, f]));
  }

  /** Writes `index` as the next generation (call inside {@linkcode locked}). */
  async publish(index: StoreIndex): Promise<void> {
    index.generation++;
    const bytes = await writeIndex(this.dir, index);
    const st = await Deno.stat(`${this.dir}/${INDEX_FILE}`);
    this.#set(index, stampOf(st), bytes);
  }

  /** Runs `fn` holding the store's LOCK, on a fresh copy of the committed index. */
  async locked<T>(fn: (index: StoreIndex) => Promise<T>): Promise<T> {
    const lock = await Deno.open(`${this.dir}/${LOCK_FILE}`, {
      read: true,
      write: true,
      create: true,
    });
    try {
      await lock.lock(true);
      await this.refresh();
      const index = structuredClone(this.#index);
      // Files retired by an earlier compaction: delete what is left and forget them.
      for (const f of index.retired) await this.removeSegment(f);
      index.retired = [];
      return await fn(index);
    } finally {
      lock.close();
    }
  }

  /** Deletes a segment file (gone already is fine). */
  async removeSegment(name: string): Promise<void> {
    await Deno.remove(this.segmentPath(name)).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }
}
