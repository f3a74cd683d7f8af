/**
 * `wattwave serve-read`: not built yet.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { notBuiltCommand } from "./not_built.ts";

/** The `serve-read` subcommand. */
export function serveReadCommand(): Command {
  return notBuiltCommand("serve-read", "Serve Prometheus remote read from a FLAC store");
}
