/**
 * Crash-safe file replacement: write to a temporary name, fsync, rename, fsync the directory.
 *
 * After {@linkcode writeFileDurable} returns, the file holds the new bytes even if the machine
 * loses power; before it returns, the old file (or no file) is visible, never a partial one.
 *
 * @module
 */

/** Suffix of temporary files; a store deletes stale ones when it opens for writing. */
export const TEMP_SUFFIX = ".tmp";

let tempCounter = 0;

/** Directory part of a path (`.` when none). */
export function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/** fsyncs a directory so that renames and creations inside it are durable. */
export async function syncDir(dir: string): Promise<void> {
  const f = await Deno.open(dir, { read: true });
  try {
    await f.sync();
  } finally {
    f.close();
  }
}

/** fsyncs files (several at a time, so the file system can group them). */
export async function syncFiles(
  paths: string[],
  options: { concurrency?: number } = {},
): Promise<void> {
  const concurrency = options.concurrency ?? 32;
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const f = await Deno.open(paths[next++], { read: true, write: true });
      try {
        await f.sync();
      } finally {
        f.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
}

/** Options of {@linkcode writeFileDurable}. */
export interface WriteFileDurableOptions {
  /** fsync the parent directory after the rename. Default true (pass false when batching several files, then call {@linkcode syncDir} once). */
  syncParent?: boolean;
}

/** Writes `bytes` to `path` atomically and durably (temp name, fsync, rename, fsync dir). */
export async function writeFileDurable(
  path: string,
  bytes: Uint8Array,
  options: WriteFileDurableOptions = {},
): Promise<void> {
  const temp = await writeTempDurable(path, bytes);
  await Deno.rename(temp, path);
  if (options.syncParent ?? true) await syncDir(dirOf(path));
}

/**
 * The first half of {@linkcode writeFileDurable}: `bytes` written and fsynced under a temporary
 * name beside `path` (returned), to be renamed over `path` later (or removed).
 */
export async function writeTempDurable(path: string, bytes: Uint8Array): Promise<string> {
  const temp = `${path}.${Deno.pid}-${++tempCounter}${TEMP_SUFFIX}`;
  const f = await Deno.open(temp, { write: true, create: true, truncate: true });
  try {
    let written = 0;
    while (written < bytes.length) written += await f.write(bytes.subarray(written));
    await f.sync();
  } catch (err) {
    f.close();
    await Deno.remove(temp).catch(() => {});
    throw err;
  }
  f.close();
  return temp;
}
