/**
 * What opening a store checks and recovers: a directory that is not a store, or whose index is
 * lost, is refused; a writer removes what crashed processes left behind — stale temporary files,
 * files retired by a compaction that died before deleting them, and segment files no index names
 * whose writer is gone (see `writer_lock.ts`).
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { TEMP_SUFFIX } from "./atomic_file.ts";
import { INDEX_FILE } from "./index_file.ts";
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
  if (committed.index.retired.length) await committed.clearRetired();
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

/** Whether `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Refuses (InputError) a directory a reader cannot open as a store: missing, a file, or neither index nor segments. */
export async function checkReadableStore(dir: string): Promise<void> {
  try {
    const st = await Deno.stat(dir);
    if (!st.isDirectory) throw new InputError("not a directory", { where: dir });
    if (!(await exists(`${dir}/${INDEX_FILE}`)) && !(await exists(`${dir}/${SEGMENTS_DIR}`))) {
      throw new InputError(
        `not a wattwave store (no ${INDEX_FILE} and no ${SEGMENTS_DIR}/; make one with \`wattwave compress --store\`)`,
        { where: dir },
      );
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new InputError("store directory does not exist", { where: dir });
    }
    throw err;
  }
}

/**
 * Refuses a store whose segments (or side files) are there but whose index is not (deleted or
 * lost): opening it would read as empty, and a writer would delete every segment as an orphan.
 */
export async function checkIndexPresent(dir: string): Promise<void> {
  if (await exists(`${dir}/${INDEX_FILE}`)) return;
  let flac = 0;
  let sides = 0;
  try {
    for await (const e of Deno.readDir(`${dir}/${SEGMENTS_DIR}`)) {
      if (!e.isFile) continue;
      if (e.name.endsWith(".flac")) flac++;
      else if (e.name.endsWith(SIDE_SUFFIX)) sides++;
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  if (flac + sides === 0) return;
  throw new InputError(
    `${INDEX_FILE} is missing but ${SEGMENTS_DIR}/ holds ${flac} FLAC files` +
      (sides ? ` and ${sides} side files` : "") +
      `: not opened, so that nothing is read as empty or deleted (restore ${INDEX_FILE}, or ` +
      `move the files away; --repair cannot rebuild it: series labels live only in the index)`,
    { where: dir },
  );
}
