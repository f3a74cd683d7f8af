/**
 * Packing sample runs into new FLAC segment files: long runs alone, short ones packed by series
 * key; each file written once under a name of this writer, optionally read back and compared,
 * then fsynced before any index names it.
 *
 * @module
 */
import { syncDir, syncFiles } from "./atomic_file.ts";
import { encodedSamples, firstMismatch } from "./blocks.ts";
import type { CommittedIndex } from "./committed.ts";
import type { FileEntry, RangeEntry } from "./index_file.ts";
import {
  byteSpan,
  decodeFrames,
  encodePack,
  rangeSamples,
  rangeSpan,
  type SampleBlock,
} from "./segment.ts";
import { SEGMENTS_DIR } from "./types.ts";
import type { WriterLock } from "./writer_lock.ts";

/** Options of {@linkcode SegmentPacker}. */
export interface PackerOptions {
  /** Most samples in one file. */
  maxSegmentSamples: number;
  /** Runs of fewer samples share files. */
  packBelowSamples: number;
  /** FLAC block size, or 0 to choose per file. */
  blockSize: number;
  /** FLAC compression level. Default the codec's. */
  level?: number;
  /** Read every file back and compare. */
  verify: boolean;
}

/** A span covering every sample of a file (for verification). */
function wholeSpan(file: FileEntry) {
  return { first: 0, end: file.count, firstTs: 0 };
}

/** Writes runs into segment files of one store (see the module doc). */
export class SegmentPacker {
  /** The writer whose names new files get; unset: read-only or closed. */
  writer: WriterLock | undefined;
  /** Appended samples read back and compared so far (with `verify`); compaction not counted. */
  verifiedSamples = 0;
  /** Samples compaction rewrote, read back and compared (with `verify`). */
  verifiedCompactedSamples = 0;
  #committed: CommittedIndex;
  #options: PackerOptions;
  #unsyncedFiles: string[] = [];

  /** A packer writing into the segments directory of `committed`'s store. */
  constructor(committed: CommittedIndex, options: PackerOptions) {
    this.#committed = committed;
    this.#options = options;
  }

  /**
   * Groups runs into files: runs of `packBelowSamples` or more alone, the others sorted by
   * series key (similar series side by side compress better; a series' runs keep their order)
   * and packed up to `maxSegmentSamples` per file.
   */
  groupRuns<T extends { key: string; samples: number }>(runs: T[]): T[][] {
    const groups: T[][] = [];
    const small: T[] = [];
    for (const r of runs) {
      if (r.samples >= this.#options.packBelowSamples) groups.push([r]);
      else small.push(r);
    }
    small.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    let current: T[] = [];
    let n = 0;
    for (const r of small) {
      const c = r.samples;
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
  async writeFile(
    blocks: SampleBlock[],
    compacting = false,
  ): Promise<{ file: FileEntry; ranges: RangeEntry[] }> {
    const encoded = encodePack(blocks, {
      blockSize: this.#options.blockSize ||
        (encodedSamples(blocks) < 1024 * blocks.length ? 512 : 1024),
      ...(this.#options.level !== undefined ? { level: this.#options.level } : {}),
    });
    if (!this.writer) throw new Error("store closed or opened read-only");
    const name = this.writer.newSegmentName();
    const path = this.#committed.segmentPath(name);
    // No temp name needed: nothing refers to the file until a commit fsyncs it and the index.
    await Deno.writeFile(path, encoded.bytes, { createNew: true });
    this.#unsyncedFiles.push(path);
    const file: FileEntry = { file: name, ...encoded.file };
    // The encoder's ranges get their file name (no copy: a commit of a million series packs a
    // million ranges).
    const ranges = encoded.ranges as RangeEntry[];
    for (const r of ranges) r.file = name;
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

  /** Fsyncs the files written since the last call, and the segments directory. */
  async syncNewFiles(): Promise<void> {
    if (!this.#unsyncedFiles.length) return;
    await syncFiles(this.#unsyncedFiles);
    await syncDir(`${this.#committed.dir}/${SEGMENTS_DIR}`);
    this.#unsyncedFiles = [];
  }
}
