/**
 * Compaction planning: which ranges of which series to merge.
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
import type { RangeEntry, StoreIndex } from "./index_file.ts";
import { MAX_GAP_MS } from "./timestamps.ts";

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

/** What {@linkcode planCompaction} found. */
export interface CompactionPlan {
  /** Mergeable runs, in index order. */
  items: CompactionItem[];
  /** Ranges compaction would remove: the sum over items of (ranges − 1). */
  debt: number;
}

/**
 * Finds every series' mergeable run of small ranges (see the module doc). With `greedy`, the
 * run is every trailing range smaller than `targetSamples` (no size-ratio rule): what an
 * explicit, full compaction merges.
 */
export function planCompaction(
  index: StoreIndex,
  targetSamples: number,
  greedy = false,
): CompactionPlan {
  const items: CompactionItem[] = [];
  let debt = 0;
  for (const s of index.series) {
    const r = s.ranges;
    let sum = 0;
    let from = r.length;
    // Time hull of the run so far: every range added touches it (within MAX_GAP_MS), so the
    // merged samples have no gap over MAX_GAP_MS and merge into one range.
    let hullMin = Infinity;
    let hullMax = -Infinity;
    for (let i = r.length - 1; i >= 0; i--) {
      const c = r[i].count;
      if (c >= targetSamples || (!greedy && sum > 0 && c > sum)) break;
      if (sum > 0 && (r[i].maxTs + MAX_GAP_MS < hullMin || r[i].minTs - MAX_GAP_MS > hullMax)) {
        break;
      }
      if (r[i].minTs < hullMin) hullMin = r[i].minTs;
      if (r[i].maxTs > hullMax) hullMax = r[i].maxTs;
      sum += c;
      from = i;
    }
    if (r.length - from >= 2) {
      items.push({ seriesId: s.id, from, ranges: r.slice(from), samples: sum });
      debt += r.length - from - 1;
    }
  }
  return { items, debt };
}

/** Options of {@linkcode compactionDue}. */
export interface CompactionDueOptions {
  /** Least debt (ranges to remove) worth a compaction. Default 64. */
  minDebt?: number;
  /** Least average run length (ranges merged into one). Default 8. */
  minRunLength?: number;
}

/** Whether a plan has enough small-range debt to run now (at commit). */
export function compactionDue(plan: CompactionPlan, options: CompactionDueOptions = {}): boolean {
  const minDebt = options.minDebt ?? 64;
  const minRun = options.minRunLength ?? 8;
  if (plan.items.length === 0 || plan.debt < minDebt) return false;
  return plan.debt >= (minRun - 1) * plan.items.length;
}
