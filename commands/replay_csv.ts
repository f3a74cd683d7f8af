/**
 * `wattwave replay-csv`: DCGM exports, nvidia-smi CSV logs and generic CSV → NDJSON samples,
 * as fast as the pipe takes them or paced by the file's own timestamps.
 *
 * @module
 */
import {
  Command,
  type CommandUnknownOpts,
  InvalidArgumentError,
  Option,
} from "@commander-js/extra-typings";
import { IncompleteRunError, UsageError } from "../lib/errors.ts";
import { collectLabel } from "../lib/cli/parse.ts";
import { onShutdownSignal } from "../lib/cli/signals.ts";
import { shouldDrawStatus } from "../lib/cli/status_line.ts";
import { CSV_FORMATS, type CsvFormatName } from "../lib/sources/csv_formats.ts";
import { isValidTimeZone, localTimeZone } from "../lib/sources/csv_time.ts";

/** Options of `wattwave replay-csv` as parsed. */
interface ReplayCsvOptions {
  format: "auto" | CsvFormatName;
  timezone?: string;
  timestampColumn?: string;
  labelColumns: string[];
  metricPrefix: string;
  metric?: string;
  label: Record<string, string>;
  comment?: string;
  delimiter: string;
  speed: number;
  shiftToNow?: boolean;
  loop?: boolean;
  strict?: boolean;
  progress: boolean;
  fileLabel: boolean;
}

/** Parses `--speed`: a positive factor, or `max` (no pacing). */
export function parseSpeed(text: string): number {
  if (text.trim().toLowerCase() === "max") return Infinity;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(
      `expected a positive factor like 1, 10, 0.5 or "max" (got "${text}")`,
    );
  }
  return n;
}

/** Collects `--label-columns a,b` (repeatable) into a list of column names. */
export function collectColumns(text: string, previous: string[] = []): string[] {
  const names = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0) throw new InvalidArgumentError(`expected column names (got "${text}")`);
  return [...previous, ...names];
}

function parseSingleChar(what: string) {
  return (text: string): string => {
    if (text.length === 0 || text.length > 4 || /[\r\n"]/.test(text)) {
      throw new InvalidArgumentError(`expected a short ${what} such as "#" (got "${text}")`);
    }
    return text;
  };
}

async function replay(files: string[], o: ReplayCsvOptions): Promise<void> {
  // Loaded when the subcommand runs, so that start-up (and --help) stays light.
  const { NdjsonWriter } = await import("../lib/ndjson/writer.ts");
  const { fileSource, replayCsv } = await import("../lib/sources/replay.ts");
  if (files.length === 0) files = ["-"];
  if (o.timezone !== undefined && !isValidTimeZone(o.timezone)) {
    throw new UsageError(`--timezone: unknown IANA time zone (got "${o.timezone}")`);
  }
  if (o.loop && files.includes("-")) {
    throw new UsageError("--loop needs files: stdin cannot be read twice");
  }
  if (files.filter((f) => f === "-").length > 1) {
    throw new UsageError("stdin (-) can be named only once");
  }
  if (o.metric !== undefined && o.metricPrefix !== "") {
    throw new UsageError("use --metric or --metric-prefix, not both");
  }
  const shutdown = new AbortController();
  const unlisten = onShutdownSignal(() => shutdown.abort());
  const writer = new NdjsonWriter(Deno.stdout.writable);
  const started = performance.now();
  let stats;
  let failed = true;
  try {
    const sources = files.map((f) => fileSource(f, { fileLabel: o.fileLabel }));
    stats = await replayCsv(sources, writer, {
      format: o.format === "auto" ? undefined : o.format,
      formatOptions: {
        timestampColumn: o.timestampColumn,
        labelColumns: o.labelColumns,
        metricPrefix: o.metricPrefix,
        metric: o.metric,
        extraLabels: o.label,
      },
      timeZone: o.timezone,
      speed: o.speed,
      shiftToNow: o.shiftToNow,
      loop: o.loop,
      strict: o.strict,
      comment: o.comment,
      delimiter: o.delimiter,
      progress: o.progress && shouldDrawStatus(),
      signal: shutdown.signal,
      onMessage: (line) => console.error(`wattwave replay-csv: ${line}`),
    });
    failed = false;
  } finally {
    unlisten();
    // What was read before an error (--strict, a bad later file) is still delivered.
    if (failed) await writer.release().catch(() => {});
  }
  await writer.release();
  const seconds = (performance.now() - started) / 1000;
  console.error(
    `wattwave replay-csv: ${stats.rows} rows (${stats.badRows} bad), ${stats.samples} samples, ` +
      `${stats.outOfOrder} out of order, ${stats.duplicates} duplicate timestamps, ` +
      `${seconds.toFixed(2)} s, ${Math.round(stats.rows / Math.max(seconds, 1e-3))} rows/s`,
  );
  if (stats.emptySources > 0) {
    throw new IncompleteRunError(
      `replay incomplete: ${stats.emptySources} input(s) empty, with no header row`,
    );
  }
  if (stats.badRows > 0) {
    throw new IncompleteRunError(`replay incomplete: ${stats.badRows} bad rows skipped`);
  }
}

/** The `replay-csv` subcommand. */
export function replayCsvCommand(): CommandUnknownOpts {
  return new Command("replay-csv")
    .description(
      "Replay DCGM exports, nvidia-smi --query-gpu CSV logs or generic CSV as NDJSON samples",
    )
    .argument("[files...]", "CSV files to read in order (default: stdin; - is stdin)")
    .addOption(
      new Option("--format <format>", "input format; auto detects it from each header")
        .choices(["auto", ...CSV_FORMATS] as const).default("auto" as const),
    )
    .addOption(
      new Option(
        "--timezone <zone>",
        "IANA zone of timestamps written without one (nvidia-smi logs)",
      )
        .default(undefined, "the local zone, named below"),
    )
    .addOption(
      new Option(
        "--timestamp-column <name>",
        "generic CSV: the timestamp column (unix s/ms or ISO-8601, auto-detected)",
      ).default(undefined, "a column named timestamp/time/date..."),
    )
    .addOption(
      new Option(
        "--label-columns <names>",
        "generic CSV: comma-separated columns whose values are labels (repeatable)",
      ).argParser(collectColumns).default([] as string[], "none"),
    )
    .option("--metric-prefix <prefix>", "generic CSV: prefix of every metric name", "")
    .option("--metric <name>", "generic CSV: metric name of a timestamp,value file (NAB style)")
    .option(
      "--no-file-label",
      'generic CSV: no file="<base name>" label (by default series from different files never merge)',
    )
    .addOption(
      new Option("--label <k=v>", "label added to every series (repeatable)")
        .argParser(collectLabel).default({} as Record<string, string>, "none"),
    )
    .addOption(
      new Option("--comment <prefix>", "skip lines starting with this (e.g. '#')")
        .argParser(parseSingleChar("comment prefix")).default(undefined, "no comments"),
    )
    .option("--delimiter <char>", "field delimiter", parseSingleChar("delimiter"), ",")
    .addOption(
      new Option(
        "--speed <factor>",
        "1 replays in real time by the file's timestamps, 10 ten times faster, max as fast as the pipe takes it",
      ).argParser(parseSpeed).default(Infinity, "max"),
    )
    .option(
      "--shift-to-now",
      "move the first timestamp to now, keeping the spacing (one shift for all files)",
    )
    .option("--loop", "start again at the end, shifted to follow the previous pass (files only)")
    .option("--strict", "stop at the first bad row instead of skipping it")
    .option(
      "--no-progress",
      "no progress line (shown only when stderr is a terminal and stdout not a pipe)",
    )
    // A function: the local zone (Intl, ~20 ms) is looked up only when help is shown.
    .addHelpText("after", () => `\nLocal time zone: ${localTimeZone()}`)
    .addHelpText(
      "after",
      "\nFormats: dcgm (timestamp,metric_name,...,value,labels_raw), nvidia-smi (--query-gpu=... " +
        "--format=csv[,nounits]), generic (timestamp column + numeric columns).\n" +
        "Exit: 0 ok; 1 when a row was bad (each is reported with its line) or input failed; 2 usage.\n" +
        "Examples:\n" +
        "  wattwave replay-csv --shift-to-now dcgm_metrics.csv | wattwave push --url http://127.0.0.1:9090/api/v1/write\n" +
        "  wattwave replay-csv --speed 10 --timezone Europe/Berlin nvidia-smi.csv\n" +
        "  wattwave replay-csv --metric machine_temperature --timezone UTC nab.csv",
    )
    .action(async (files, options) => {
      await replay(files, options as unknown as ReplayCsvOptions);
    });
}
