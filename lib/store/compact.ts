/**
 * Compaction: which ranges of which series to merge (the plan), and merging them (the run).
 *
 * Each commit adds one range per series it touched (a few samples each under steady remote
 * write). Compaction merges, per series, a run of consecutive small ranges at the end of its
 * range list into one range, chosen like a binary counter so that every sample is rewritten
 * about log2(target / commit size) times: walking back from the newest range, a range joins the
 * run while it is smaller than `targetSamples` and not larger than the ranges already in the run
 * together. Ranges of `targetSamples` or more are never rewritten. A range joins only when its
 * time span is within `MAX_GAP_MS` of the run's (overlapping or close): merging ranges a larger
 * gap separates would only split them apart again, so such a run would never shrink.
 *
 * @module
 */
import { mergeBlocks, splitAtGaps } from "./blocks.ts";
import type { CommittedIndex } from "./committed.ts";
import {
  type FileEntry,
  pairsKey,
  type RangeEntry,
  type SeriesEntry,
  type StoreIndex,
} from "./index_file.ts";
import type { SegmentPacker } from "./packing.ts";
import type { SegmentReader } from "./reads.ts";
import type { SampleBlock } from "./segment.ts";
import { MAX_GAP_MS } from "./timestamps.ts";
import { type CompactResult, emptyCompactResult } from "./types.ts";

/** The ranges of one series to merge: `ranges` are `series.ranges[from, from + ranges.length)`. */
export interface CompactionItem {
  /** Series id. */
  seriesId: string;
  /** Position of the first merged range in the series' range list. */
  from: number;
  /** The ranges to merge, in commit order (at least two). */
  ranges: RangeEntry[];
  /** Their samples together. */
  samples: number;
}

/** How much merging a set of series needs (see {@linkcode compactionDebt}). */
export interface CompactionDebt {
  /** Mergeable runs (one per series at most). */
  runs: number;
  /** Ranges compaction would remove: the sum over runs of (ranges − 1). */
  debt: number;
}

/** What {@linkcode planCompaction} found. */
export interface CompactionPlan extends CompactionDebt {
  /** Mergeable runs, in index order. */
  items: CompactionItem[];
}

/**
 * The mergeable run at the end of a series' ranges (see the module doc): its first range and
 * samples; `from` is the range count when there is none of two ranges or more.
 */
function mergeableRun(
  s: SeriesEntry,
  targetSamples: number,
  greedy: boolean,
): { from: number; samples: number } {
  const n = s.rangeCount;
  let sum = 0;
  let from = n;
  // Time hull of the run so far: every range added touches it (within MAX_GAP_MS), so the
  // merged samples have no gap over MAX_GAP_MS and merge into one range.
  let hullMin = Infinity;
  let hullMax = -Infinity;
  for (let i = n - 1; i >= 0; i--) {
    const c = s.rangeSamples(i);
    if (c >= targetSamples || (!greedy && sum > 0 && c > sum)) break;
    const lo = s.rangeMinTs(i);
    const hi = s.rangeMaxTs(i);
    if (sum > 0 && (hi + MAX_GAP_MS < hullMin || lo - MAX_GAP_MS > hullMax)) break;
    if (lo < hullMin) hullMin = lo;
    if (hi > hullMax) hullMax = hi;
    sum += c;
    from = i;
  }
  return n - from >= 2 ? { from, samples: sum } : { from: n, samples: 0 };
}

/**
 * The debt of {@linkcode planCompaction}'s plan, without the plan: no object per run (a commit
 * of a million series that each got a second range decides in milliseconds that nothing is due).
 */
export function compactionDebt(
  series: Iterable<SeriesEntry>,
  targetSamples: number,
  greedy = false,
): CompactionDebt {
  let runs = 0;
  let debt = 0;
  for (const s of series) {
    const n = s.rangeCount;
    if (n < 2) continue;
    const { from } = mergeableRun(s, targetSamples, greedy);
    if (n - from >= 2) {
      runs++;
      debt += n - from - 1;
    }
  }
  return { runs, debt };
}

/**
 * Finds every series' mergeable run of small ranges (see the module doc). With `greedy`, the
 * run is every trailing range smaller than `targetSamples` (no size-ratio rule): what an
 * explicit, full compaction merges. `series` limits the search (a commit looks only at the
 * series it touched, so that its cost does not grow with the store); default all of them.
 * `maxSamples` ends the plan where {@linkcode runCompaction} would stop (whole runs, at least
 * one, at most {@linkcode MAX_RUNS_PER_COMPACTION}): the ranges of runs beyond it are not made.
 * Default no end.
 */
export function planCompaction(
  index: StoreIndex,
  targetSamples: number,
  greedy = false,
  series: Iterable<SeriesEntry> = index.series,
  maxSamples = Infinity,
): CompactionPlan {
  const items: CompactionItem[] = [];
  let debt = 0;
  let planned = 0;
  for (const s of series) {
    const n = s.rangeCount;
    if (n < 2) continue;
    const { from, samples } = mergeableRun(s, targetSamples, greedy);
    if (n - from >= 2) {
      if (items.length && planned + samples > maxSamples) break;
      if (maxSamples !== Infinity && items.length >= MAX_RUNS_PER_COMPACTION) break;
      planned += samples;
      items.push({ seriesId: s.id, from, ranges: s.ranges(from), samples });
      debt += n - from - 1;
    }
  }
  return { items, runs: items.length, debt };
}

/** Options of {@linkcode compactionDue}. */
export interface CompactionDueOptions {
  /** Least debt (ranges to remove) worth a compaction. Default 64. */
  minDebt?: number;
  /** Least average run length (ranges merged into one). Default 8. */
  minRunLength?: number;
}

/** Whether a plan (or its debt) has enough small-range debt to run now (at commit). */
export function compactionDue(plan: CompactionDebt, options: CompactionDueOptions = {}): boolean {
  const minDebt = options.minDebt ?? 64;
  const minRun = options.minRunLength ?? 8;
  if (plan.runs === 0 || plan.debt < minDebt) return false;
  return plan.debt >= (minRun - 1) * plan.runs;
}

/**
 * Most runs one compaction merges, whatever their samples: each holds its ranges, blocks and
 * replacement until the compaction's journal record is written (a million samples in runs of two
 * one-sample ranges were 500,000 runs, and the compaction peaked at 3.2 GB).
 */
export const MAX_RUNS_PER_COMPACTION = 65536;

/** Most segment files a compaction holds open at once. */
const MAX_OPEN_FILES = 64;

/** Consecutive runs of `items` whose ranges name at most `maxFiles` files together (at least one run each). */
function* batchesByFiles(
  items: CompactionItem[],
  maxFiles: number,
): Generator<CompactionItem[]> {
  let batch: CompactionItem[] = [];
  let files = new Set<string>();
  for (const it of items) {
    const added = new Set<string>();
    for (const r of it.ranges) if (!files.has(r.file)) added.add(r.file);
    if (batch.length && files.size + added.size > maxFiles) {
      yield batch;
      batch = [];
      files = new Set();
      for (const r of it.ranges) files.add(r.file);
    } else for (const f of added) files.add(f);
    batch.push(it);
  }
  if (batch.length) yield batch;
}

/** What {@linkcode runCompaction} works with: the writer's pieces. */
export interface CompactionContext {
  /** The committed index (read, and changed under its lock). */
  committed: CommittedIndex;
  /** Reads the ranges to merge. */
  reader: SegmentReader;
  /** Writes the merged ranges. */
  packer: SegmentPacker;
  /** Merged samples written per batch of files. */
  maxSegmentSamples: number;
}

/**
 * Merges the ranges of `items` (whole items, up to `maxSamples` samples and
 * {@linkcode MAX_RUNS_PER_COMPACTION} items, at least one)
 * crash-safely: new files are written and fsynced, the index is replaced atomically, and only
 * then the old files are deleted. A run that changed meanwhile (another writer compacted it) is
 * left alone.
 */
export async function runCompaction(
  ctx: CompactionContext,
  items: CompactionItem[],
  maxSamples: number,
): Promise<CompactResult> {
  const result = emptyCompactResult();
  // Bounded work: whole items until maxSamples (at least one).
  const chosen: CompactionItem[] = [];
  let planned = 0;
  for (const it of items) {
    if (chosen.length && planned + it.samples > maxSamples) break;
    if (chosen.length >= MAX_RUNS_PER_COMPACTION) break;
    chosen.push(it);
    planned += it.samples;
  }
  const newFiles: FileEntry[] = [];
  const merged = new Map<CompactionItem, RangeEntry[]>();
  // The key of a chosen run's series (not of every series: the store may hold a million).
  const keyOf = (id: string): string => {
    const s = ctx.committed.seriesById(id);
    return s ? pairsKey(s.labels) : "";
  };
  type Job = { key: string; block: SampleBlock; samples: number; item: CompactionItem };
  let jobs: Job[] = [];
  let jobSamples = 0;
  const flush = async () => {
    for (const group of ctx.packer.groupRuns(jobs)) {
      const { file, ranges } = await ctx.packer.writeFile(group.map((j) => j.block), true);
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
  // The files of a batch of runs are opened once for all of them (a run of 8 one-sample ranges
  // opened and closed 8 files: 800k opens for 100k series, 90 % of a 20 s compaction), at most
  // MAX_OPEN_FILES at a time.
  for (const batch of batchesByFiles(chosen, MAX_OPEN_FILES)) {
    const { open, missing } = ctx.reader.openFiles(
      batch.flatMap((it) => it.ranges.map((r) => r.file)),
    );
    try {
      for (const it of batch) {
        // Another writer compacted this run meanwhile and deleted its files: skip it (the
        // index check below would drop it anyway).
        if (it.ranges.some((r) => missing.has(r.file))) continue;
        const blocks = it.ranges.map((r) => ctx.reader.readRange(open, r, -Infinity, Infinity));
        const block = mergeBlocks(blocks, blocks.map((_, i) => i));
        for (const part of splitAtGaps(block)) {
          jobs.push({
            key: keyOf(it.seriesId),
            block: part,
            samples: part.timestampsMs.length,
            item: it,
          });
        }
        jobSamples += block.timestampsMs.length;
        if (jobSamples >= ctx.maxSegmentSamples) await flush();
      }
    } finally {
      ctx.reader.closeFiles(open);
    }
  }
  await flush();
  if (!newFiles.length) return result;
  await ctx.packer.syncNewFiles();
  // One journal record replaces the runs still there unchanged (another writer may have merged
  // them) and retires the files no range names any more: the cost of what changed, not of a
  // checkpoint of the whole index (3 s for a million series).
  let retiredAny = false;
  await ctx.committed.appendComputed((index) => {
    const replace: [number, number, number, RangeEntry[]][] = [];
    const removed = new Map<string, number>(); // ranges taken out of each file
    const added = new Set<string>(); // new files that a replacement names
    const seen = new Set<number>();
    for (const it of chosen) {
      const ordinal = ctx.committed.ordinal(it.seriesId);
      const s = ordinal === undefined ? undefined : index.series[ordinal];
      const replacement = merged.get(it);
      if (!s || s.id !== it.seriesId || !replacement || seen.has(ordinal!)) continue;
      // The run must still be there, unchanged (another compaction may have merged it).
      const at = findRun(s, it.ranges);
      if (at < 0) continue;
      seen.add(ordinal!);
      replace.push([ordinal!, at, it.ranges.length, replacement]);
      for (const r of it.ranges) removed.set(r.file, (removed.get(r.file) ?? 0) + 1);
      for (const r of replacement) added.add(r.file);
      result.series++;
      result.rangesIn += it.ranges.length;
      result.rangesOut += replacement.length;
      result.samples += it.samples;
    }
    const retire: string[] = [];
    for (const [file, n] of removed) {
      if (ctx.committed.rangesInFile(file) - n <= 0) {
        retire.push(file);
        result.filesDeleted++;
      }
    }
    // Every new file is added; those no replacement names (written for runs that changed
    // meanwhile) are retired in the same record.
    for (const f of newFiles) {
      if (added.has(f.file)) result.filesWritten++;
      else retire.push(f.file);
    }
    retiredAny = retire.length > 0;
    return { files: newFiles, metadata: [], replace, retire };
  });
  // The index no longer names them: delete them, then drop them from the index (a crash
  // in between leaves them listed as retired, deleted by the next writer).
  if (retiredAny) await ctx.committed.clearRetired();
  return result;
}

/** Position of `run` (same files and offsets, contiguous) in the ranges of `s`, or -1. */
function findRun(s: SeriesEntry, run: RangeEntry[]): number {
  outer: for (let i = 0; i + run.length <= s.rangeCount; i++) {
    for (let j = 0; j < run.length; j++) {
      const a = s.range(i + j);
      const b = run[j];
      if (a.file !== b.file || a.at !== b.at || a.count !== b.count) continue outer;
    }
    return i;
  }
  return -1;
}
