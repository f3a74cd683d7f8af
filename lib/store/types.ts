/**
 * The store's public types: options, what it lists and what its operations report, and the
 * names of its files.
 *
 * @module
 */
import type { LabelPairs } from "../model/labels.ts";

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
  /** Native histogram samples made durable (in a side file). */
  histograms?: number;
  /** Exemplars made durable. */
  exemplars?: number;
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
  /** Side files (native histograms, exemplars, start timestamps). */
  sideFiles: number;
  /** Bytes of side files. */
  sideBytes: number;
  /** Native histogram samples in side files. */
  histograms: number;
  /** Exemplars in side files. */
  exemplars: number;
}
