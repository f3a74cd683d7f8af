/**
 * `wattwave replay-csv`: not built yet.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { notBuiltCommand } from "./not_built.ts";

/** The `replay-csv` subcommand. */
export function replayCsvCommand(): Command {
  return notBuiltCommand("replay-csv", "Replay DCGM, nvidia-smi or generic CSV logs as NDJSON");
}
