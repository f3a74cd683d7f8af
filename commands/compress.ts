/**
 * `wattwave compress`: not built yet.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { notBuiltCommand } from "./not_built.ts";

/** The `compress` subcommand. */
export function compressCommand(): Command {
  return notBuiltCommand("compress", "Store NDJSON series losslessly as FLAC files");
}
