/**
 * Ranges written to files and not yet in the index: what the next commit adds, as rows of a
 * {@linkcode RangeTable} beside their series' ids and labels. A request of a million series
 * left a million range objects and a million `{ seriesId, labels, range }` objects waiting for
 * the commit (130 bytes a range, the labels and id aside); a row is 38 bytes.
 *
 * @module
 */
import type { LabelPairs } from "../model/labels.ts";
import type { RangeEntry } from "./index_file.ts";
import { RangeTable } from "./range_table.ts";

/** The ranges of the next commit (see the module doc); range `i` is row `i` of `table`. */
export class PendingRanges {
  /** The ranges, one row each, in the order they were added. */
  readonly table: RangeTable = new RangeTable();
  /** Series id of each range. */
  readonly seriesIds: string[] = [];
  /** Labels of each range's series (sorted by name, with `__name__`). */
  readonly labels: LabelPairs[] = [];
  #samples = 0;

  /** Ranges added. */
  get length(): number {
    return this.seriesIds.length;
  }

  /** Samples of all the ranges. */
  get samples(): number {
    return this.#samples;
  }

  /** Adds a range of series `seriesId`. */
  add(seriesId: string, labels: LabelPairs, range: RangeEntry): void {
    this.table.add(range);
    this.seriesIds.push(seriesId);
    this.labels.push(labels);
    this.#samples += range.count;
  }
}
