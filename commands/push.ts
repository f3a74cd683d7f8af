/**
 * `wattwave push`: not built yet.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { notBuiltCommand } from "./not_built.ts";

/** The `push` subcommand. */
export function pushCommand(): Command {
  return notBuiltCommand("push", "Send NDJSON samples to a Prometheus remote-write endpoint");
}
