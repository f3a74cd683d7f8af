/**
 * The process's open-file limit (`ulimit -n`), and the connection cap it allows: each client
 * connection holds three descriptors here (the client's socket and both ends of the private
 * Unix socket to the HTTP server), and the rest of the process (store files, workers, pipes)
 * needs some too.
 *
 * @module
 */

/** Descriptors kept for everything but client connections. */
export const RESERVED_DESCRIPTORS = 128;
/** Descriptors one client connection holds. */
export const DESCRIPTORS_PER_CONNECTION = 3;

/**
 * The soft limit on open files, from `sh -c 'ulimit -n'` (a child inherits it; Deno does not
 * let a program read `/proc/self/limits`), or undefined when unknown or unlimited.
 */
export async function openFileLimit(): Promise<number | undefined> {
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", "ulimit -n"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const n = Number(new TextDecoder().decode(out.stdout).trim());
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The most connections `limit` descriptors allow (at least 1). */
export function connectionsAllowedBy(limit: number): number {
  return Math.max(1, Math.floor((limit - RESERVED_DESCRIPTORS) / DESCRIPTORS_PER_CONNECTION));
}
