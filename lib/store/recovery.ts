/**
 * Recovery when a writer opens a store: what crashed processes left behind is removed — stale
 * temporary files, files retired by a compaction that died before deleting them, and segment
 * files no index names whose writer is gone (see `writer_lock.ts`).
 *
 * @module
 */
import { TEMP_SUFFIX } from "./atomic_file.ts";
import type { CommittedIndex } from "./committed.ts";
import { SIDE_SUFFIX } from "./side_file.ts";
import { SEGMENTS_DIR } from "./types.ts";
import { deadWriters, tagOf, UNTAGGED_ORPHAN_AGE_MS, WRITER_SUFFIX } from "./writer_lock.ts";

/** Temporary files older than this are left by a dead process. */
const STALE_TEMP_AGE_MS = 10 * 60_000;

/** Deletes temporary files older than ten minutes in the store and its segments directory. */
export async function removeStaleTemps(dir: string): Promise<void> {
  const cutoff = Date.now() - STALE_TEMP_AGE_MS;
  for (const d of [dir, `${dir}/${SEGMENTS_DIR}`]) {
    for await (const e of Deno.readDir(d)) {
      if (!e.isFile || !e.name.endsWith(TEMP_SUFFIX)) continue;
      const path = `${d}/${e.name}`;
      const st = await Deno.stat(path).catch(() => undefined);
      if (st && (st.mtime?.getTime() ?? 0) < cutoff) await Deno.remove(path).catch(() => {});
    }
  }
}

/**
 * Deletes files retired by compaction, and segment files no index names whose writer is gone,
 * with the `.writer` files of dead writers. `ownTag` is this writer's (its files are kept).
 */
export async function removeOrphans(committed: CommittedIndex, ownTag: string): Promise<void> {
  // Left by a compaction that crashed before deleting them: delete, and drop the list.
  if (committed.index.retired.length) await committed.locked((index) => committed.publish(index));
  const segments = `${committed.dir}/${SEGMENTS_DIR}`;
  const candidates: string[] = [];
  const tags = new Set<string>();
  for await (const e of Deno.readDir(segments)) {
    if (!e.isFile) continue;
    if (e.name.endsWith(WRITER_SUFFIX) && !e.name.startsWith(".")) {
      tags.add(e.name.slice(0, -WRITER_SUFFIX.length));
    } else if (
      (e.name.endsWith(".flac") && !committed.file(e.name)) ||
      (e.name.endsWith(SIDE_SUFFIX) && !committed.sideFile(e.name))
    ) {
      candidates.push(e.name);
      const tag = tagOf(e.name);
      if (tag !== undefined) tags.add(tag);
    }
  }
  tags.delete(ownTag);
  if (!tags.size) return;
  // Dead writers first (their locks are held from now on), then the index: a file committed
  // before its writer died is in the index read after that.
  const dead = await deadWriters(segments, tags);
  try {
    await committed.refresh();
    for (const name of candidates) {
      if (committed.file(name) || committed.sideFile(name)) continue;
      const tag = tagOf(name);
      if (tag !== undefined) {
        if (dead.tags.has(tag)) await committed.removeSegment(name);
        continue;
      }
      const st = await Deno.stat(`${segments}/${name}`).catch(() => undefined);
      const age = Date.now() - (st?.mtime?.getTime() ?? Date.now());
      if (age > UNTAGGED_ORPHAN_AGE_MS) await committed.removeSegment(name);
    }
    for (const path of dead.lockFiles) await Deno.remove(path).catch(() => {});
  } finally {
    dead.release();
  }
}
