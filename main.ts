#!/usr/bin/env -S deno run --allow-read --allow-write --allow-net --allow-env --allow-run --allow-sys
/**
 * wattwave: power and GPU telemetry as NDJSON, Prometheus remote write/read, FLAC storage.
 *
 * The command table. This is the only place that maps errors to exit codes and exits:
 * 0 ok, 1 runtime, input or remote failure, 2 usage error.
 *
 * @module
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { VERSION } from "./lib/version.ts";
import { errorMessage, permissionHint, UsageError } from "./lib/errors.ts";
import { styleHelp } from "./lib/cli/help.ts";
import { pushCommand } from "./commands/push.ts";
import { receiveCommand } from "./commands/receive.ts";
import { sampleCommand } from "./commands/sample.ts";
import { compressCommand } from "./commands/compress.ts";
import { exportCommand } from "./commands/export.ts";
import { inspectCommand } from "./commands/inspect.ts";
import { serveReadCommand } from "./commands/serve_read.ts";
import { replayCsvCommand } from "./commands/replay_csv.ts";

/** Exit code for success. */
export const EXIT_OK = 0;
/** Exit code for a runtime, input or remote failure. */
export const EXIT_FAILURE = 1;
/** Exit code for a usage error. */
export const EXIT_USAGE = 2;

/** Builds the `wattwave` program with every subcommand. */
export function buildProgram(): Command {
  const program = new Command("wattwave")
    .description(
      "Power and GPU telemetry: sample it, push it to Prometheus remote write, receive it, " +
        "store it losslessly as FLAC and serve it back through remote read, with NDJSON " +
        "between the subcommands.",
    )
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .addCommand(sampleCommand())
    .addCommand(pushCommand())
    .addCommand(receiveCommand())
    .addCommand(compressCommand())
    .addCommand(exportCommand())
    .addCommand(inspectCommand())
    .addCommand(serveReadCommand())
    .addCommand(replayCsvCommand())
    .addHelpText(
      "after",
      "\nExit codes: 0 ok, 1 runtime/input/remote failure, 2 usage error.\n" +
        "Example:\n  wattwave sample --period 1s | wattwave push --url http://127.0.0.1:9090/api/v1/write",
    );
  program.exitOverride();
  for (const c of program.commands) c.exitOverride();
  styleHelp(program);
  return program as unknown as Command;
}

function isBrokenPipe(err: unknown): boolean {
  return err instanceof Deno.errors.BrokenPipe ||
    (err instanceof Error && /broken pipe|EPIPE/i.test(err.message));
}

/** Whether `WATTWAVE_DEBUG` asks for stack traces (false where env access is not granted). */
function debugEnabled(): boolean {
  try {
    return !!Deno.env.get("WATTWAVE_DEBUG");
  } catch {
    return false;
  }
}

/** Runs the CLI with `args` and returns the exit code (never exits itself). */
export async function run(args: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(args, { from: "user" });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are displayed by commander and end with exit code 0.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      console.error(`wattwave: ${err.message}`);
      return EXIT_USAGE;
    }
    if (isBrokenPipe(err)) return EXIT_OK; // the reader went away (`| head`): a clean end
    console.error(`wattwave: ${permissionHint(err) ?? errorMessage(err)}`);
    if (debugEnabled() && err instanceof Error) console.error(err.stack);
    return EXIT_FAILURE;
  }
}

/**
 * `deno task wattwave` runs in the project's directory; Deno names the caller's in `INIT_CWD`.
 * The task sets `WATTWAVE_CWD_FROM_TASK=1` so that relative paths mean what the user meant.
 */
function enterCallersDirectory(): void {
  try {
    const initCwd = Deno.env.get("INIT_CWD");
    if (Deno.env.get("WATTWAVE_CWD_FROM_TASK") === "1" && initCwd) Deno.chdir(initCwd);
  } catch { /* no env permission or the directory is gone: stay */ }
}

if (import.meta.main) {
  enterCallersDirectory();
  const code = await run(Deno.args);
  Deno.exit(code);
}
