/**
 * The wattwave series store: a directory of FLAC files (each holding the ranges of one or more
 * series) and an atomically replaced index.
 *
 * ```ts
 * const store = await Store.open("data/store");
 * store.appendSample(pairs, 1732350000123, 69.85);      // buffered in memory
 * store.setMetadata({ name: "gpu_power_watts", type: "gauge", unit: "watts", help: "…" });
 * await store.flushDue();                               // packs full/over-budget buffers into files
 * await store.commit();                                 // durable: files fsynced, index replaced
 * for (const s of store.series((labels) => true)) {
 *   for await (const block of store.read(s.id, startMs, endMs)) { ... }
 * }
 * ```
 *
 * Layout, mapping and policies (packing, compaction, crash safety) are described in
 * `lib/store/README.md`.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { syncDir, syncFiles, TEMP_SUFFIX } from "./atomic_file.ts";
import { compactionDue, type CompactionItem, planCompaction } from "./compact.ts";
import {
  emptyIndex,
  type FileEntry,
  INDEX_FILE,
  type MetadataEntry,
  pairsKey,
  type RangeEntry,
  readIndex,
  type SeriesEntry,
  seriesId,
  type StoreIndex,
  writeIndex,
} from "./index_file.ts";
import {
  byteSpan,
  type DecodedFrames,
  decodeFrames,
  encodePack,
  rangeSamples,
  rangeSpan,
  type SampleBlock,
} from "./segment.ts";
import { MAX_GAP_MS } from "./timestamps.ts";
import { LITTLE_ENDIAN } from "./value_map.ts";
import {
  deadWriters,
  tagOf,
  UNTAGGED_ORPHAN_AGE_MS,
  WRITER_SUFFIX,
  WriterLock,
} from "./writer_lock.ts";

export type { SampleBlock } from "./segment.ts";
export type {
  FileEntry,
  MetadataEntry,
  RangeEntry,
  SeriesEntry,
  StoreIndex,
} from "./index_file.ts";
export { pairsKey, seriesId } from "./index_file.ts";

import type { LabelPairs } from "../model/labels.ts";
export type { LabelPairs };

/** Directory of segment files inside a store. */
export const SEGMENTS_DIR = "segments";
/** Lock file taken (flock) while the index is replaced. */
export const LOCK_FILE = "LOCK";

/** Options of {@linkcode Store.open}. */
export interface StoreOptions {
  /** Most samples in one file (one range or several packed); a series buffer reaching it is cut. Default 65536. */
  maxSegmentSamples?: number;
  /** Total bytes all series buffers (and cut, not yet written ranges) may hold before the largest are cut. Default 64 MiB. */
  memoryBudgetBytes?: number;
  /**
   * FLAC block size (samples per frame and seek granularity). Default: per file, 512 when its
   * ranges average fewer than 1024 samples (packed short series: frames that do not mix too
   * many series predict better), else 1024.
   */
  blockSize?: number;
  /** FLAC compression level (0–8) passed to the codec. Default the codec's default. */
  level?: number;
  /** Open without creating anything; `append*`/`commit` throw. Default false. */
  readOnly?: boolean;
  /** Read every file back from disk after writing it and compare bit for bit. Default false. */
  verify?: boolean;
  /** Ranges of fewer samples share files (packed); longer ones get a file each. Default `maxSegmentSamples` (every range is packed). */
  packBelowSamples?: number;
  /** Compaction merges ranges smaller than this. Default 16384 (at most half of `maxSegmentSamples`). */
  compactTargetSamples?: number;
  /** Compact at commit when enough small ranges piled up (see `compact.ts`). Default true. */
  autoCompact?: boolean;
  /** Most samples one automatic compaction rewrites (bounded work per commit). Default 1 000 000. */
  compactMaxSamples?: number;
  /** Least small-range debt (ranges compaction would remove) that triggers it at commit. Default 64. */
  compactMinDebt?: number;
}

/** What {@linkcode Store.series} lists for each series. */
export interface SeriesInfo {
  /** Stable series id (16 hex digits). */
  id: string;
  /** Label pairs with `__name__`, sorted by name. */
  labels: LabelPairs;
  /** Committed samples. */
  count: number;
  /** Smallest committed timestamp (Infinity when none). */
  minTs: number;
  /** Largest committed timestamp (-Infinity when none). */
  maxTs: number;
  /** Committed ranges. */
  segments: number;
}

/** Result of {@linkcode Store.compact}. */
export interface CompactResult {
  /** Series whose ranges were merged. */
  series: number;
  /** Ranges before merging. */
  rangesIn: number;
  /** Ranges after. */
  rangesOut: number;
  /** Samples rewritten. */
  samples: number;
  /** Files written. */
  filesWritten: number;
  /** Files deleted (no range refers to them any more). */
  filesDeleted: number;
}

/** A {@linkcode CompactResult} of nothing done, to add results to. */
export function emptyCompactResult(): CompactResult {
  return { series: 0, rangesIn: 0, rangesOut: 0, samples: 0, filesWritten: 0, filesDeleted: 0 };
}

/** Adds the counts of `r` to `total`. */
export function addCompactResult(total: CompactResult, r: CompactResult): void {
  for (const k of Object.keys(total) as (keyof CompactResult)[]) total[k] += r[k];
}

/** Result of {@linkcode Store.commit}. */
export interface CommitResult {
  /** Files made durable by this commit. */
  segments: number;
  /** Ranges in them. */
  ranges: number;
  /** Samples in them. */
  samples: number;
  /** Bytes of their files. */
  bytes: number;
  /** Index generation written (unchanged when there was nothing to commit). */
  generation: number;
  /** What the automatic compaction after the commit did, when it ran. */
  compaction?: CompactResult;
}

/** Totals of the committed store. */
export interface StoreStats {
  /** Series with at least one range. */
  series: number;
  /** Segment files. */
  segments: number;
  /** Ranges in them. */
  ranges: number;
  /** Samples in them. */
  samples: number;
  /** Bytes of segment files. */
  segmentBytes: number;
  /** Bytes of the index file. */
  indexBytes: number;
}

function sortPairs(labels: LabelPairs): LabelPairs {
  for (let i = 1; i < labels.length; i++) {
    if (labels[i - 1][0] > labels[i][0]) {
      return [...labels].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    }
  }
  return labels;
}

const INITIAL_CAPACITY = 64;

/** The in-memory tail of one series, before it is cut into a range. */
class SeriesBuffer {
  readonly id: string;
  readonly key: string;
  readonly labels: LabelPairs;
  timestampsMs: Float64Array;
  values: Float64Array;
  words: Uint32Array;
  length = 0;
  sorted = true;
  constructor(key: string, labels: LabelPairs) {
    this.key = key;
    this.id = seriesId(key);
    this.labels = labels;
    this.timestampsMs = new Float64Array(INITIAL_CAPACITY);
    this.values = new Float64Array(INITIAL_CAPACITY);
    this.words = new Uint32Array(this.values.buffer);
  }
  get capacity(): number {
    return this.timestampsMs.length;
  }
  grow(): number {
    const before = this.capacity;
    const ts = new Float64Array(before * 2);
    ts.set(this.timestampsMs);
    const vals = new Float64Array(before * 2);
    const words = new Uint32Array(vals.buffer);
    words.set(this.words);
    this.timestampsMs = ts;
    this.values = vals;
    this.words = words;
    return before * 16;
  }
  reset(): number {
    const freed = (this.capacity - INITIAL_CAPACITY) * 16;
    this.timestampsMs = new Float64Array(INITIAL_CAPACITY);
    this.values = new Float64Array(INITIAL_CAPACITY);
    this.words = new Uint32Array(this.values.buffer);
    this.length = 0;
    this.sorted = true;
    return freed;
  }
}

/** Sorted samples of one series waiting to be written into a file. */
interface Run {
  id: string;
  key: string;
  labels: LabelPairs;
  block: SampleBlock;
}

/** A range written to disk and not yet in the index. */
interface PendingRange {
  seriesId: string;
  labels: LabelPairs;
  range: RangeEntry;
}

/** Sorts samples by timestamp, stable (ties keep arrival order), copying value bits exactly. */
function sortSamples(ts: Float64Array, words: Uint32Array, n: number): void {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => ts[a] - ts[b] || a - b);
  const ts2 = ts.slice(0, n);
  const words2 = words.slice(0, 2 * n);
  for (let i = 0; i < n; i++) {
    const j = order[i];
    ts[i] = ts2[j];
    words[2 * i] = words2[2 * j];
    words[2 * i + 1] = words2[2 * j + 1];
  }
}

/** Whether `err` (or the error it wraps) says a file does not exist. */
function isNotFound(err: unknown): boolean {
  if (err instanceof Deno.errors.NotFound) return true;
  return err instanceof Error && err.cause instanceof Deno.errors.NotFound;
}

/** Splits a sorted block where consecutive timestamps are more than {@linkcode MAX_GAP_MS} apart. */
function splitAtGaps(block: SampleBlock): SampleBlock[] {
  const ts = block.timestampsMs;
  const out: SampleBlock[] = [];
  let start = 0;
  for (let i = 1; i <= ts.length; i++) {
    if (i === ts.length || ts[i] - ts[i - 1] > MAX_GAP_MS) {
      out.push({ timestampsMs: ts.subarray(start, i), values: block.values.subarray(start, i) });
      start = i;
    }
  }
  return out;
}

/** Reads exactly `length` bytes at `position` of an open file. */
/**
 * Fills `out` from `position` of `f`. Synchronous: segment reads are small and come from the page
 * cache, where one async seek + read costs about ten times its synchronous pair (measured with
 * `bench/serve_read_bench.ts`); serve-read does them in its read workers by default.
 */
function readAt(f: Deno.FsFile, position: number, out: Uint8Array): void {
  f.seekSync(position, Deno.SeekMode.Start);
  let got = 0;
  while (got < out.length) {
    const n = f.readSync(out.subarray(got));
    if (n === null) {
      throw new Error(`file ends at byte ${position + got}, expected ${out.length - got} more`);
    }
    got += n;
  }
}

/** Most recently decoded frames, by file and frame span (files never change once written). */
class FrameCache {
  #entries = new Map<string, DecodedFrames>();
  #samples = 0;
  constructor(readonly maxSamples: number) {}
  get(key: string): DecodedFrames | undefined {
    const d = this.#entries.get(key);
    if (d) {
      this.#entries.delete(key);
      this.#entries.set(key, d);
    }
    return d;
  }
  set(key: string, d: DecodedFrames): void {
    const n = d.channels[0]?.length ?? 0;
    if (n > this.maxSamples) return;
    this.#entries.set(key, d);
    this.#samples += n;
    for (const [k, v] of this.#entries) {
      if (this.#samples <= this.maxSamples) break;
      this.#entries.delete(k);
      this.#samples -= v.channels[0]?.length ?? 0;
    }
  }
}

/** A store directory opened for reading and (unless `readOnly`) appending. */
export class Store {
  /** The store directory. */
  readonly dir: string;
  #options: Required<Omit<StoreOptions, "level">> & { level?: number };
  #index: StoreIndex = emptyIndex();
  #byId = new Map<string, SeriesEntry>();
  #files = new Map<string, FileEntry>();
  #indexStamp = "";
  #indexBytes = 0;
  #buffers = new Map<string, SeriesBuffer>();
  #bufferedBytes = 0;
  #runs: Run[] = [];
  #runSamples = 0;
  #pendingFiles: FileEntry[] = [];
  #pendingRanges: PendingRange[] = [];
  #pendingMetadata = new Map<string, MetadataEntry>();
  #unsyncedFiles: string[] = [];
  #cache = new FrameCache(1 << 18);
  #writer?: WriterLock;
  /** Appended samples read back and compared so far (with `verify`); compaction not counted. */
  verifiedSamples = 0;
  /** Samples compaction rewrote, read back and compared (with `verify`). */
  verifiedCompactedSamples = 0;

  private constructor(dir: string, options: StoreOptions) {
    this.dir = dir;
    const maxSegmentSamples = options.maxSegmentSamples ?? 65536;
    this.#options = {
      maxSegmentSamples,
      memoryBudgetBytes: options.memoryBudgetBytes ?? 64 << 20,
      blockSize: options.blockSize ?? 0,
      readOnly: options.readOnly ?? false,
      verify: options.verify ?? false,
      level: options.level,
      packBelowSamples: options.packBelowSamples ?? maxSegmentSamples,
      compactTargetSamples: Math.max(
        2,
        Math.min(options.compactTargetSamples ?? 16384, Math.floor(maxSegmentSamples / 2)),
      ),
      autoCompact: options.autoCompact ?? true,
      compactMaxSamples: options.compactMaxSamples ?? 1_000_000,
      compactMinDebt: options.compactMinDebt ?? 64,
    };
  }

  /**
   * Opens a store, creating the directory when missing (unless `readOnly`). A writer removes
   * stale temporary files, files retired by compaction, and orphan segment files (written by a
   * process that died before committing them).
   */
  static async open(dir: string, options: StoreOptions = {}): Promise<Store> {
    if (!LITTLE_ENDIAN) throw new Error("the wattwave store needs a little-endian platform");
    const store = new Store(dir.replace(/\/+$/, "") || "/", options);
    if (!store.#options.readOnly) {
      await Deno.mkdir(`${store.dir}/${SEGMENTS_DIR}`, { recursive: true });
      await store.#removeStaleTemps();
      store.#writer = await WriterLock.acquire(`${store.dir}/${SEGMENTS_DIR}`);
    } else {
      try {
        const st = await Deno.stat(store.dir);
        if (!st.isDirectory) throw new InputError("not a directory", { where: store.dir });
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) {
          throw new InputError("store directory does not exist", { where: store.dir });
        }
        throw err;
      }
    }
    await store.refresh();
    if (!store.#options.readOnly) await store.#removeOrphans();
    return store;
  }

  async #removeStaleTemps(): Promise<void> {
    const cutoff = Date.now() - 10 * 60_000;
    for (const d of [this.dir, `${this.dir}/${SEGMENTS_DIR}`]) {
      for await (const e of Deno.readDir(d)) {
        if (!e.isFile || !e.name.endsWith(TEMP_SUFFIX)) continue;
        const path = `${d}/${e.name}`;
        const st = await Deno.stat(path).catch(() => undefined);
        if (st && (st.mtime?.getTime() ?? 0) < cutoff) await Deno.remove(path).catch(() => {});
      }
    }
  }

  /**
   * Deletes files retired by compaction, and segment files no index names whose writer is gone
   * (see `writer_lock.ts`), with the `.writer` files of dead writers.
   */
  async #removeOrphans(): Promise<void> {
    // Left by a compaction that crashed before deleting them: delete, and drop the list.
    if (this.#index.retired.length) await this.#locked((index) => this.#publish(index));
    const segments = `${this.dir}/${SEGMENTS_DIR}`;
    const candidates: string[] = [];
    const tags = new Set<string>();
    for await (const e of Deno.readDir(segments)) {
      if (!e.isFile) continue;
      if (e.name.endsWith(WRITER_SUFFIX) && !e.name.startsWith(".")) {
        tags.add(e.name.slice(0, -WRITER_SUFFIX.length));
      } else if (e.name.endsWith(".flac") && !this.#files.has(e.name)) {
        candidates.push(e.name);
        const tag = tagOf(e.name);
        if (tag !== undefined) tags.add(tag);
      }
    }
    tags.delete(this.#writer!.tag);
    if (!tags.size) return;
    // Dead writers first (their locks are held from now on), then the index: a file committed
    // before its writer died is in the index read after that.
    const dead = await deadWriters(segments, tags);
    try {
      await this.refresh();
      for (const name of candidates) {
        if (this.#files.has(name)) continue;
        const tag = tagOf(name);
        if (tag !== undefined) {
          if (dead.tags.has(tag)) await this.#removeSegment(name);
          continue;
        }
        const st = await Deno.stat(`${segments}/${name}`).catch(() => undefined);
        const age = Date.now() - (st?.mtime?.getTime() ?? Date.now());
        if (age > UNTAGGED_ORPHAN_AGE_MS) await this.#removeSegment(name);
      }
      for (const path of dead.lockFiles) await Deno.remove(path).catch(() => {});
    } finally {
      dead.release();
    }
  }

  /**
   * Releases this writer's lock (uncommitted appends are dropped; their files become orphans
   * that the next writer deletes). Reading still works afterwards.
   */
  async close(): Promise<void> {
    const w = this.#writer;
    this.#writer = undefined;
    if (w) await w.release();
  }

  async #removeSegment(name: string): Promise<void> {
    await Deno.remove(this.segmentPath(name)).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
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
    const stamp = `${st.ino}:${st.size}:${st.mtime?.getTime()}`;
    if (stamp === this.#indexStamp) return false;
    const index = await readIndex(this.dir);
    if (!index) return false;
    this.#setIndex(index, stamp, st.size);
    return true;
  }

  #setIndex(index: StoreIndex, stamp: string, bytes: number): void {
    this.#index = index;
    this.#indexStamp = stamp;
    this.#indexBytes = bytes;
    this.#byId = new Map(index.series.map((s) => [s.id, s]));
    this.#files = new Map(index.files.map((f) => [f.file, f]));
  }

  async #publish(index: StoreIndex): Promise<void> {
    index.generation++;
    const bytes = await writeIndex(this.dir, index);
    const st = await Deno.stat(`${this.dir}/${INDEX_FILE}`);
    this.#setIndex(index, `${st.ino}:${st.size}:${st.mtime?.getTime()}`, bytes);
  }

  /** Runs `fn` holding the store's LOCK, on a fresh copy of the committed index. */
  async #locked<T>(fn: (index: StoreIndex) => Promise<T>): Promise<T> {
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
      for (const f of index.retired) await this.#removeSegment(f);
      index.retired = [];
      return await fn(index);
    } finally {
      lock.close();
    }
  }

  #buffer(labels: LabelPairs, key?: string): SeriesBuffer {
    key ??= pairsKey(labels);
    let b = this.#buffers.get(key);
    if (!b) {
      if (this.#options.readOnly) throw new Error("store opened read-only");
      b = new SeriesBuffer(key, sortPairs(labels));
      this.#buffers.set(key, b);
      this.#bufferedBytes += b.capacity * 16;
    }
    return b;
  }

  /**
   * Buffers one sample. `labels` must include `__name__`; `key` (from `pairsKey`, or
   * `seriesKey` of `lib/model/sample.ts`) may be passed to skip recomputing it. For NaN, pass
   * its bits as 16 hex digits in `nanBits` (see `lib/model/value.ts`). Call
   * {@linkcode flushDue} now and then (after each batch) to keep memory bounded.
   */
  appendSample(
    labels: LabelPairs,
    timestampMs: number,
    value: number,
    nanBits?: string,
    key?: string,
  ): void {
    const b = this.#buffer(labels, key);
    if (b.length === b.capacity) this.#bufferedBytes += b.grow();
    const i = b.length++;
    if (i > 0 && timestampMs < b.timestampsMs[i - 1]) b.sorted = false;
    b.timestampsMs[i] = timestampMs;
    if (value === value || nanBits === undefined) b.values[i] = value;
    else {
      b.words[2 * i + 1] = parseInt(nanBits.slice(0, 8), 16);
      b.words[2 * i] = parseInt(nanBits.slice(8, 16), 16);
    }
  }

  /**
   * Buffers samples of one series (values bit-exact, NaN payloads kept) and writes files that
   * are due. Not durable until {@linkcode commit}.
   */
  async append(
    labels: LabelPairs,
    timestampsMs: ArrayLike<number>,
    values: Float64Array,
  ): Promise<void> {
    if (timestampsMs.length !== values.length) {
      throw new RangeError(
        `append needs as many timestamps as values (got ${timestampsMs.length} and ${values.length})`,
      );
    }
    const b = this.#buffer(labels);
    const src = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
    for (let j = 0; j < values.length; j++) {
      if (b.length === b.capacity) this.#bufferedBytes += b.grow();
      const i = b.length++;
      const t = timestampsMs[j];
      if (!Number.isSafeInteger(t)) {
        b.length--;
        throw new RangeError(`timestamps must be integer ms (got ${t})`);
      }
      if (i > 0 && t < b.timestampsMs[i - 1]) b.sorted = false;
      b.timestampsMs[i] = t;
      b.words[2 * i] = src[2 * j];
      b.words[2 * i + 1] = src[2 * j + 1];
      if (b.length >= this.#options.maxSegmentSamples) this.#cut(b);
    }
    await this.flushDue();
  }

  /**
   * Records a metric's type, unit and help (an NDJSON metadata record); stored in the index at
   * the next {@linkcode commit} (a later record for the same name replaces it).
   */
  setMetadata(entry: MetadataEntry): void {
    if (this.#options.readOnly) throw new Error("store opened read-only");
    this.#pendingMetadata.set(entry.name, {
      name: entry.name,
      type: entry.type,
      unit: entry.unit,
      help: entry.help,
    });
  }

  /** The committed metadata of a metric name, if any. */
  metadata(name: string): MetadataEntry | undefined {
    return this.#index.metadata.find((m) => m.name === name);
  }

  /** All committed metadata records. */
  allMetadata(): MetadataEntry[] {
    return [...this.#index.metadata];
  }

  /** Samples buffered and not yet written to files. */
  get bufferedSamples(): number {
    let n = this.#runSamples;
    for (const b of this.#buffers.values()) n += b.length;
    return n;
  }

  /** Bytes held by series buffers and cut ranges (the quantity bounded by `memoryBudgetBytes`). */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Writes files for buffers that reached `maxSegmentSamples`, and for the largest ones while over the memory budget. */
  async flushDue(): Promise<void> {
    for (const b of this.#buffers.values()) {
      if (b.length >= this.#options.maxSegmentSamples) this.#cut(b);
    }
    if (this.#runSamples >= this.#options.maxSegmentSamples) await this.#writeRuns();
    if (this.#bufferedBytes <= this.#options.memoryBudgetBytes) return;
    const bySize = [...this.#buffers.values()].sort((a, b) => b.length - a.length);
    for (const b of bySize) {
      if (this.#bufferedBytes <= this.#options.memoryBudgetBytes / 2) break;
      this.#cut(b);
      if (this.#runSamples >= this.#options.maxSegmentSamples) await this.#writeRuns();
    }
    await this.#writeRuns();
    // Idle series keep their small buffers; drop empty ones to bound the map too.
    if (this.#bufferedBytes > this.#options.memoryBudgetBytes / 2) {
      for (const [key, b] of this.#buffers) {
        if (b.length === 0) {
          this.#bufferedBytes -= b.capacity * 16;
          this.#buffers.delete(key);
        }
      }
    }
  }

  /** Moves a buffer's samples (sorted, split at long gaps) to the runs waiting for a file. */
  #cut(b: SeriesBuffer): void {
    const n = b.length;
    if (n === 0) return;
    if (!b.sorted) sortSamples(b.timestampsMs, b.words, n);
    const block = { timestampsMs: b.timestampsMs.slice(0, n), values: b.values.slice(0, n) };
    for (const part of splitAtGaps(block)) {
      this.#runs.push({ id: b.id, key: b.key, labels: b.labels, block: part });
    }
    this.#runSamples += n;
    this.#bufferedBytes += n * 16;
    this.#bufferedBytes -= b.reset();
  }

  /** Writes every waiting run into files: long ones alone, short ones packed by series key. */
  async #writeRuns(): Promise<void> {
    const runs = this.#runs;
    if (!runs.length) return;
    this.#runs = [];
    const samples = this.#runSamples;
    this.#runSamples = 0;
    for (const group of this.#groupRuns(runs)) {
      const { file, ranges } = await this.#writeFile(group.map((r) => r.block));
      this.#pendingFiles.push(file);
      group.forEach((r, i) => {
        this.#pendingRanges.push({ seriesId: r.id, labels: r.labels, range: ranges[i] });
      });
    }
    this.#bufferedBytes -= samples * 16;
  }

  /**
   * Groups runs into files: runs of `packBelowSamples` or more alone, the others sorted by
   * series key (similar series side by side compress better; a series' runs keep their order)
   * and packed up to `maxSegmentSamples` per file.
   */
  #groupRuns<T extends { key: string; block: SampleBlock }>(runs: T[]): T[][] {
    const groups: T[][] = [];
    const small: T[] = [];
    for (const r of runs) {
      if (r.block.timestampsMs.length >= this.#options.packBelowSamples) groups.push([r]);
      else small.push(r);
    }
    small.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    let current: T[] = [];
    let n = 0;
    for (const r of small) {
      const c = r.block.timestampsMs.length;
      if (current.length && n + c > this.#options.maxSegmentSamples) {
        groups.push(current);
        current = [];
        n = 0;
      }
      current.push(r);
      n += c;
    }
    if (current.length) groups.push(current);
    return groups;
  }

  /** Encodes blocks into one new file (written, not yet fsynced or indexed). */
  async #writeFile(
    blocks: SampleBlock[],
    compacting = false,
  ): Promise<{ file: FileEntry; ranges: RangeEntry[] }> {
    const encoded = encodePack(blocks, {
      blockSize: this.#options.blockSize ||
        (encodedSamples(blocks) < 1024 * blocks.length ? 512 : 1024),
      ...(this.#options.level !== undefined ? { level: this.#options.level } : {}),
    });
    if (!this.#writer) throw new Error("store closed or opened read-only");
    const name = this.#writer.newSegmentName();
    const path = this.segmentPath(name);
    // No temp name needed: nothing refers to the file until a commit fsyncs it and the index.
    await Deno.writeFile(path, encoded.bytes, { createNew: true });
    this.#unsyncedFiles.push(path);
    const file: FileEntry = { file: name, ...encoded.file };
    const ranges = encoded.ranges.map((r): RangeEntry => ({ file: name, ...r }));
    if (this.#options.verify) {
      const bytes = await Deno.readFile(path);
      const decoded = decodeFrames(bytes, file, byteSpan(file, 0, wholeSpan(file)), path);
      ranges.forEach((r, i) => {
        const back = rangeSamples(decoded, r, rangeSpan(r, file.blockSize, -Infinity, Infinity)!);
        const mismatch = firstMismatch(blocks[i].timestampsMs, blocks[i].values, back);
        if (mismatch >= 0) {
          throw new Error(
            `verify failed: ${path} range ${i} sample ${mismatch} does not decode to what was written`,
          );
        }
        if (compacting) this.verifiedCompactedSamples += r.count;
        else this.verifiedSamples += r.count;
      });
    }
    return { file, ranges };
  }

  async #syncNewFiles(): Promise<void> {
    if (!this.#unsyncedFiles.length) return;
    await syncFiles(this.#unsyncedFiles);
    await syncDir(`${this.dir}/${SEGMENTS_DIR}`);
    this.#unsyncedFiles = [];
  }

  /**
   * Makes everything appended so far durable: packs every buffer into files, fsyncs them and
   * the segments directory, then replaces the index atomically (under a lock, merged with what
   * other processes committed meanwhile). Returns only when all of it is on disk. Then, with
   * `autoCompact`, merges small ranges when enough piled up (bounded by `compactMaxSamples`).
   */
  async commit(): Promise<CommitResult> {
    if (this.#options.readOnly) throw new Error("store opened read-only");
    for (const b of this.#buffers.values()) this.#cut(b);
    await this.#writeRuns();
    const files = this.#pendingFiles;
    const pending = this.#pendingRanges;
    const metadata = this.#pendingMetadata;
    if (files.length === 0 && metadata.size === 0) {
      return { segments: 0, ranges: 0, samples: 0, bytes: 0, generation: this.#index.generation };
    }
    await this.#syncNewFiles();
    const result = await this.#locked(async (index) => {
      const byId = new Map(index.series.map((s) => [s.id, s]));
      let samples = 0;
      let bytes = 0;
      for (const f of files) {
        index.files.push(f);
        bytes += f.bytes;
      }
      for (const p of pending) {
        let s = byId.get(p.seriesId);
        if (!s) {
          s = { id: p.seriesId, labels: p.labels, ranges: [] };
          byId.set(p.seriesId, s);
          index.series.push(s);
        } else if (pairsKey(s.labels) !== pairsKey(p.labels)) {
          throw new Error(`series id collision for ${p.seriesId}: ${JSON.stringify(p.labels)}`);
        }
        s.ranges.push(p.range);
        samples += p.range.count;
      }
      for (const m of metadata.values()) {
        const i = index.metadata.findIndex((x) => x.name === m.name);
        if (i >= 0) index.metadata[i] = m;
        else index.metadata.push(m);
      }
      await this.#publish(index);
      this.#pendingFiles = [];
      this.#pendingRanges = [];
      this.#pendingMetadata = new Map();
      return {
        segments: files.length,
        ranges: pending.length,
        samples,
        bytes,
        generation: index.generation,
      } as CommitResult;
    });
    if (this.#options.autoCompact && files.length) {
      // The commit is published: a failed compaction must not make it look failed.
      try {
        const plan = planCompaction(this.#index, this.#options.compactTargetSamples);
        if (compactionDue(plan, { minDebt: this.#options.compactMinDebt })) {
          result.compaction = await this.#compact(plan.items, this.#options.compactMaxSamples);
        }
      } catch (err) {
        console.error(
          `wattwave store: automatic compaction failed (the commit succeeded): ${
            (err as Error).message
          }`,
        );
      }
    }
    return result;
  }

  /**
   * Merges small ranges (see `compact.ts`) of the committed index, crash-safely: new files are
   * written and fsynced, the index is replaced atomically, and only then the old files are
   * deleted. With `full` (default true) it merges every series' trailing ranges smaller than
   * `compactTargetSamples`, however many passes of `maxSamples` samples that takes; otherwise
   * one pass under the automatic (binary counter) rule. Uncommitted appends are untouched.
   */
  async compact(options: { full?: boolean; maxSamples?: number } = {}): Promise<CompactResult> {
    if (this.#options.readOnly) throw new Error("store opened read-only");
    const total = emptyCompactResult();
    for (let pass = 0; pass < 1000; pass++) {
      await this.refresh();
      const full = options.full ?? true;
      const plan = planCompaction(this.#index, this.#options.compactTargetSamples, full);
      if (!plan.items.length) break;
      const r = await this.#compact(
        plan.items,
        options.maxSamples ?? this.#options.compactMaxSamples,
      );
      addCompactResult(total, r);
      // Stop when a pass made no progress (nothing merged, or nothing got fewer ranges).
      if (!full || r.rangesIn === 0 || r.rangesOut >= r.rangesIn) break;
    }
    return total;
  }

  async #compact(items: CompactionItem[], maxSamples: number): Promise<CompactResult> {
    const result = emptyCompactResult();
    // Bounded work: whole items until maxSamples (at least one).
    const chosen: CompactionItem[] = [];
    let planned = 0;
    for (const it of items) {
      if (chosen.length && planned + it.samples > maxSamples) break;
      chosen.push(it);
      planned += it.samples;
    }
    const newFiles: FileEntry[] = [];
    const merged = new Map<CompactionItem, RangeEntry[]>();
    const keyOf = new Map<string, string>();
    for (const s of this.#index.series) keyOf.set(s.id, pairsKey(s.labels));
    type Job = { key: string; block: SampleBlock; item: CompactionItem };
    let jobs: Job[] = [];
    let jobSamples = 0;
    const flush = async () => {
      for (const group of this.#groupRuns(jobs)) {
        const { file, ranges } = await this.#writeFile(group.map((j) => j.block), true);
        newFiles.push(file);
        group.forEach((j, i) => {
          const list = merged.get(j.item) ?? [];
          list.push(ranges[i]);
          merged.set(j.item, list);
        });
      }
      jobs = [];
      jobSamples = 0;
    };
    for (const it of chosen) {
      const blocks: SampleBlock[] = [];
      try {
        this.#withOpenFiles(it.ranges, (open) => {
          for (const r of it.ranges) {
            blocks.push(this.#readRange(open, r, -Infinity, Infinity));
          }
        });
      } catch (err) {
        // Another writer compacted this run meanwhile and deleted its files: skip it (the
        // index check below would drop it anyway).
        if (isNotFound(err)) continue;
        throw err;
      }
      const block = mergeBlocks(blocks, blocks.map((_, i) => i));
      for (const part of splitAtGaps(block)) {
        jobs.push({ key: keyOf.get(it.seriesId) ?? "", block: part, item: it });
      }
      jobSamples += block.timestampsMs.length;
      if (jobSamples >= this.#options.maxSegmentSamples) await flush();
    }
    await flush();
    if (!newFiles.length) return result;
    await this.#syncNewFiles();
    const retired: string[] = [];
    await this.#locked(async (index) => {
      const byId = new Map(index.series.map((s) => [s.id, s]));
      const oldFiles = new Set<string>();
      for (const it of chosen) {
        const s = byId.get(it.seriesId);
        const replacement = merged.get(it);
        if (!s || !replacement) continue;
        // The run must still be there, unchanged (another compaction may have merged it).
        const at = findRun(s.ranges, it.ranges);
        if (at < 0) continue;
        s.ranges.splice(at, it.ranges.length, ...replacement);
        for (const r of it.ranges) oldFiles.add(r.file);
        result.series++;
        result.rangesIn += it.ranges.length;
        result.rangesOut += replacement.length;
        result.samples += it.samples;
      }
      const used = new Set<string>();
      for (const s of index.series) for (const r of s.ranges) used.add(r.file);
      for (const f of newFiles) {
        if (used.has(f.file)) {
          index.files.push(f);
          result.filesWritten++;
        } else retired.push(f.file);
      }
      for (const f of oldFiles) {
        if (!used.has(f)) {
          retired.push(f);
          result.filesDeleted++;
        }
      }
      index.files = index.files.filter((f) => used.has(f.file));
      index.retired = [...retired];
      await this.#publish(index);
    });
    // The index no longer names them: delete them, then drop them from the index (a crash
    // in between leaves them listed as retired, deleted by the next writer).
    if (retired.length) await this.#locked((index) => this.#publish(index));
    return result;
  }

  /** The committed series (as of the last {@linkcode refresh} or commit), optionally filtered. */
  series(predicate?: (labels: LabelPairs) => boolean): SeriesInfo[] {
    const out: SeriesInfo[] = [];
    for (const s of this.#index.series) {
      if (predicate && !predicate(s.labels)) continue;
      let count = 0;
      let minTs = Infinity;
      let maxTs = -Infinity;
      for (const g of s.ranges) {
        count += g.count;
        if (g.minTs < minTs) minTs = g.minTs;
        if (g.maxTs > maxTs) maxTs = g.maxTs;
      }
      out.push({ id: s.id, labels: s.labels, count, minTs, maxTs, segments: s.ranges.length });
    }
    return out;
  }

  /** Totals of the committed store. */
  stats(): StoreStats {
    let ranges = 0;
    let samples = 0;
    let series = 0;
    for (const s of this.#index.series) {
      if (s.ranges.length) series++;
      for (const g of s.ranges) {
        ranges++;
        samples += g.count;
      }
    }
    let segmentBytes = 0;
    for (const f of this.#index.files) segmentBytes += f.bytes;
    return {
      series,
      segments: this.#index.files.length,
      ranges,
      samples,
      segmentBytes,
      indexBytes: this.#indexBytes,
    };
  }

  /**
   * Opens the files of `ranges` and runs `fn` with them (closed afterwards). Opened files stay
   * readable even when a compaction deletes them meanwhile.
   */
  #withOpenFiles<T>(
    ranges: RangeEntry[],
    fn: (open: Map<string, Deno.FsFile>) => T,
  ): T {
    const open = new Map<string, Deno.FsFile>();
    try {
      for (const r of ranges) {
        if (open.has(r.file)) continue;
        const path = this.segmentPath(r.file);
        try {
          open.set(r.file, Deno.openSync(path, { read: true }));
        } catch (err) {
          throw new InputError(`cannot read segment: ${(err as Error).message}`, {
            where: path,
            cause: err,
          });
        }
      }
      return fn(open);
    } finally {
      for (const f of open.values()) f.close();
    }
  }

  /**
   * Reads the committed samples of a series with timestamps in [startMs, endMs] (inclusive),
   * in timestamp order (ties: the order they were appended), in blocks. Only ranges whose time
   * span meets the query are read, and within them only the covering FLAC frames decoded.
   * Overlapping ranges (late or out-of-order appends) are merged. When a compaction removed a
   * file since the last refresh, the index is re-read and the read starts over.
   */
  async *read(id: string, startMs = -Infinity, endMs = Infinity): AsyncGenerator<SampleBlock> {
    for (let attempt = 0;; attempt++) {
      const s = this.#byId.get(id);
      if (!s) return;
      const selected = s.ranges
        .map((g, order) => ({ g, order }))
        .filter(({ g }) => g.maxTs >= startMs && g.minTs <= endMs)
        .sort((a, b) => a.g.minTs - b.g.minTs || a.order - b.order);
      const open = new Map<string, Deno.FsFile>();
      try {
        let missing: unknown;
        for (const { g } of selected) {
          if (open.has(g.file)) continue;
          try {
            open.set(g.file, Deno.openSync(this.segmentPath(g.file), { read: true }));
          } catch (err) {
            missing = err;
            break;
          }
        }
        if (missing !== undefined) {
          if (missing instanceof Deno.errors.NotFound && attempt < 3 && (await this.refresh())) {
            continue;
          }
          throw new InputError(`cannot read segment: ${(missing as Error).message}`, {
            where: this.dir,
            cause: missing,
          });
        }
        let i = 0;
        while (i < selected.length) {
          // A group of ranges whose time spans overlap (usually just one).
          let j = i + 1;
          let groupMax = selected[i].g.maxTs;
          while (j < selected.length && selected[j].g.minTs <= groupMax) {
            groupMax = Math.max(groupMax, selected[j].g.maxTs);
            j++;
          }
          const group = selected.slice(i, j);
          const blocks: SampleBlock[] = [];
          for (const { g } of group) blocks.push(this.#readRange(open, g, startMs, endMs));
          if (blocks.length === 1) {
            if (blocks[0].timestampsMs.length) yield blocks[0];
          } else {
            const merged = mergeBlocks(blocks, group.map((x) => x.order));
            if (merged.timestampsMs.length) yield merged;
          }
          i = j;
        }
        return;
      } finally {
        for (const f of open.values()) f.close();
      }
    }
  }

  #readRange(
    open: Map<string, Deno.FsFile>,
    r: RangeEntry,
    startMs: number,
    endMs: number,
  ): SampleBlock {
    const path = this.segmentPath(r.file);
    const file = this.#files.get(r.file);
    if (!file) throw new InputError(`the index has no entry for file ${r.file}`, { where: path });
    const span = rangeSpan(r, file.blockSize, startMs, endMs);
    if (!span) return { timestampsMs: new Float64Array(0), values: new Float64Array(0) };
    const bs = byteSpan(file, r.at, span);
    const key = `${r.file}:${bs.firstFrame}:${bs.lastFrame}`;
    let decoded = this.#cache.get(key);
    if (!decoded) {
      const f = open.get(r.file)!;
      const head = file.frames[0];
      let bytes: Uint8Array;
      try {
        if (bs.whole) {
          bytes = new Uint8Array(file.bytes);
          readAt(f, 0, bytes);
        } else {
          bytes = new Uint8Array(head + bs.byteEnd - bs.byteStart);
          readAt(f, 0, bytes.subarray(0, head));
          readAt(f, bs.byteStart, bytes.subarray(head));
        }
      } catch (err) {
        throw new InputError(`cannot read segment: ${(err as Error).message}`, {
          where: path,
          cause: err,
        });
      }
      decoded = decodeFrames(bytes, file, bs, path);
      this.#cache.set(key, decoded);
    }
    return rangeSamples(decoded, r, span, startMs, endMs, path);
  }

  /** Path of a segment file of this store. */
  segmentPath(file: string): string {
    return `${this.dir}/${SEGMENTS_DIR}/${file}`;
  }
}

/** Samples in blocks. */
function encodedSamples(blocks: SampleBlock[]): number {
  let n = 0;
  for (const b of blocks) n += b.timestampsMs.length;
  return n;
}

/** A span covering every sample of a file (for verification). */
function wholeSpan(file: FileEntry) {
  return { first: 0, end: file.count, firstTs: 0 };
}

/** Position of `run` (same files and offsets, contiguous) in `ranges`, or -1. */
function findRun(ranges: RangeEntry[], run: RangeEntry[]): number {
  outer: for (let i = 0; i + run.length <= ranges.length; i++) {
    for (let j = 0; j < run.length; j++) {
      const a = ranges[i + j];
      const b = run[j];
      if (a.file !== b.file || a.at !== b.at || a.count !== b.count) continue outer;
    }
    return i;
  }
  return -1;
}

/** Index of the first sample whose timestamp or value bits differ, or -1 when identical. */
function firstMismatch(ts: Float64Array, values: Float64Array, block: SampleBlock): number {
  const n = ts.length;
  if (block.timestampsMs.length !== n) return Math.min(n, block.timestampsMs.length);
  const a = new Uint32Array(values.buffer, values.byteOffset, n * 2);
  const b = new Uint32Array(block.values.buffer, block.values.byteOffset, n * 2);
  for (let i = 0; i < n; i++) {
    if (ts[i] !== block.timestampsMs[i] || a[2 * i] !== b[2 * i] || a[2 * i + 1] !== b[2 * i + 1]) {
      return i;
    }
  }
  return -1;
}

/** Merges blocks into one sorted block; ties ordered by the blocks' commit order. */
function mergeBlocks(blocks: SampleBlock[], orders: number[]): SampleBlock {
  let n = 0;
  for (const b of blocks) n += b.timestampsMs.length;
  const ts = new Float64Array(n);
  const vals = new Float64Array(n);
  const words = new Uint32Array(vals.buffer);
  const rank = new Float64Array(n);
  let k = 0;
  for (let bi = 0; bi < blocks.length; bi++) {
    const b = blocks[bi];
    const w = new Uint32Array(b.values.buffer, b.values.byteOffset, b.values.length * 2);
    for (let i = 0; i < b.timestampsMs.length; i++, k++) {
      ts[k] = b.timestampsMs[i];
      words[2 * k] = w[2 * i];
      words[2 * k + 1] = w[2 * i + 1];
      rank[k] = orders[bi] * 2 ** 32 + i;
    }
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => ts[a] - ts[b] || rank[a] - rank[b]);
  const outTs = new Float64Array(n);
  const outVals = new Float64Array(n);
  const outWords = new Uint32Array(outVals.buffer);
  for (let i = 0; i < n; i++) {
    const j = order[i];
    outTs[i] = ts[j];
    outWords[2 * i] = words[2 * j];
    outWords[2 * i + 1] = words[2 * j + 1];
  }
  return { timestampsMs: outTs, values: outVals };
}
