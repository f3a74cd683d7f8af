/**
 * The store's side data (native histograms, exemplars, start timestamps; see `side_record.ts`):
 * buffered per series until a commit writes them as one side file, de-duplicated against what
 * the store holds, and read back per series through a cache of decoded files bounded by their
 * records ({@linkcode CACHE_RECORDS}).
 *
 * @module
 */
import type { Exemplar, NativeHistogram } from "../model/histogram.ts";
import type { LabelPairs } from "../model/labels.ts";
import { syncDir } from "./atomic_file.ts";
import { type CommittedIndex, isNotFound } from "./committed.ts";
import { pairsKey, seriesId, type SideFileEntry } from "./index_file.ts";
import { readSideFile, SIDE_SUFFIX, writeSideFile } from "./side_file.ts";
import {
  emptySideData,
  encodeSideRecord,
  exemplarKey,
  histogramKey,
  type SideData,
  startRuns,
} from "./side_record.ts";
import { SEGMENTS_DIR } from "./types.ts";
import type { WriterLock } from "./writer_lock.ts";

/** Rough bytes one buffered histogram costs (objects, arrays): for the memory budget. */
const HISTOGRAM_BYTES = 400;
/** Rough bytes of one buffered exemplar or start run. */
const SMALL_BYTES = 120;
/** Decoded side files kept for reads: at most this many records (≈ 400 bytes each decoded). */
const CACHE_RECORDS = 400_000;
/** Side files smaller than this are merged by {@linkcode SideStore.compact}. */
const SMALL_SIDE_BYTES = 1 << 20;
/** Small side files that trigger a merge. */
const COMPACT_MIN_FILES = 16;
/** Most histograms and exemplars one merge reads (bounds its memory). */
const COMPACT_MAX_RECORDS = 200_000;

interface Pending {
  labels: LabelPairs;
  data: SideData;
}

/** What {@linkcode SideStore.write} committed counts and skipped as already stored. */
export interface SideCounts {
  /** Histograms not stored again: the store holds them (same timestamp and fields). */
  duplicateHistograms: number;
  /** Exemplars not stored again. */
  duplicateExemplars: number;
}

/** A committed series' side data summary (see {@linkcode SideStore.series}). */
export interface SideSeriesInfo {
  /** Series id. */
  id: string;
  /** Label pairs. */
  labels: LabelPairs;
  /** Smallest timestamp of its side files. */
  minTs: number;
  /** Largest timestamp of its side files. */
  maxTs: number;
}

/** Buffers side data, writes side files at commit, reads committed side data back. */
export class SideStore {
  #committed: CommittedIndex;
  #pending = new Map<string, Pending>();
  #bytes = 0;
  #cache = new Map<string, { records: number; data: Promise<Map<string, SideData>> }>();
  #cachedRecords = 0;

  /** Side data of the store whose committed index is `committed`. */
  constructor(committed: CommittedIndex) {
    this.#committed = committed;
  }

  /** Bytes (roughly) buffered. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether nothing is buffered. */
  get empty(): boolean {
    return this.#pending.size === 0;
  }

  #entry(labels: LabelPairs): SideData {
    const key = pairsKey(labels);
    let p = this.#pending.get(key);
    if (!p) {
      p = { labels, data: emptySideData() };
      this.#pending.set(key, p);
    }
    return p.data;
  }

  /** Buffers native histograms of a series. */
  addHistograms(labels: LabelPairs, histograms: readonly NativeHistogram[]): void {
    if (!histograms.length) return;
    const d = this.#entry(labels);
    for (const h of histograms) d.histograms.push(h);
    this.#bytes += histograms.length * HISTOGRAM_BYTES;
  }

  /** Buffers exemplars of a series. */
  addExemplars(labels: LabelPairs, exemplars: readonly Exemplar[]): void {
    if (!exemplars.length) return;
    const d = this.#entry(labels);
    for (const e of exemplars) d.exemplars.push(e);
    this.#bytes += exemplars.length * SMALL_BYTES;
  }

  /** Buffers the start timestamps of float samples of a series (0: none). */
  addStarts(
    labels: LabelPairs,
    timestampsMs: ArrayLike<number>,
    startsMs: ArrayLike<number>,
  ): void {
    const runs = startRuns(timestampsMs, startsMs);
    if (!runs.length) return;
    const d = this.#entry(labels);
    for (const r of runs) d.starts.push(r);
    this.#bytes += runs.length * SMALL_BYTES;
  }

  /**
   * Writes what is buffered as one side file (fsynced, with `segments/`) and returns its entry for
   * the commit's index record, or undefined when there was nothing new. What the store already
   * holds is left out and counted in `counts`.
   */
  async write(writer: WriterLock, counts: SideCounts): Promise<SideFileEntry | undefined> {
    if (!this.#pending.size) return undefined;
    const pending = [...this.#pending.values()];
    this.#pending = new Map();
    this.#bytes = 0;
    for (const p of pending) await this.#dedupe(p, counts);
    return await this.#writeFile(writer, pending);
  }

  /** Writes `series` as one new side file (fsynced, with `segments/`); undefined when empty. */
  async #writeFile(writer: WriterLock, series: Pending[]): Promise<SideFileEntry | undefined> {
    const lines: string[] = [];
    const entry: SideFileEntry = {
      file: writer.newSegmentName(SIDE_SUFFIX),
      bytes: 0,
      histograms: 0,
      exemplars: 0,
      starts: 0,
      minTs: Infinity,
      maxTs: -Infinity,
      series: [],
    };
    series.sort((a, b) => (pairsKey(a.labels) < pairsKey(b.labels) ? -1 : 1));
    for (const p of series) {
      const d = p.data;
      if (!d.histograms.length && !d.exemplars.length && !d.starts.length) continue;
      lines.push(encodeSideRecord(p.labels, d));
      entry.series.push(p.labels);
      entry.histograms += d.histograms.length;
      entry.exemplars += d.exemplars.length;
      entry.starts += d.starts.length;
      const times = [
        ...d.histograms.map((h) => h.timestampMs),
        ...d.exemplars.map((e) => e.timestampMs),
        ...d.starts.flatMap((r) => [r[0], r[1]]),
      ];
      for (const t of times) {
        if (t < entry.minTs) entry.minTs = t;
        if (t > entry.maxTs) entry.maxTs = t;
      }
    }
    if (!lines.length) return undefined;
    entry.bytes = await writeSideFile(this.#committed.segmentPath(entry.file), lines);
    await syncDir(`${this.#committed.dir}/${SEGMENTS_DIR}`);
    return entry;
  }

  /** Takes out of `p` what committed side files of its series already hold. */
  async #dedupe(p: Pending, counts: SideCounts): Promise<void> {
    const id = seriesId(pairsKey(p.labels));
    const files = this.#committed.sidesOf(id);
    if (!files.length) return;
    const d = p.data;
    let lo = Infinity;
    let hi = -Infinity;
    for (const h of d.histograms) {
      lo = Math.min(lo, h.timestampMs);
      hi = Math.max(hi, h.timestampMs);
    }
    for (const e of d.exemplars) {
      lo = Math.min(lo, e.timestampMs);
      hi = Math.max(hi, e.timestampMs);
    }
    for (const r of d.starts) {
      lo = Math.min(lo, r[0]);
      hi = Math.max(hi, r[1]);
    }
    const held = await this.read(id, lo, hi);
    if (!held.histograms.length && !held.exemplars.length && !held.starts.length) return;
    const hKeys = new Set(held.histograms.map(histogramKey));
    const eKeys = new Set(held.exemplars.map(exemplarKey));
    const sKeys = new Set(held.starts.map((r) => r.join(",")));
    const before = d.histograms.length;
    d.histograms = d.histograms.filter((h) => !hKeys.has(histogramKey(h)));
    counts.duplicateHistograms += before - d.histograms.length;
    const eBefore = d.exemplars.length;
    d.exemplars = d.exemplars.filter((e) => !eKeys.has(exemplarKey(e)));
    counts.duplicateExemplars += eBefore - d.exemplars.length;
    d.starts = d.starts.filter((r) => !sKeys.has(r.join(",")));
  }

  /**
   * Merges small side files (each commit under remote write adds one, holding one chunk per series)
   * into one, once `minFiles` (default {@linkcode COMPACT_MIN_FILES}) of them piled up, reading at most
   * {@linkcode COMPACT_MAX_RECORDS} records. Crash-safe like FLAC compaction: the new file is
   * written and fsynced, the index replaced under the LOCK (only if every merged file is still
   * listed), then the merged files are deleted. Returns how many files were merged.
   */
  async compact(writer: WriterLock, minFiles = COMPACT_MIN_FILES): Promise<number> {
    const chosen: SideFileEntry[] = [];
    let records = 0;
    for (const f of this.#committed.index.sides) {
      if (f.bytes >= SMALL_SIDE_BYTES) continue;
      if (records + f.histograms + f.exemplars > COMPACT_MAX_RECORDS && chosen.length) break;
      chosen.push(f);
      records += f.histograms + f.exemplars;
    }
    if (chosen.length < Math.max(2, minFiles)) return 0;
    const merged = new Map<string, Pending>();
    for (const f of chosen) {
      const rows = await readSideFile(this.#committed.segmentPath(f.file));
      for (const r of rows) {
        const key = pairsKey(r.labels);
        let p = merged.get(key);
        if (!p) {
          p = { labels: r.labels, data: emptySideData() };
          merged.set(key, p);
        }
        for (const h of r.data.histograms) p.data.histograms.push(h);
        for (const e of r.data.exemplars) p.data.exemplars.push(e);
        for (const x of r.data.starts) p.data.starts.push(x);
      }
    }
    const entry = await this.#writeFile(writer, [...merged.values()]);
    const names = new Set(chosen.map((f) => f.file));
    let done = false;
    await this.#committed.locked(async (index) => {
      const still = index.sides.filter((f) => names.has(f.file)).length === names.size;
      if (!still) {
        if (entry) index.retired = [entry.file]; // another writer merged them first
      } else {
        const at = index.sides.findIndex((f) => names.has(f.file));
        const kept = index.sides.filter((f) => !names.has(f.file));
        if (entry) kept.splice(at, 0, entry);
        index.sides = kept;
        index.retired = [...names];
        done = true;
      }
      await this.#committed.publish(index, { seriesKept: true });
    });
    // The index no longer names them: delete them and drop the list (a crash in between leaves
    // them listed as retired, deleted by the next writer).
    await this.#committed.clearRetired();
    for (const name of names) this.#uncache(name);
    return done ? chosen.length : 0;
  }

  /** Drops what is buffered (a failed commit's side data is not kept for the next one). */
  discard(): void {
    this.#pending = new Map();
    this.#bytes = 0;
  }

  #file(f: SideFileEntry): Promise<Map<string, SideData>> {
    const hit = this.#cache.get(f.file);
    if (hit) {
      this.#cache.delete(f.file); // most recently used last
      this.#cache.set(f.file, hit);
      return hit.data;
    }
    const data = readSideFile(this.#committed.segmentPath(f.file)).then((rows) => {
      const m = new Map<string, SideData>();
      for (const r of rows) m.set(seriesId(pairsKey(r.labels)), r.data);
      return m;
    });
    data.catch(() => this.#uncache(f.file));
    const records = f.histograms + f.exemplars + f.starts;
    this.#cache.set(f.file, { records, data });
    this.#cachedRecords += records;
    // Oldest out while over the budget (the file just read stays, however large).
    for (const [name] of this.#cache) {
      if (this.#cachedRecords <= CACHE_RECORDS || name === f.file) break;
      this.#uncache(name);
    }
    return data;
  }

  #uncache(name: string): void {
    const e = this.#cache.get(name);
    if (!e) return;
    this.#cache.delete(name);
    this.#cachedRecords -= e.records;
  }

  /**
   * The committed side data of a series with timestamps in [startMs, endMs]: histograms in
   * timestamp order (ties in commit order), exemplars in timestamp order, start runs meeting the
   * window. Throws `InputError` naming a damaged side file. Stops reading files once more than
   * `maxHistograms` histograms were found (a caller that refuses beyond a limit).
   */
  async read(
    id: string,
    startMs = -Infinity,
    endMs = Infinity,
    maxHistograms = Infinity,
  ): Promise<SideData> {
    // A merge by another writer may delete a file this reader still lists: re-read the index
    // and start over (as FLAC reads do).
    for (let attempt = 0;; attempt++) {
      try {
        return await this.#read(id, startMs, endMs, maxHistograms);
      } catch (err) {
        if (attempt >= 3 || !isNotFound(err) || !(await this.#committed.refresh())) throw err;
      }
    }
  }

  async #read(
    id: string,
    startMs: number,
    endMs: number,
    maxHistograms: number,
  ): Promise<SideData> {
    const out = emptySideData();
    for (const f of this.#committed.sidesOf(id)) {
      if (f.maxTs < startMs || f.minTs > endMs) continue;
      const d = (await this.#file(f)).get(id);
      if (!d) continue;
      for (const h of d.histograms) {
        if (h.timestampMs >= startMs && h.timestampMs <= endMs) out.histograms.push(h);
      }
      for (const e of d.exemplars) {
        if (e.timestampMs >= startMs && e.timestampMs <= endMs) out.exemplars.push(e);
      }
      for (const r of d.starts) if (r[1] >= startMs && r[0] <= endMs) out.starts.push(r);
      if (out.histograms.length > maxHistograms) break; // the caller refuses: read no more
    }
    out.histograms.sort((a, b) => a.timestampMs - b.timestampMs);
    out.exemplars.sort((a, b) => a.timestampMs - b.timestampMs);
    return out;
  }

  /** The committed series that have side data, optionally filtered by labels. */
  series(predicate?: (labels: LabelPairs) => boolean): SideSeriesInfo[] {
    const byId = new Map<string, SideSeriesInfo>();
    for (const f of this.#committed.index.sides) {
      for (const labels of f.series) {
        const id = seriesId(pairsKey(labels));
        let s = byId.get(id);
        if (!s) {
          if (predicate && !predicate(labels)) continue;
          s = { id, labels, minTs: f.minTs, maxTs: f.maxTs };
          byId.set(id, s);
        }
        s.minTs = Math.min(s.minTs, f.minTs);
        s.maxTs = Math.max(s.maxTs, f.maxTs);
      }
    }
    return [...byId.values()];
  }
}
