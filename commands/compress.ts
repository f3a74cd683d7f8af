/**
 * `wattwave compress`: NDJSON (stdin or files) → the lossless FLAC series store.
 *
 * @module
 */
import {
  Command,
  type CommandUnknownOpts,
  InvalidArgumentError,
  Option,
} from "@commander-js/extra-typings";
import { seriesText } from "../lib/model/labels.ts";
import { parseByteSize, parseDurationMs, parsePositiveInt } from "../lib/cli/parse.ts";
import { onShutdownSignal } from "../lib/cli/signals.ts";
import { shouldDrawStatus } from "../lib/cli/status_line.ts";

interface CompressOptions {
  store: string;
  report: "text" | "json";
  verify?: boolean;
  strict?: boolean;
  segmentSamples: number;
  memoryBudget: number;
  commitSamples: number;
  commitInterval: number;
  level?: number;
  progress: boolean;
  compact?: boolean;
  repair?: boolean;
}

function parseLevel(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 8) {
    throw new InvalidArgumentError(`expected a FLAC level 0-8 (got "${text}")`);
  }
  return n;
}

async function compress(files: string[], o: CompressOptions): Promise<void> {
  // Loaded when the subcommand runs, so that start-up (and --help) stays light.
  const { openSources } = await import("../lib/ndjson/reader.ts");
  const { formatIngestReport, ingestNdjson } = await import("../lib/store/ingest.ts");
  const { Store } = await import("../lib/store/mod.ts");
  const startedMs = performance.now();
  // Inputs first: a missing or unreadable file must not leave an empty store behind.
  // `--compact` or `--repair` alone reads no input; with files (or -) it stores them too.
  const sources = (o.compact || o.repair) && files.length === 0 ? [] : await openSources(files);
  const store = await Store.open(o.store, {
    maxSegmentSamples: o.segmentSamples,
    memoryBudgetBytes: o.memoryBudget,
    verify: o.verify,
    ...(o.level !== undefined ? { level: o.level } : {}),
  });
  if (o.repair) {
    try {
      const r = await store.repair();
      for (const d of r.dropped) {
        console.error(
          `wattwave compress: dropped ${d.samples} samples of ${
            seriesText(d.labels)
          } in ${d.file}: ${d.reason}`,
        );
      }
      console.error(
        `wattwave compress: repair checked ${r.rangesChecked} ranges: ` +
          (r.dropped.length
            ? `${r.dropped.length} unreadable ranges (${
              r.dropped.reduce((n, d) => n + d.samples, 0)
            } samples) taken out of the index; ${r.movedFiles.length} files moved to ${o.store}/damaged/`
            : "all readable, nothing to do"),
      );
    } catch (err) {
      await store.close();
      throw err;
    }
    if (sources.length === 0) {
      await store.close();
      return;
    }
  }
  const shutdown = new AbortController();
  const unlisten = onShutdownSignal(() => shutdown.abort());
  try {
    await ingestNdjson(store, sources, {
      commitSamples: o.commitSamples,
      commitInterval: o.commitInterval,
      strict: o.strict,
      compact: o.compact,
      progress: o.progress && shouldDrawStatus(),
      signal: shutdown.signal,
      startedMs,
      // JSON goes alone to stdout (`| jq`); the text summary to stderr with the logs.
      onReport: (report) =>
        o.report === "json"
          ? console.log(JSON.stringify(report))
          : console.error(`wattwave compress: ${formatIngestReport(report, o.verify ?? false)}`),
    });
  } finally {
    unlisten();
    await store.close(); // releases the writer lock and removes its `.writer` file
  }
}

/** The `compress` subcommand. */
export function compressCommand(): CommandUnknownOpts {
  return new Command("compress")
    .description("Store NDJSON series losslessly as FLAC files (stdin or files)")
    .argument("[files...]", "NDJSON inputs (none or - for stdin)")
    .requiredOption("--store <dir>", "store directory (created when missing; appends otherwise)")
    .addOption(
      new Option("--report <format>", "summary: text on stderr, or one JSON object alone on stdout")
        .choices(["text", "json"] as const).default("text" as const),
    )
    .option("--verify", "read every segment back after writing it and compare bit for bit")
    .option(
      "--compact",
      "then merge each series' small ranges (from many commits) into bigger ones; with no files, only compact (pass - to also read stdin)",
    )
    .option(
      "--repair",
      "first read every range back and take unreadable ones (damaged frames, missing files) out of the index, naming them; their files go to DIR/damaged/",
    )
    .option(
      "--strict",
      "stop at the first bad NDJSON line (without it: skip it, exit 1 at the end)",
    )
    .option(
      "--segment-samples <n>",
      "most samples per segment file",
      parsePositiveInt,
      65536,
    )
    .addOption(
      new Option(
        "--memory-budget <size>",
        "memory for buffered samples before the largest series are cut",
      ).argParser(parseByteSize).default(64 * 1024 * 1024, "64MiB"),
    )
    .option(
      "--commit-samples <n>",
      "commit (fsync segments, replace the index) after this many samples",
      parsePositiveInt,
      1_000_000,
    )
    .addOption(
      new Option(
        "--commit-interval <duration>",
        "also commit this long after the last commit when samples are pending (for live pipes)",
      ).argParser(parseDurationMs).default(10_000, "10s"),
    )
    .addOption(
      new Option("--level <n>", "FLAC compression level 0-8").argParser(parseLevel)
        .default(undefined, "the codec's"),
    )
    .option(
      "--no-progress",
      "no progress line (shown only when stderr is a terminal and stdout not a pipe)",
    )
    .addHelpText(
      "after",
      "\nEvery file in DIR/segments is standard FLAC (check with `flac -t DIR/segments/*.flac`);\n" +
        "short series are packed together, one range after the other. Read one by hand:\n" +
        "  flac -d --force-raw-format --endian=little --sign=signed -o f.raw DIR/segments/F.flac\n" +
        "  zcat DIR/index.json.gz | jq .   # per series: file, at, count, minTs, stepMs, mode, scale\n" +
        "samples at..at+count-1 of the file: channel 0 = ts[i]-ts[i-1]-stepMs; channel 1 = n with\n" +
        "value = n / 10^scale (mode dec), or channels 1,2 = hi,lo of n (dec2) or of the float64 bits\n" +
        "(f64). See lib/store/README.md.\n" +
        "SIGINT/SIGTERM stops reading, commits what was read and exits 0.\n" +
        "Commits also compact automatically once enough small ranges piled up (bounded work).\n" +
        "Example:\n  wattwave sample --period 1s | wattwave compress --store ./power-store --verify",
    )
    .action(async (files, options) => {
      await compress(files, options as CompressOptions);
    });
}
