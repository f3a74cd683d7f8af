/**
 * `wattwave export`: series from the FLAC store back out as NDJSON, bit-exact.
 *
 * @module
 */
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { seriesText } from "../lib/model/labels.ts";
import { collectString } from "../lib/cli/parse.ts";
import { parseTimeMs } from "../lib/cli/time.ts";
import { IncompleteRunError, UsageError } from "../lib/errors.ts";

interface ExportOptions {
  store: string;
  match: string[];
  start?: number;
  end?: number;
  metadata: boolean;
}

async function exportStore(o: ExportOptions): Promise<void> {
  // Loaded when the subcommand runs, so that start-up (and --help) stays light.
  const { compileSelectors, warnIfNothingMatched } = await import("../lib/query/select_series.ts");
  const { exportNdjson } = await import("../lib/store/export.ts");
  const { Store } = await import("../lib/store/mod.ts");
  const startMs = o.start ?? -Infinity;
  const endMs = o.end ?? Infinity;
  if (startMs > endMs) throw new UsageError(`--start (${o.start}) is after --end (${o.end})`);
  const selectors = compileSelectors(o.match);
  const store = await Store.open(o.store, { readOnly: true });
  const counts = await exportNdjson(store, Deno.stdout.writable, {
    selectors,
    startMs,
    endMs,
    metadata: o.metadata,
    onDamaged: (labels, reason) =>
      console.error(`wattwave export: series ${seriesText(labels)} is damaged: ${reason}`),
  });
  if (o.match.length > 0 && counts.series === 0) {
    warnIfNothingMatched(o.match, store.metricNames(), "export");
  }
  if (counts.damaged.length > 0) {
    throw new IncompleteRunError(
      `${counts.damaged.length} of ${counts.series} series could not be read whole (named above); ` +
        `the others were exported. \`wattwave compress --store ${o.store} --repair\` rebuilds what can be`,
    );
  }
}

/** The `export` subcommand. */
export function exportCommand(): CommandUnknownOpts {
  return new Command("export")
    .description("Export series from a FLAC store as NDJSON, bit-exact")
    .requiredOption("--store <dir>", "store directory")
    .option(
      "--match <selector>",
      'PromQL series selector, e.g. \'{__name__="x",job=~"a.*"}\' (repeatable: union; default all)',
      collectString,
      [] as string[],
    )
    .option(
      "--start <time>",
      "first timestamp (ms since epoch, RFC 3339 or now-1h), inclusive",
      (t) => parseTimeMs(t),
    )
    .option(
      "--end <time>",
      "last timestamp (ms since epoch, RFC 3339 or now-1h), inclusive",
      (t) => parseTimeMs(t),
    )
    .option("--no-metadata", "sample lines only, no metadata records (e.g. for jq)")
    .addHelpText(
      "after",
      "\nOutput: the stored metadata records (type, unit, help) of the exported metric names\n" +
        "first, then each series in turn, its samples in timestamp order (equal timestamps in the\n" +
        "order they were stored). Only segments and FLAC frames covering the range are decoded.\n" +
        "Example:\n" +
        "  wattwave export --store ./power-store --match 'node_rapl_package_joules_total{index=\"0\"}' \\\n" +
        "    --start 2024-11-23T08:00:00Z --end 2024-11-23T09:00:00Z",
    )
    .action(async (options) => {
      await exportStore(options as ExportOptions);
    });
}
