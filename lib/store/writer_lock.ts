/**
 * Segment file names, writer liveness and orphan detection.
 *
 * A segment file is written under its final name before a commit puts it in the index; if its
 * writer dies first, nothing ever refers to it (an orphan). Every writer (a `Store` opened for
 * writing) picks a random tag, creates `segments/<tag>.writer` and holds an exclusive flock on it
 * for its life; its segment files are named `<tag>-<counter>.flac` (side files `<tag>-<counter>.side.gz`). A writer opening the store
 * try-locks the `.writer` files of the tags it finds: when the lock is free (or the file is
 * gone), that writer is dead and its files the index does not name are orphans, deleted; when
 * the lock is held, the writer is alive and its uncommitted files are left alone. The kernel
 * drops a flock when its process dies, `kill -9` included.
 *
 * @module
 */

/** Files whose name carries no writer tag are orphans after this long unindexed, ms. */
export const UNTAGGED_ORPHAN_AGE_MS = 24 * 3600_000;

/** Suffix of a writer's lock file inside `segments/`. */
export const WRITER_SUFFIX = ".writer";

const SEGMENT_RE = /^([0-9a-z]+)-\d+\.(?:flac|side\.gz)$/;

function randomTag(): string {
  const rand = crypto.getRandomValues(new Uint8Array(5));
  return Deno.pid.toString(36) + Array.from(rand, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** This writer's tag, held lock and file names. */
export class WriterLock {
  #file: Deno.FsFile;
  #counter = 0;
  private constructor(readonly tag: string, readonly path: string, file: Deno.FsFile) {
    this.#file = file;
  }

  /** Creates and locks `dir/<tag>.writer` (locked under a hidden name first, then renamed in place). */
  static async acquire(dir: string): Promise<WriterLock> {
    const tag = randomTag();
    const hidden = `${dir}/.${tag}${WRITER_SUFFIX}`;
    const path = `${dir}/${tag}${WRITER_SUFFIX}`;
    const file = await Deno.open(hidden, { read: true, write: true, createNew: true });
    try {
      await file.lock(true);
      await Deno.rename(hidden, path);
    } catch (err) {
      file.close();
      await Deno.remove(hidden).catch(() => {});
      throw err;
    }
    return new WriterLock(tag, path, file);
  }

  /** A new, unique segment file name of this writer (`suffix`: `.flac` or `.side.gz`). */
  newSegmentName(suffix = ".flac"): string {
    return `${this.tag}-${++this.#counter}${suffix}`;
  }

  /** Releases the lock and removes the `.writer` file (uncommitted files become orphans). */
  async release(): Promise<void> {
    await Deno.remove(this.path).catch(() => {});
    this.#file.close();
  }
}

/** What {@linkcode deadWriters} found. */
export interface DeadWriters {
  /** Tags of dead writers (their locks are now held by the caller until `release`). */
  tags: Set<string>;
  /** Their `.writer` files. */
  lockFiles: string[];
  /** Releases the locks taken on dead writers' files. */
  release(): void;
}

/** Tag of a segment file name, or undefined when it has none. */
export function tagOf(name: string): string | undefined {
  return SEGMENT_RE.exec(name)?.[1];
}

/**
 * Finds the dead writers among `tags` (names in `dir`): their `.writer` file is missing, or its
 * lock is free (taken and kept until `release`, so the writer cannot come back meanwhile).
 */
export async function deadWriters(dir: string, tags: Iterable<string>): Promise<DeadWriters> {
  const dead = new Set<string>();
  const lockFiles: string[] = [];
  const held: Deno.FsFile[] = [];
  for (const tag of tags) {
    const path = `${dir}/${tag}${WRITER_SUFFIX}`;
    let f: Deno.FsFile;
    try {
      f = await Deno.open(path, { read: true, write: true });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        dead.add(tag);
        continue;
      }
      throw err;
    }
    if (await f.tryLock(true)) {
      dead.add(tag);
      lockFiles.push(path);
      held.push(f);
    } else f.close();
  }
  return {
    tags: dead,
    lockFiles,
    release: () => {
      for (const f of held) f.close();
    },
  };
}
