/**
 * `wattwave receive`: not built yet.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { notBuiltCommand } from "./not_built.ts";

/** The `receive` subcommand. */
export function receiveCommand(): Command {
  return notBuiltCommand("receive", "Receive Prometheus remote write and print NDJSON");
}
