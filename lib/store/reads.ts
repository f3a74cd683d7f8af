/**
 * Reading committed samples: only the ranges whose time span meets a query, and in them only the
 * covering FLAC frames (recently decoded frames are cached). Segment reads are synchronous
 * page-cache reads.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { mergeBlocks } from "./blocks.ts";
import type { CommittedIndex } from "./committed.ts";
import type { RangeEntry } from "./index_file.ts";
import {
  byteSpan,
  type DecodedFrames,
  decodeFrames,
  rangeSamples,
  rangeSpan,
  type SampleBlock,
} from "./segment.ts";

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
  /** The entry used last (already last in the map's order): consecutive ranges share frames. */
  #lastKey = "";
  #last: DecodedFrames | undefined;
  constructor(readonly maxSamples: number) {}
  get(key: string): DecodedFrames | undefined {
    if (key === this.#lastKey) return this.#last;
    const d = this.#entries.get(key);
    if (d) {
      this.#entries.delete(key);
      this.#entries.set(key, d);
      this.#lastKey = key;
      this.#last = d;
    }
    return d;
  }
  set(key: string, d: DecodedFrames): void {
    const n = d.channels[0]?.length ?? 0;
    if (n > this.maxSamples) return;
    this.#entries.set(key, d);
    this.#lastKey = key;
    this.#last = d;
    this.#samples += n;
    for (const [k, v] of this.#entries) {
      if (this.#samples <= this.maxSamples) break;
      this.#entries.delete(k);
      this.#samples -= v.channels[0]?.length ?? 0;
    }
  }
}

/** Reads the committed samples of a store's series (see the module doc). */
export class SegmentReader {
  #committed: CommittedIndex;
  #cache = new FrameCache(1 << 18);

  /** A reader of the files `committed` names. */
  constructor(committed: CommittedIndex) {
    this.#committed = committed;
  }

  /**
   * Opens the segment files `names`, for {@linkcode readRange}; those that are gone (deleted
   * by another writer's compaction) are listed in `missing`. Close them with
   * {@linkcode closeFiles}.
   */
  openFiles(
    names: Iterable<string>,
  ): { open: Map<string, Deno.FsFile>; missing: Map<string, Error> } {
    const open = new Map<string, Deno.FsFile>();
    const missing = new Map<string, Error>();
    try {
      for (const name of names) {
        if (open.has(name) || missing.has(name)) continue;
        const path = this.#committed.segmentPath(name);
        try {
          open.set(name, Deno.openSync(path, { read: true }));
        } catch (err) {
          if (err instanceof Deno.errors.NotFound) missing.set(name, err);
          else {
            throw new InputError(`cannot read segment: ${(err as Error).message}`, {
              where: path,
              cause: err,
            });
          }
        }
      }
    } catch (err) {
      this.closeFiles(open);
      throw err;
    }
    return { open, missing };
  }

  /** Closes files opened by {@linkcode openFiles}. */
  closeFiles(open: Map<string, Deno.FsFile>): void {
    for (const f of open.values()) f.close();
    open.clear();
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
      const s = this.#committed.seriesById(id);
      if (!s) return;
      const selected = s.ranges()
        .map((g, order) => ({ g, order }))
        .filter(({ g }) => g.maxTs >= startMs && g.minTs <= endMs)
        .sort((a, b) => a.g.minTs - b.g.minTs || a.order - b.order);
      const { open, missing } = this.openFiles(selected.map(({ g }) => g.file));
      try {
        if (missing.size) {
          // Deleted by a compaction since the last refresh: re-read the index, start over.
          if (attempt < 3 && (await this.#committed.refresh())) continue;
          const err = missing.values().next().value!;
          throw new InputError(`cannot read segment: ${err.message}`, {
            where: this.#committed.dir,
            cause: err,
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
          for (const { g } of group) blocks.push(this.readRange(open, g, startMs, endMs));
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
        this.closeFiles(open);
      }
    }
  }

  /** Samples of range `r` in `[startMs, endMs]`, decoding only its covering frames (cached). */
  readRange(
    open: Map<string, Deno.FsFile>,
    r: RangeEntry,
    startMs: number,
    endMs: number,
  ): SampleBlock {
    const path = this.#committed.segmentPath(r.file);
    const file = this.#committed.file(r.file);
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
}
