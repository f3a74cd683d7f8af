/**
 * `wattwave sample`: not built yet.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { notBuiltCommand } from "./not_built.ts";

/** The `sample` subcommand. */
export function sampleCommand(): Command {
  return notBuiltCommand(
    "sample",
    "Sample CPU/DRAM energy (powercap RAPL) and GPU telemetry (nvidia-smi) as NDJSON",
  );
}
