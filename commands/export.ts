/**
 * `wattwave export`: not built yet.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { notBuiltCommand } from "./not_built.ts";

/** The `export` subcommand. */
export function exportCommand(): Command {
  return notBuiltCommand("export", "Export series from a FLAC store as NDJSON");
}
