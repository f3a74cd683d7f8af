/**
 * Killing a wattwave child at a point of its own progress, not of the wall clock: crash tests
 * watch its stderr and send SIGKILL once a condition on what it has printed holds, so they kill
 * at the same place on a fast machine as on a slow or loaded one.
 *
 * @module
 */

import { spawnWattwave } from "./cli.ts";
import { collect } from "./net.ts";

/** What {@linkcode runUntilKilled} saw. */
export interface KillResult {
  /** How the child ended. */
  status: Deno.CommandStatus;
  /** Whether the kill was sent (false when the child ended first). */
  killSent: boolean;
  /** All of its stderr. */
  stderr: string;
  /** All of its stdout. */
  stdout: string;
}

/** Options of {@linkcode runUntilKilled}. */
export interface KillOptions {
  /**
   * Called with the stderr printed so far after every chunk; the first time it returns a number
   * (milliseconds, 0 for at once) the kill is sent that long after. Default: never.
   */
  killAfter?: (stderrSoFar: string) => number | undefined;
  /**
   * Milliseconds after the start at which to send the kill, for runs that print nothing on the
   * way (take it from a timed uninterrupted run of the same work). Default: none.
   */
  killAtMs?: number;
}

/** Runs `wattwave args...`, sending SIGKILL when `options.killAfter` says so. */
export async function runUntilKilled(
  args: string[],
  options: KillOptions = {},
): Promise<KillResult> {
  const child = spawnWattwave(args);
  const stdout = collect(child.stdout);
  let killSent = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let fixed: ReturnType<typeof setTimeout> | undefined;
  const kill = () => {
    killSent = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  };
  if (options.killAtMs !== undefined) fixed = setTimeout(kill, options.killAtMs);
  let stderr = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stderr) {
    stderr += decoder.decode(chunk, { stream: true });
    if (timer !== undefined || killSent || options.killAfter === undefined) continue;
    const ms = options.killAfter(stderr);
    if (ms === undefined) continue;
    if (ms <= 0) kill();
    else timer = setTimeout(kill, ms);
  }
  const status = await child.status;
  clearTimeout(timer);
  clearTimeout(fixed);
  return {
    status,
    killSent: killSent && status.signal === "SIGKILL",
    stderr,
    stdout: await stdout,
  };
}

/** How many times `re` (global) matches `text`. */
export function countMatches(text: string, re: RegExp): number {
  let n = 0;
  for (const _ of text.matchAll(re)) n++;
  return n;
}
