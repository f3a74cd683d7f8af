/**
 * Running the wattwave CLI as a user would: `deno run` with the same permission flags as
 * `deno task compile`, real processes, real pipes.
 *
 * @module
 */

import { PERMISSION_FLAGS } from "../../lib/cli/permissions.ts";

/** The permission flags the tool runs with (the same as `deno task compile`). */
export { PERMISSION_FLAGS };

/** Absolute path of `main.ts`. */
export const MAIN_TS = new URL("../../main.ts", import.meta.url).pathname;

/** The argv that runs wattwave with `args`. */
export function wattwaveArgv(args: string[]): string[] {
  return [Deno.execPath(), "run", "--quiet", ...PERMISSION_FLAGS, MAIN_TS, ...args];
}

/** Result of {@linkcode runWattwave}. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode runWattwave}. */
export interface RunOptions {
  /** Bytes or text for stdin (stdin is closed after). */
  stdin?: string | Uint8Array;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
}

/** Runs `wattwave args...` to completion and returns exit code, stdout and stderr. */
export async function runWattwave(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const [cmd, ...rest] = wattwaveArgv(args);
  const child = new Deno.Command(cmd, {
    args: rest,
    stdin: options.stdin !== undefined ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
    cwd: options.cwd,
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(
      typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin,
    );
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Starts `wattwave args...` in the background with piped stdio. */
export function spawnWattwave(
  args: string[],
  options: { stdin?: "piped" | "null"; env?: Record<string, string>; prefix?: string[] } = {},
): Deno.ChildProcess {
  // `prefix`: a command that runs wattwave (`prlimit --nofile=256`).
  const [cmd, ...rest] = [...(options.prefix ?? []), ...wattwaveArgv(args)];
  return new Deno.Command(cmd, {
    args: rest,
    stdin: options.stdin ?? "null",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
  }).spawn();
}

/** Parses NDJSON text into objects (blank lines skipped). */
export function parseNdjson(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}
