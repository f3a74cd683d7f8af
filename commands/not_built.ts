/**
 * Placeholder for subcommands whose issue is still open: listed in `--help`, exits 2 when run.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { UsageError } from "../lib/errors.ts";

/** A command that says it is not built yet and exits with a usage error. */
export function notBuiltCommand(name: string, summary: string): Command {
  return new Command(name)
    .description(`${summary} (not built yet)`)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new UsageError(`'wattwave ${name}' is not built yet in this version`);
    });
}
