/**
 * `compress --repair`: reads every committed range (and side file) back, and takes out of the
 * index the ranges that cannot be read (a damaged FLAC frame, a truncated or missing segment
 * file; a side file that does not read is dropped whole), so that every
 * reader sees the rest of the store without errors. Files no range refers to any more are moved to
 * `DIR/damaged/` (never deleted: a person may still want them). It says what it dropped: which
 * series, how many samples, from which file.
 *
 * What cannot be rebuilt: the series labels live only in the index, so a store whose
 * `index.json.gz` is lost cannot be repaired from its segments (restore the index from a backup,
 * or move the segments away to start a new store). A journal record cut short by a crash is not
 * damage: its commit was never acknowledged, and the next writer cuts it off.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import type { CommittedIndex } from "./committed.ts";
import type { SegmentReader } from "./reads.ts";
import { readSideFile } from "./side_file.ts";
import { SEGMENTS_DIR } from "./types.ts";

/** Directory (inside the store) where repair moves files it took out of the index. */
export const DAMAGED_DIR = "damaged";

/** One series range repair took out of the index. */
export interface DroppedRange {
  /** The series' label pairs. */
  labels: [string, string][];
  /** The segment file. */
  file: string;
  /** Samples of the range (a side file: its histograms and exemplars, over all its series). */
  samples: number;
  /** Why it could not be read. */
  reason: string;
}

/** What {@linkcode repairIndex} found and did. */
export interface RepairReport {
  /** Ranges read back. */
  rangesChecked: number;
  /** Ranges taken out of the index. */
  dropped: DroppedRange[];
  /** Files moved to `DIR/damaged/` (no range refers to them any more). */
  movedFiles: string[];
}

/** Checks every committed range and drops the unreadable ones (see the module doc). */
export async function repairIndex(
  committed: CommittedIndex,
  reader: SegmentReader,
): Promise<RepairReport> {
  await committed.refresh();
  // Unreadable ranges, by file and position (the same under `locked`, which works on a copy).
  const bad = new Map<string, string>();
  let rangesChecked = 0;
  for (const s of committed.index.series) {
    for (const r of s.ranges()) {
      rangesChecked++;
      const open = new Map<string, Deno.FsFile>();
      try {
        open.set(r.file, await Deno.open(committed.segmentPath(r.file), { read: true }));
        reader.readRange(open, r, -Infinity, Infinity);
      } catch (err) {
        if (!(err instanceof InputError) && !(err instanceof Deno.errors.NotFound)) throw err;
        bad.set(`${r.file}:${r.at}:${r.count}`, (err as Error).message);
      } finally {
        for (const f of open.values()) f.close();
      }
    }
  }
  // Side files (histograms, exemplars, start timestamps): one that does not read is dropped whole.
  const badSides = new Map<string, string>();
  for (const f of committed.index.sides) {
    rangesChecked++;
    try {
      await readSideFile(committed.segmentPath(f.file));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      badSides.set(f.file, err.message);
    }
  }
  const report: RepairReport = { rangesChecked, dropped: [], movedFiles: [] };
  if (bad.size === 0 && badSides.size === 0) return report;
  await committed.locked(async (index) => {
    // Changed series are copies (the copy's entries are the committed index's).
    index.series = index.series.map((s) =>
      s.filtered((r) => {
        const why = bad.get(`${r.file}:${r.at}:${r.count}`);
        if (why === undefined) return true;
        report.dropped.push({ labels: s.labels, file: r.file, samples: r.count, reason: why });
        return false;
      })
    );
    for (const f of index.sides) {
      const why = badSides.get(f.file);
      if (why === undefined) continue;
      for (const labels of f.series) {
        report.dropped.push({
          labels,
          file: f.file,
          samples: f.histograms + f.exemplars,
          reason: why,
        });
      }
    }
    index.sides = index.sides.filter((f) => !badSides.has(f.file));
    const used = new Set<string>();
    for (const s of index.series) {
      for (let k = 0; k < s.rangeCount; k++) used.add(s.rangeFile(k));
    }
    const unused = index.files.filter((f) => !used.has(f.file)).map((f) => f.file);
    unused.push(...badSides.keys());
    index.files = index.files.filter((f) => used.has(f.file));
    index.series = index.series.filter((s) => s.rangeCount > 0);
    await committed.publish(index);
    // Only now that no index names them: move them aside (a file already gone stays gone).
    const damagedDir = `${committed.dir}/${DAMAGED_DIR}`;
    await Deno.mkdir(damagedDir, { recursive: true });
    for (const name of unused) {
      try {
        await Deno.rename(`${committed.dir}/${SEGMENTS_DIR}/${name}`, `${damagedDir}/${name}`);
        report.movedFiles.push(name);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
  });
  return report;
}
