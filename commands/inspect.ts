/**
 * `wattwave inspect`: what a FLAC store holds, from its index (like `promtool tsdb analyze`).
 *
 * @module
 */
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { collectString, parsePositiveInt } from "../lib/cli/parse.ts";

interface InspectOptions {
  store: string;
  match: string[];
  json?: boolean;
  series?: boolean;
  top: number;
}

async function inspect(o: InspectOptions): Promise<void> {
  // Loaded when the subcommand runs, so that start-up (and --help) stays light.
  const { compileSelectors, warnIfNothingMatched } = await import("../lib/query/select_series.ts");
  const { formatAnalysis } = await import("../lib/store/inspect.ts");
  const { Store } = await import("../lib/store/mod.ts");
  const selectors = compileSelectors(o.match);
  const store = await Store.open(o.store, { readOnly: true });
  const analysis = store.analyze({ selectors, top: o.top, series: o.series });
  if (o.match.length > 0 && analysis.series === 0) {
    warnIfNothingMatched(o.match, store.metricNames(), "inspect");
  }
  const text = o.json ? JSON.stringify(analysis) + "\n" : formatAnalysis(analysis);
  await Deno.stdout.write(new TextEncoder().encode(text));
}

/** The `inspect` subcommand. */
export function inspectCommand(): CommandUnknownOpts {
  return new Command("inspect")
    .description("Show what a FLAC store holds: series, samples, time range, bytes, top metrics")
    .requiredOption("--store <dir>", "store directory")
    .option(
      "--match <selector>",
      "PromQL series selector (repeatable: union; default all)",
      collectString,
      [] as string[],
    )
    .option("--json", "one JSON object instead of text")
    .option("--series", "also list every selected series")
    .option("--top <n>", "entries in each top list", parsePositiveInt, 10)
    .addHelpText(
      "after",
      "\nOnly the index is read. Bytes are attributed to series by their share of each file's\n" +
        "samples (packed files hold several series).\n" +
        "Example:\n  wattwave inspect --store ./power-store --match '{__name__=~\"nvidia_smi_.*\"}'",
    )
    .action(async (options) => {
      await inspect(options as InspectOptions);
    });
}
