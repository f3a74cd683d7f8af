/**
 * The wattwave series store: a directory of FLAC segments and an atomically replaced index.
 *
 * ```ts
 * const store = await Store.open("data/store");
 * store.appendSample(pairs, 1732350000123, 69.85);      // buffered in memory
 * await store.flushDue();                               // cuts full/over-budget buffers to files
 * await store.commit();                                 // durable: segments fsynced, index replaced
 * for (const s of store.series((labels) => true)) {
 *   for await (const block of store.read(s.id, startMs, endMs)) { ... }
 * }
 * ```
 *
 * Layout, mapping and policies are described in `lib/store/README.md`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { InputError } from "../errors.ts";
import { syncDir, syncFiles, TEMP_SUFFIX } from "./atomic_file.ts";
import {
  emptyIndex,
  INDEX_FILE,
  readIndex,
  type SegmentEntry,
  type SeriesEntry,
  type StoreIndex,
  writeIndex,
} from "./index_file.ts";
import { decodeSegment, encodeSegment, type SampleBlock } from "./segment.ts";
import { MAX_GAP_MS } from "./timestamps.ts";
import { LITTLE_ENDIAN } from "./value_map.ts";

export type { SampleBlock } from "./segment.ts";
export type { SegmentEntry, SeriesEntry, StoreIndex } from "./index_file.ts";

/** Label pairs including `__name__`, sorted by label name (the wire order). */
export type LabelPairs = [string, string][];

/** Directory of segment files inside a store. */
export const SEGMENTS_DIR = "segments";
/** Lock file taken (flock) while the index is replaced. */
export const LOCK_FILE = "LOCK";

/** Options of {@linkcode Store.open}. */
export interface StoreOptions {
  /** Most samples in one segment; a series buffer reaching it is cut. Default 65536. */
  maxSegmentSamples?: number;
  /** Total bytes all series buffers may hold before the largest are cut. Default 64 MiB. */
  memoryBudgetBytes?: number;
  /** FLAC block size (samples per frame and seek granularity). Default 4096. */
  blockSize?: number;
  /** FLAC compression level (0–8) passed to the codec. Default the codec's default. */
  level?: number;
  /** Open without creating anything; `append*`/`commit` throw. Default false. */
  readOnly?: boolean;
  /** Read every segment back from disk after writing it and compare bit for bit. Default false. */
  verify?: boolean;
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
  /** Committed segments. */
  segments: number;
}

/** Result of {@linkcode Store.commit}. */
export interface CommitResult {
  /** Segments made durable by this commit. */
  segments: number;
  /** Samples in them. */
  samples: number;
  /** Bytes of their files. */
  bytes: number;
  /** Index generation written (unchanged when there was nothing to commit). */
  generation: number;
}

/** Totals of the committed store. */
export interface StoreStats {
  /** Series with at least one segment. */
  series: number;
  /** Segment files. */
  segments: number;
  /** Samples in them. */
  samples: number;
  /** Bytes of segment files. */
  segmentBytes: number;
  /** Bytes of the index file. */
  indexBytes: number;
}

/** Computes the stable id of a label set. */
export function seriesId(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 16);
}

/** The canonical key of sorted label pairs (same form as `seriesKey` in `lib/model/sample.ts`). */
export function pairsKey(labels: LabelPairs): string {
  let name = "";
  let rest = "";
  for (const [n, v] of labels) {
    if (n === "__name__") name = v;
    else rest += "\xff" + n + "\xfe" + v;
  }
  return name + rest;
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

/** The in-memory tail of one series, before it is cut into a segment. */
class SeriesBuffer {
  readonly id: string;
  readonly labels: LabelPairs;
  timestampsMs: Float64Array;
  values: Float64Array;
  words: Uint32Array;
  length = 0;
  sorted = true;
  constructor(id: string, labels: LabelPairs) {
    this.id = id;
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

interface PendingSegment {
  seriesId: string;
  labels: LabelPairs;
  entry: SegmentEntry;
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

let fileCounter = 0;

/** A store directory opened for reading and (unless `readOnly`) appending. */
export class Store {
  /** The store directory. */
  readonly dir: string;
  #options: Required<Omit<StoreOptions, "level">> & { level?: number };
  #index: StoreIndex = emptyIndex();
  #byId = new Map<string, SeriesEntry>();
  #indexStamp = "";
  #indexBytes = 0;
  #buffers = new Map<string, SeriesBuffer>();
  #bufferedBytes = 0;
  #pending: PendingSegment[] = [];
  #unsyncedFiles: string[] = [];
  /** Samples read back and compared so far (with `verify`). */
  verifiedSamples = 0;

  private constructor(dir: string, options: StoreOptions) {
    this.dir = dir;
    this.#options = {
      maxSegmentSamples: options.maxSegmentSamples ?? 65536,
      memoryBudgetBytes: options.memoryBudgetBytes ?? 64 << 20,
      blockSize: options.blockSize ?? 4096,
      readOnly: options.readOnly ?? false,
      verify: options.verify ?? false,
      level: options.level,
    };
  }

  /**
   * Opens a store, creating the directory when missing (unless `readOnly`). Stale temporary
   * files from crashed writers are removed.
   */
  static async open(dir: string, options: StoreOptions = {}): Promise<Store> {
    if (!LITTLE_ENDIAN) throw new Error("the wattwave store needs a little-endian platform");
    const store = new Store(dir.replace(/\/+$/, "") || "/", options);
    if (!store.#options.readOnly) {
      await Deno.mkdir(`${store.dir}/${SEGMENTS_DIR}`, { recursive: true });
      await store.#removeStaleTemps();
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
  }

  #buffer(labels: LabelPairs, key?: string): SeriesBuffer {
    key ??= pairsKey(labels);
    let b = this.#buffers.get(key);
    if (!b) {
      if (this.#options.readOnly) throw new Error("store opened read-only");
      b = new SeriesBuffer(seriesId(key), sortPairs(labels));
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
   * Buffers samples of one series (values bit-exact, NaN payloads kept) and cuts segments that
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
      if (b.length >= this.#options.maxSegmentSamples) await this.#cut(b);
    }
    await this.flushDue();
  }

  /** Samples buffered and not yet cut into segments. */
  get bufferedSamples(): number {
    let n = 0;
    for (const b of this.#buffers.values()) n += b.length;
    return n;
  }

  /** Bytes held by series buffers (the quantity bounded by `memoryBudgetBytes`). */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Cuts the buffers that reached `maxSegmentSamples`, then the largest ones while over the memory budget. */
  async flushDue(): Promise<void> {
    for (const b of this.#buffers.values()) {
      if (b.length >= this.#options.maxSegmentSamples) await this.#cut(b);
    }
    if (this.#bufferedBytes <= this.#options.memoryBudgetBytes) return;
    const bySize = [...this.#buffers.values()].sort((a, b) => b.length - a.length);
    for (const b of bySize) {
      if (this.#bufferedBytes <= this.#options.memoryBudgetBytes / 2) break;
      await this.#cut(b);
    }
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

  /** Writes a buffer's samples as one or more segment files (durable, not yet indexed). */
  async #cut(b: SeriesBuffer): Promise<void> {
    const n = b.length;
    if (n === 0) return;
    if (!b.sorted) sortSamples(b.timestampsMs, b.words, n);
    let start = 0;
    for (let i = 1; i <= n; i++) {
      if (i === n || b.timestampsMs[i] - b.timestampsMs[i - 1] > MAX_GAP_MS) {
        await this.#writeSegment(b, start, i);
        start = i;
      }
    }
    this.#bufferedBytes -= b.reset();
  }

  async #writeSegment(b: SeriesBuffer, from: number, to: number): Promise<void> {
    const ts = b.timestampsMs.subarray(from, to);
    const vals = b.values.subarray(from, to);
    const { bytes, entry } = encodeSegment(ts, vals, {
      blockSize: this.#options.blockSize,
      ...(this.#options.level !== undefined ? { level: this.#options.level } : {}),
    });
    const rand = crypto.getRandomValues(new Uint8Array(4));
    const suffix = Array.from(rand, (x) => x.toString(16).padStart(2, "0")).join("");
    const file = `${b.id}-${entry.minTs}-${Deno.pid}${++fileCounter}${suffix}.flac`;
    const path = `${this.dir}/${SEGMENTS_DIR}/${file}`;
    // No temp name needed: nothing refers to the file until commit fsyncs it and the index.
    await Deno.writeFile(path, bytes, { createNew: true });
    this.#unsyncedFiles.push(path);
    if (this.#options.verify) {
      const back = decodeSegment(await Deno.readFile(path), entry, -Infinity, Infinity, path);
      const mismatch = firstMismatch(ts, vals, back);
      if (mismatch >= 0) {
        throw new Error(
          `verify failed: ${path} sample ${mismatch} does not decode to what was written`,
        );
      }
      this.verifiedSamples += ts.length;
    }
    this.#pending.push({ seriesId: b.id, labels: b.labels, entry: { file, ...entry } });
  }

  /**
   * Makes everything appended so far durable: cuts every buffer into segments, fsyncs them and
   * the segments directory, then replaces the index atomically (under a lock, merged with
   * segments other processes committed meanwhile). Returns only when all of it is on disk.
   */
  async commit(): Promise<CommitResult> {
    if (this.#options.readOnly) throw new Error("store opened read-only");
    for (const b of this.#buffers.values()) await this.#cut(b);
    const pending = this.#pending;
    if (pending.length === 0) {
      return { segments: 0, samples: 0, bytes: 0, generation: this.#index.generation };
    }
    if (this.#unsyncedFiles.length) {
      await syncFiles(this.#unsyncedFiles);
      await syncDir(`${this.dir}/${SEGMENTS_DIR}`);
      this.#unsyncedFiles = [];
    }
    const lock = await Deno.open(`${this.dir}/${LOCK_FILE}`, {
      read: true,
      write: true,
      create: true,
    });
    try {
      await lock.lock(true);
      await this.refresh();
      const index: StoreIndex = structuredClone(this.#index);
      const byId = new Map(index.series.map((s) => [s.id, s]));
      let samples = 0;
      let bytes = 0;
      for (const p of pending) {
        let s = byId.get(p.seriesId);
        if (!s) {
          s = { id: p.seriesId, labels: p.labels, segments: [] };
          byId.set(p.seriesId, s);
          index.series.push(s);
        } else if (pairsKey(s.labels) !== pairsKey(p.labels)) {
          throw new Error(`series id collision for ${p.seriesId}: ${JSON.stringify(p.labels)}`);
        }
        s.segments.push(p.entry);
        samples += p.entry.count;
        bytes += p.entry.bytes;
      }
      index.generation++;
      await writeIndex(this.dir, index);
      this.#pending = [];
      const st = await Deno.stat(`${this.dir}/${INDEX_FILE}`);
      this.#setIndex(index, `${st.ino}:${st.size}:${st.mtime?.getTime()}`, st.size);
      return { segments: pending.length, samples, bytes, generation: index.generation };
    } finally {
      lock.close();
    }
  }

  /** The committed series (as of the last {@linkcode refresh} or commit), optionally filtered. */
  series(predicate?: (labels: LabelPairs) => boolean): SeriesInfo[] {
    const out: SeriesInfo[] = [];
    for (const s of this.#index.series) {
      if (predicate && !predicate(s.labels)) continue;
      let count = 0;
      let minTs = Infinity;
      let maxTs = -Infinity;
      for (const g of s.segments) {
        count += g.count;
        if (g.minTs < minTs) minTs = g.minTs;
        if (g.maxTs > maxTs) maxTs = g.maxTs;
      }
      out.push({ id: s.id, labels: s.labels, count, minTs, maxTs, segments: s.segments.length });
    }
    return out;
  }

  /** Totals of the committed store. */
  stats(): StoreStats {
    let segments = 0;
    let samples = 0;
    let segmentBytes = 0;
    let series = 0;
    for (const s of this.#index.series) {
      if (s.segments.length) series++;
      for (const g of s.segments) {
        segments++;
        samples += g.count;
        segmentBytes += g.bytes;
      }
    }
    return { series, segments, samples, segmentBytes, indexBytes: this.#indexBytes };
  }

  /**
   * Reads the committed samples of a series with timestamps in [startMs, endMs] (inclusive),
   * in timestamp order (ties: the order they were appended), in blocks. Only segments whose
   * range meets the query are opened, and within them only the covering FLAC frames decoded.
   * Overlapping segments (late or out-of-order appends) are merged.
   */
  async *read(id: string, startMs = -Infinity, endMs = Infinity): AsyncGenerator<SampleBlock> {
    const s = this.#byId.get(id);
    if (!s) return;
    const segments = s.segments
      .map((g, order) => ({ g, order }))
      .filter(({ g }) => g.maxTs >= startMs && g.minTs <= endMs)
      .sort((a, b) => a.g.minTs - b.g.minTs || a.order - b.order);
    let i = 0;
    while (i < segments.length) {
      // A group of segments whose time ranges overlap (usually just one).
      let j = i + 1;
      let groupMax = segments[i].g.maxTs;
      while (j < segments.length && segments[j].g.minTs <= groupMax) {
        groupMax = Math.max(groupMax, segments[j].g.maxTs);
        j++;
      }
      const group = segments.slice(i, j);
      const blocks: SampleBlock[] = [];
      for (const { g } of group) blocks.push(await this.#readSegment(g, startMs, endMs));
      if (blocks.length === 1) {
        if (blocks[0].timestampsMs.length) yield blocks[0];
      } else {
        const orders = group.map((x) => x.order);
        const merged = mergeBlocks(blocks, orders);
        if (merged.timestampsMs.length) yield merged;
      }
      i = j;
    }
  }

  async #readSegment(g: SegmentEntry, startMs: number, endMs: number): Promise<SampleBlock> {
    const path = `${this.dir}/${SEGMENTS_DIR}/${g.file}`;
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (err) {
      throw new InputError(`cannot read segment: ${(err as Error).message}`, {
        where: path,
        cause: err,
      });
    }
    return decodeSegment(bytes, g, startMs, endMs, path);
  }

  /** Path of a segment file of this store. */
  segmentPath(file: string): string {
    return `${this.dir}/${SEGMENTS_DIR}/${file}`;
  }
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
