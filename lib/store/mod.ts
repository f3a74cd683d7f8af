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
import { compareLabelPairs, type LabelPairs } from "../model/labels.ts";
import { SeriesBuffers } from "./buffers.ts";
import { CommittedIndex } from "./committed.ts";
import {
  type CompactionContext,
  compactionDebt,
  compactionDue,
  planCompaction,
  runCompaction,
} from "./compact.ts";
import {
  type FileEntry,
  INDEX_FILE,
  type MetadataEntry,
  pairsKey,
  type SeriesEntry,
  writeIndex,
} from "./index_file.ts";
import { type DedupeCounts, dedupeRuns } from "./dedupe.ts";
import { type AnalyzeOptions, analyzeStore, type StoreAnalysis, storeStats } from "./inspect.ts";
import { SegmentPacker } from "./packing.ts";
import { PendingRanges } from "./pending_ranges.ts";
import { SegmentReader } from "./reads.ts";
import { type SideCounts, type SideSeriesInfo, SideStore } from "./side.ts";
import type { SideData } from "./side_record.ts";
import type { Exemplar, NativeHistogram } from "../model/histogram.ts";
import {
  checkIndexPresent,
  checkReadableStore,
  exists,
  removeOrphans,
  removeStaleTemps,
} from "./recovery.ts";
import { repairIndex, type RepairReport } from "./repair.ts";
import type { SampleBlock } from "./segment.ts";
import {
  addCompactResult,
  type CommitResult,
  type CompactResult,
  emptyCompactResult,
  SEGMENTS_DIR,
  type SeriesInfo,
  type StoreOptions,
  type StoreStats,
} from "./types.ts";
import { LITTLE_ENDIAN } from "./value_map.ts";
import { WriterLock } from "./writer_lock.ts";

export type { SampleBlock } from "./segment.ts";
export type {
  FileEntry,
  MetadataEntry,
  RangeEntry,
  SeriesEntry,
  StoreIndex,
} from "./index_file.ts";
export { pairsKey, seriesId } from "./index_file.ts";
export type { LabelPairs };
export * from "./types.ts";
export type { AnalyzeOptions, StoreAnalysis } from "./inspect.ts";
export type { DroppedRange, RepairReport } from "./repair.ts";
export type { SideSeriesInfo } from "./side.ts";
export type { SideData, StartRun } from "./side_record.ts";
export { startAt } from "./side_record.ts";

/**
 * The committed series of two ranges or more among `ids` (those a commit added ranges to), each
 * once: only they can have ranges to merge. Seen ones are marked in a bitmap by ordinal (a set
 * of a million series was 40 MB at the end of a commit) unless there are few.
 */
function touchedSeries(committed: CommittedIndex, ids: readonly string[]): SeriesEntry[] {
  const series = committed.index.series;
  const out: SeriesEntry[] = [];
  const few = ids.length * 64 < series.length;
  const seenSet = few ? new Set<number>() : undefined;
  const seenBits = few ? undefined : new Uint8Array(series.length);
  for (const id of ids) {
    const ordinal = committed.ordinal(id);
    if (ordinal === undefined || ordinal >= series.length) continue;
    if (seenSet) {
      if (seenSet.has(ordinal)) continue;
      seenSet.add(ordinal);
    } else {
      if (seenBits![ordinal]) continue;
      seenBits![ordinal] = 1;
    }
    const s = series[ordinal];
    if (s.rangeCount >= 2) out.push(s);
  }
  return out;
}

/**
 * A store directory opened for reading and (unless `readOnly`) appending: a facade over the
 * committed index (`committed.ts`), the series buffers (`buffers.ts`), packing into files
 * (`packing.ts`), committed reads (`reads.ts`), compaction (`compact.ts`) and recovery at open
 * (`recovery.ts`).
 */
export class Store {
  /** The store directory. */
  readonly dir: string;
  #options: Required<Omit<StoreOptions, "level">> & { level?: number };
  #committed: CommittedIndex;
  #buffers: SeriesBuffers;
  #packer: SegmentPacker;
  #reader: SegmentReader;
  #pendingFiles: FileEntry[] = [];
  #pendingRanges = new PendingRanges();
  #pendingMetadata = new Map<string, MetadataEntry>();
  #dedupe: DedupeCounts = { duplicates: 0, conflicts: 0 };
  #side: SideStore;
  #sideCounts: SideCounts = { duplicateHistograms: 0, duplicateExemplars: 0 };

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
    this.#committed = new CommittedIndex(dir);
    this.#buffers = new SeriesBuffers(maxSegmentSamples);
    this.#packer = new SegmentPacker(this.#committed, {
      maxSegmentSamples,
      packBelowSamples: this.#options.packBelowSamples,
      blockSize: this.#options.blockSize,
      level: this.#options.level,
      verify: this.#options.verify,
    });
    this.#reader = new SegmentReader(this.#committed);
    this.#side = new SideStore(this.#committed);
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
      await removeStaleTemps(store.dir);
      await checkIndexPresent(store.dir);
      store.#packer.writer = await WriterLock.acquire(`${store.dir}/${SEGMENTS_DIR}`);
      // A new store gets an empty index at once: from then on, segments without an index mean
      // the index was lost, never "nothing committed yet".
      if (!(await exists(`${store.dir}/${INDEX_FILE}`))) {
        await store.#committed.locked(async (index) => {
          if (!(await exists(`${store.dir}/${INDEX_FILE}`))) await writeIndex(store.dir, index);
        });
      }
    } else {
      await checkReadableStore(store.dir);
      await checkIndexPresent(store.dir);
    }
    await store.refresh();
    if (!store.#options.readOnly) await removeOrphans(store.#committed, store.#packer.writer!.tag);
    return store;
  }

  /** Appended samples read back and compared so far (with `verify`); compaction not counted. */
  get verifiedSamples(): number {
    return this.#packer.verifiedSamples;
  }

  /** Samples compaction rewrote, read back and compared (with `verify`). */
  get verifiedCompactedSamples(): number {
    return this.#packer.verifiedCompactedSamples;
  }

  /** Appended samples not stored because the store already held them (same timestamp and bits). */
  get duplicateSamples(): number {
    return this.#dedupe.duplicates;
  }

  /** Appended samples stored although their timestamp was stored with other value bits. */
  get conflictingSamples(): number {
    return this.#dedupe.conflicts;
  }

  /**
   * Writes a checkpoint of the index when its journal holds commits, then releases this
   * writer's lock (uncommitted appends are dropped; their files become orphans
   * that the next writer deletes). Reading still works afterwards.
   */
  async close(): Promise<void> {
    const w = this.#packer.writer;
    this.#packer.writer = undefined;
    try {
      // A writer leaves a whole checkpoint behind (`zcat index.json.gz | jq` shows everything).
      if (w) await this.checkpoint();
    } finally {
      if (w) await w.release();
    }
  }

  /**
   * Folds the index's journal (`index.log`) into a new checkpoint (`index.json.gz`) when it
   * holds commits; a writer does this when it closes, and by itself once the journal outgrows
   * the checkpoint.
   */
  async checkpoint(): Promise<void> {
    this.#writable();
    await this.#committed.checkpointJournal();
  }

  /** Re-reads the index when another process (or this one) replaced it. Returns whether it changed. */
  refresh(): Promise<boolean> {
    return this.#committed.refresh();
  }

  #writable(): void {
    if (this.#options.readOnly) throw new Error("store opened read-only");
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
    this.#writable();
    this.#buffers.appendSample(labels, timestampMs, value, nanBits, key);
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
    this.#writable();
    this.#buffers.append(labels, timestampsMs, values);
    await this.flushDue();
  }

  /**
   * Adds the samples of one series (values bit-exact, NaN payloads kept) as a range of their
   * own at the next commit, without a per-series buffer, and writes files that are due. For
   * writers that bring each series once per commit (a remote-write request): a request of a
   * million series made a million buffers, then cut them all. Samples buffered for the series
   * by {@linkcode append} keep it buffered. Not durable until {@linkcode commit}.
   */
  async appendRun(
    labels: LabelPairs,
    timestampsMs: ArrayLike<number>,
    values: Float64Array,
  ): Promise<void> {
    this.#writable();
    this.#buffers.appendRun(labels, timestampsMs, values);
    await this.flushDue();
  }

  /**
   * Buffers native histograms of a series (any order; kept bit for bit in a side file at the
   * next {@linkcode commit}, see `side_record.ts`).
   */
  appendHistograms(labels: LabelPairs, histograms: readonly NativeHistogram[]): void {
    this.#writable();
    this.#side.addHistograms(labels, histograms);
  }

  /** Buffers exemplars of a series (kept in a side file at the next {@linkcode commit}). */
  appendExemplars(labels: LabelPairs, exemplars: readonly Exemplar[]): void {
    this.#writable();
    this.#side.addExemplars(labels, exemplars);
  }

  /**
   * Buffers the start (created) timestamps of float samples of a series, parallel to their
   * timestamps (0: none); kept as runs in a side file at the next {@linkcode commit}.
   */
  appendStarts(
    labels: LabelPairs,
    timestampsMs: ArrayLike<number>,
    startsMs: ArrayLike<number>,
  ): void {
    this.#writable();
    this.#side.addStarts(labels, timestampsMs, startsMs);
  }

  /** Native histograms and exemplars not stored again because the store held them. */
  get duplicateSideRecords(): SideCounts {
    return { ...this.#sideCounts };
  }

  /**
   * The committed histograms, exemplars and start-timestamp runs of a series in
   * [startMs, endMs] (see {@linkcode SideStore.read}).
   */
  readSide(
    id: string,
    startMs = -Infinity,
    endMs = Infinity,
    maxHistograms = Infinity,
  ): Promise<SideData> {
    return this.#side.read(id, startMs, endMs, maxHistograms);
  }

  /** The committed series that have histograms, exemplars or start timestamps. */
  sideSeries(predicate?: (labels: LabelPairs) => boolean): SideSeriesInfo[] {
    return this.#side.series(predicate);
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
    return this.#committed.index.metadata.find((m) => m.name === name);
  }

  /** All committed metadata records. */
  allMetadata(): MetadataEntry[] {
    return [...this.#committed.index.metadata];
  }

  /** Samples buffered and not yet written to files. */
  get bufferedSamples(): number {
    return this.#buffers.samples;
  }

  /** Bytes held by series buffers and cut ranges (the quantity bounded by `memoryBudgetBytes`). */
  get bufferedBytes(): number {
    return this.#buffers.bytes;
  }

  /** Writes files for buffers that reached `maxSegmentSamples`, and for the largest ones while over the memory budget. */
  async flushDue(): Promise<void> {
    const budget = this.#options.memoryBudgetBytes;
    this.#buffers.cutFull();
    if (this.#buffers.runSamples >= this.#options.maxSegmentSamples) await this.#writeRuns();
    if (this.#buffers.bytes <= budget) return;
    await this.#buffers.cutLargest(budget / 2, () => this.#writeRuns());
    await this.#writeRuns();
    // Idle series keep their small buffers; drop empty ones to bound the map too.
    if (this.#buffers.bytes > budget / 2) this.#buffers.dropEmpty();
  }

  /** Writes every waiting run into files: long ones alone, short ones packed by series key. */
  async #writeRuns(): Promise<void> {
    const taken = this.#buffers.takeRuns();
    const samples = taken.samples;
    if (!taken.runs.length) return;
    // Samples the store already holds are not stored again (see `dedupe.ts`).
    const runs = await dedupeRuns(taken.runs, this.#committed, this.#reader, this.#dedupe);
    for (const group of this.#packer.groupRuns(runs)) {
      const { file, ranges } = await this.#packer.writeFile(group.map((r) => r.block));
      this.#pendingFiles.push(file);
      group.forEach((r, i) => {
        // A series the index holds keeps the index's id and labels (a scrape of a million
        // known series held a million new copies of both until the commit).
        const s = this.#committed.seriesById(r.id);
        const known = s && compareLabelPairs(s.labels, r.labels) === 0 ? s : r;
        this.#pendingRanges.add(known.id, known.labels, ranges[i]);
      });
    }
    this.#buffers.release(samples);
  }

  /**
   * Makes everything appended so far durable: packs every buffer into files, fsyncs them and
   * the segments directory, then replaces the index atomically (under a lock, merged with what
   * other processes committed meanwhile). Returns only when all of it is on disk. Then, with
   * `autoCompact`, merges small ranges when enough piled up (bounded by `compactMaxSamples`).
   */
  async commit(): Promise<CommitResult> {
    this.#writable();
    await this.#buffers.cutAll();
    await this.#writeRuns();
    const files = this.#pendingFiles;
    const pending = this.#pendingRanges;
    const metadata = this.#pendingMetadata;
    let side;
    try {
      side = await this.#side.write(this.#packer.writer!, this.#sideCounts);
    } catch (err) {
      this.#side.discard();
      throw err;
    }
    if (files.length === 0 && metadata.size === 0 && !side) {
      return {
        segments: 0,
        ranges: 0,
        samples: 0,
        bytes: 0,
        generation: this.#committed.index.generation,
      };
    }
    await this.#packer.syncNewFiles();
    const samples = pending.samples;
    let bytes = 0;
    for (const f of files) bytes += f.bytes;
    for (let i = 0; i < pending.length; i++) {
      const id = pending.seriesIds[i];
      const s = this.#committed.seriesById(id);
      if (
        s && s.labels !== pending.labels[i] && pairsKey(s.labels) !== pairsKey(pending.labels[i])
      ) {
        throw new Error(`series id collision for ${id}: ${JSON.stringify(pending.labels[i])}`);
      }
    }
    const generation = await this.#committed.append({
      files,
      ranges: pending,
      metadata: [...metadata.values()],
      sides: side ? [side] : [],
    });
    this.#pendingFiles = [];
    this.#pendingRanges = new PendingRanges();
    this.#pendingMetadata = new Map();
    const result: CommitResult = {
      segments: files.length,
      ranges: pending.length,
      samples,
      bytes: bytes + (side?.bytes ?? 0),
      generation,
      histograms: side?.histograms ?? 0,
      exemplars: side?.exemplars ?? 0,
    };
    if (this.#options.autoCompact && side) {
      try {
        await this.#side.compact(this.#packer.writer!);
      } catch (err) {
        console.error(
          `wattwave store: merging side files failed (the commit succeeded): ${
            (err as Error).message
          }`,
        );
      }
    }
    if (this.#options.autoCompact && files.length) {
      // The commit is published: a failed compaction must not make it look failed.
      try {
        const target = this.#options.compactTargetSamples;
        const touched = touchedSeries(this.#committed, pending.seriesIds);
        const due = compactionDue(compactionDebt(touched, target), {
          minDebt: this.#options.compactMinDebt,
        });
        if (due) {
          const maxSamples = this.#options.compactMaxSamples;
          const plan = planCompaction(this.#committed.index, target, false, touched, maxSamples);
          result.compaction = await runCompaction(
            this.#compactionContext(),
            plan.items,
            maxSamples,
          );
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

  #compactionContext(): CompactionContext {
    return {
      committed: this.#committed,
      reader: this.#reader,
      packer: this.#packer,
      maxSegmentSamples: this.#options.maxSegmentSamples,
    };
  }

  /**
   * Merges small ranges (see `compact.ts`) of the committed index, crash-safely: new files are
   * written and fsynced, the index is replaced atomically, and only then the old files are
   * deleted. With `full` (default true) it merges every series' trailing ranges smaller than
   * `compactTargetSamples`, however many passes of `maxSamples` samples that takes; otherwise
   * one pass under the automatic (binary counter) rule. Uncommitted appends are untouched.
   */
  async compact(options: { full?: boolean; maxSamples?: number } = {}): Promise<CompactResult> {
    this.#writable();
    const total = emptyCompactResult();
    for (let pass = 0; pass < 1000; pass++) {
      await this.#committed.refresh();
      const full = options.full ?? true;
      const maxSamples = options.maxSamples ?? this.#options.compactMaxSamples;
      const plan = planCompaction(
        this.#committed.index,
        this.#options.compactTargetSamples,
        full,
        this.#committed.index.series,
        maxSamples,
      );
      if (!plan.items.length) break;
      const r = await runCompaction(this.#compactionContext(), plan.items, maxSamples);
      addCompactResult(total, r);
      // Stop when a pass made no progress (nothing merged, or nothing got fewer ranges).
      if (!full || r.rangesIn === 0 || r.rangesOut >= r.rangesIn) break;
    }
    // Small side files (histograms, exemplars) merge too, whenever two or more are small.
    for (let pass = 0; pass < 1000; pass++) {
      if ((await this.#side.compact(this.#packer.writer!, 2)) === 0) break;
    }
    return total;
  }

  /** The committed series (as of the last {@linkcode refresh} or commit), optionally filtered. */
  series(predicate?: (labels: LabelPairs) => boolean): SeriesInfo[] {
    const out: SeriesInfo[] = [];
    for (const s of this.#committed.index.series) {
      if (predicate && !predicate(s.labels)) continue;
      const { count, minTs, maxTs } = s.totals();
      out.push({ id: s.id, labels: s.labels, count, minTs, maxTs, segments: s.rangeCount });
    }
    return out;
  }

  /** Totals of the committed store. */
  stats(): StoreStats {
    return storeStats(this.#committed);
  }

  /**
   * Reads the committed samples of a series with timestamps in [startMs, endMs] (inclusive),
   * in timestamp order (ties: the order they were appended), in blocks. Only ranges whose time
   * span meets the query are read, and within them only the covering FLAC frames decoded.
   * Overlapping ranges (late or out-of-order appends) are merged. When a compaction removed a
   * file since the last refresh, the index is re-read and the read starts over.
   */
  read(id: string, startMs = -Infinity, endMs = Infinity): AsyncGenerator<SampleBlock> {
    return this.#reader.read(id, startMs, endMs);
  }

  /**
   * Reads every committed range back and takes the unreadable ones out of the index, moving
   * files nothing refers to any more to `DIR/damaged/` (see `repair.ts`).
   */
  repair(): Promise<RepairReport> {
    this.#writable();
    return repairIndex(this.#committed, this.#reader);
  }

  /** What the committed store holds, from the index alone (see `inspect.ts`). */
  analyze(options: AnalyzeOptions = {}): StoreAnalysis {
    return analyzeStore(this.#committed, options);
  }

  /** The metric names (`__name__`) of the committed series. */
  metricNames(): Set<string> {
    const names = new Set<string>();
    for (const s of this.#committed.index.series) {
      for (const [k, v] of s.labels) if (k === "__name__") names.add(v);
    }
    return names;
  }

  /** Path of a segment file of this store. */
  segmentPath(file: string): string {
    return this.#committed.segmentPath(file);
  }
}
