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
import { parseByteSize, parseDurationMs, parsePositiveInt } from "../lib/cli/parse.ts";
import { onShutdownSignal } from "../lib/cli/signals.ts";
import { IncompleteRunError } from "../lib/errors.ts";
import { seriesKey, sortedLabelPairs } from "../lib/model/sample.ts";
import type { Labels, NdjsonRecord } from "../lib/model/sample.ts";
import { openSources, readNdjson, type ReadStats } from "../lib/ndjson/reader.ts";
import {
  addCompactResult,
  type CompactResult,
  emptyCompactResult,
  type LabelPairs,
  Store,
} from "../lib/store/mod.ts";

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
}

/** The end-of-run summary (`--report json` prints exactly this object). */
export interface CompressReport {
  /** Samples stored by this run. */
  samples: number;
  /** Series those samples belong to. */
  series: number;
  /** Segment files written by this run: by its commits and by its compactions. */
  segments: number;
  /**
   * Growth of the store on disk during this run (segment files plus index, after minus before;
   * compaction's new and deleted files included, so it is negative when `--compact` freed more
   * than this run added). Commits of other writers meanwhile are counted too.
   */
  bytesOnDisk: number;
  /** `bytesOnDisk / samples`. */
  bytesPerSample: number;
  /** Bytes of NDJSON read (UTF-16 characters of the text, equal to bytes for ASCII). */
  inputBytes: number;
  /** `inputBytes / bytesOnDisk`: how many times smaller the store is than the NDJSON. */
  ratio: number;
  /** NDJSON lines skipped as bad. */
  badLines: number;
  /** Metadata records read (stored in the index; the last one per metric name wins). */
  metadataRecords: number;
  /** What `--compact` (or an automatic compaction at a commit) merged. */
  compaction: CompactResult;
  /** Samples of this run's input decoded back and compared (`--verify`), else 0. */
  verifiedSamples: number;
  /** Samples compaction rewrote, decoded back and compared (`--verify`), else 0. */
  verifiedCompactedSamples: number;
  /** Totals of the whole store after this run. */
  store: { series: number; segments: number; samples: number; bytes: number };
  /** Wall-clock seconds. */
  seconds: number;
}

function parseLevel(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 8) {
    throw new InvalidArgumentError(`expected a FLAC level 0-8 (got "${text}")`);
  }
  return n;
}

async function compress(files: string[], o: CompressOptions): Promise<void> {
  const started = performance.now();
  const store = await Store.open(o.store, {
    maxSegmentSamples: o.segmentSamples,
    memoryBudgetBytes: o.memoryBudget,
    verify: o.verify,
    ...(o.level !== undefined ? { level: o.level } : {}),
  });
  try {
    await compressInto(store, started, files, o);
  } finally {
    await store.close(); // releases the writer lock and removes its `.writer` file
  }
}

async function compressInto(
  store: Store,
  started: number,
  files: string[],
  o: CompressOptions,
): Promise<void> {
  const before = store.stats();
  // `--compact` alone compacts without reading input; with files (or -) it stores them first.
  const sources = o.compact && files.length === 0 ? [] : await openSources(files);
  const compaction = emptyCompactResult();
  const addCompaction = (c: CompactResult | undefined) => {
    if (c) addCompactResult(compaction, c);
  };
  const stats: ReadStats = { lines: 0, badLines: 0, bytes: 0 };
  const series = new Map<string, LabelPairs>();
  let samples = 0;
  let metadataRecords = 0;
  let segments = 0;
  let sinceCommit = 0;
  let lastCommit = performance.now();
  const progress = o.progress && Deno.stderr.isTerminal();
  let lastProgress = performance.now();
  const enc = new TextEncoder();

  const commit = async () => {
    const r = await store.commit();
    addCompaction(r.compaction);
    segments += r.segments;
    sinceCommit = 0;
    lastCommit = performance.now();
    if (r.segments > 0 && !progress) {
      console.error(
        `wattwave compress: committed ${r.samples} samples in ${r.segments} segments (generation ${r.generation}, ${samples} samples read so far)`,
      );
    }
  };

  // Runs of lines of one series share the parser's frozen labels object: skip the key then.
  let lastLabels: Labels | undefined;
  let lastName = "";
  let lastKey = "";
  let lastPairs: LabelPairs = [];
  const appendBatch = (batch: NdjsonRecord[]) => {
    for (const r of batch) {
      if (r.kind !== "sample") {
        store.setMetadata(r);
        metadataRecords++;
        continue;
      }
      let key = lastKey;
      let pairs = lastPairs;
      if (r.labels !== lastLabels || r.name !== lastName) {
        key = seriesKey(r.name, r.labels);
        pairs = series.get(key)!;
        if (!pairs) {
          pairs = sortedLabelPairs(r.name, r.labels);
          series.set(key, pairs);
        }
        if (Object.isFrozen(r.labels)) {
          lastLabels = r.labels;
          lastName = r.name;
          lastKey = key;
          lastPairs = pairs;
        }
      }
      store.appendSample(pairs, r.timestampMs, r.value, r.nanBits, key);
      samples++;
      sinceCommit++;
    }
  };

  const input = readNdjson(sources, stats, { strict: o.strict })[Symbol.asyncIterator]();
  // A signal ends the read loop even while a read is pending (stdin may never send EOF), and
  // a timer wakes it to commit a live pipe every --commit-interval. Each wait gets its own
  // promise (as in push.ts): one long-lived promise raced against every read would keep every
  // batch reachable from its reactions.
  let stopped = false;
  let wake: ((v: "stop" | "tick") => void) | undefined;
  const unlisten = onShutdownSignal(() => {
    stopped = true;
    wake?.("stop");
  });
  const ticker = setInterval(() => {
    if (sinceCommit > 0) wake?.("tick");
  }, Math.max(10, Math.min(o.commitInterval, 1000)));
  let pending: Promise<IteratorResult<NdjsonRecord[]>> | undefined;
  try {
    while (!stopped) {
      pending ??= input.next();
      const read = pending;
      const next = await new Promise<"stop" | "tick" | IteratorResult<NdjsonRecord[]>>(
        (resolve, reject) => {
          wake = resolve;
          read.then(resolve, reject);
        },
      );
      wake = undefined;
      if (next === "stop") break;
      if (next !== "tick") {
        pending = undefined;
        if (next.done) break;
        appendBatch(next.value);
        await store.flushDue();
      }
      if (
        sinceCommit >= o.commitSamples ||
        (sinceCommit > 0 && performance.now() - lastCommit >= o.commitInterval)
      ) await commit();
      if (progress && performance.now() - lastProgress > 1000) {
        lastProgress = performance.now();
        const s = (lastProgress - started) / 1000;
        await Deno.stderr.write(enc.encode(
          `\r\x1b[Kwattwave compress: ${samples} samples, ${series.size} series, ${
            Math.round(samples / s)
          } samples/s`,
        ));
      }
    }
  } catch (err) {
    // --strict (or a read error): what came before the bad line is still committed.
    try {
      await commit();
    } catch (commitErr) {
      console.error(`wattwave compress: final commit failed: ${(commitErr as Error).message}`);
    }
    throw err;
  } finally {
    clearInterval(ticker);
    unlisten();
  }
  if (stopped) {
    console.error("wattwave compress: stopping on signal; committing what was read");
    // Release the pending read (stdin stays open until the process exits).
    void input.return?.(undefined).catch(() => {});
  }
  await commit();
  if (o.compact && !stopped) addCompaction(await store.compact());
  if (progress) await Deno.stderr.write(enc.encode("\r\x1b[K"));
  const total = store.stats();
  const bytesOnDisk = total.segmentBytes + total.indexBytes -
    (before.segmentBytes + before.indexBytes);
  const report: CompressReport = {
    samples,
    series: series.size,
    segments: segments + compaction.filesWritten,
    bytesOnDisk,
    bytesPerSample: samples ? bytesOnDisk / samples : 0,
    inputBytes: stats.bytes,
    ratio: bytesOnDisk > 0 ? stats.bytes / bytesOnDisk : 0,
    badLines: stats.badLines,
    metadataRecords,
    compaction,
    verifiedSamples: store.verifiedSamples,
    verifiedCompactedSamples: store.verifiedCompactedSamples,
    store: {
      series: total.series,
      segments: total.segments,
      samples: total.samples,
      bytes: total.segmentBytes + total.indexBytes,
    },
    seconds: (performance.now() - started) / 1000,
  };
  if (o.report === "json") console.error(JSON.stringify(report));
  else {
    console.error(
      `wattwave compress: ${report.samples} samples, ${report.series} series, ${report.segments} segments, ` +
        `${report.bytesOnDisk} bytes on disk (${report.bytesPerSample.toFixed(3)} bytes/sample), ` +
        `${report.ratio.toFixed(1)}x smaller than the ${report.inputBytes} bytes of NDJSON` +
        (o.verify
          ? `, ${report.verifiedSamples} samples verified` +
            (report.verifiedCompactedSamples
              ? ` (and ${report.verifiedCompactedSamples} rewritten by compaction)`
              : "")
          : "") +
        (compaction.rangesIn
          ? `, compacted ${compaction.rangesIn} ranges of ${compaction.series} series into ${compaction.rangesOut} (${compaction.filesDeleted} files deleted)`
          : "") +
        ` in ${report.seconds.toFixed(2)} s`,
    );
  }
  if (stats.badLines > 0) {
    throw new IncompleteRunError(`${stats.badLines} bad lines skipped (the rest is stored)`);
  }
}

/** The `compress` subcommand. */
export function compressCommand(): CommandUnknownOpts {
  return new Command("compress")
    .description("Store NDJSON series losslessly as FLAC files (stdin or files)")
    .argument("[files...]", "NDJSON inputs (none or - for stdin)")
    .requiredOption("--store <dir>", "store directory (created when missing; appends otherwise)")
    .addOption(
      new Option("--report <format>", "summary on stderr as text or one JSON object")
        .choices(["text", "json"] as const).default("text" as const),
    )
    .option("--verify", "read every segment back after writing it and compare bit for bit")
    .option(
      "--compact",
      "then merge each series' small ranges (from many commits) into bigger ones; with no files, only compact (pass - to also read stdin)",
    )
    .option("--strict", "stop at the first bad NDJSON line (default: skip it, exit 1 at the end)")
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
    .option("--level <n>", "FLAC compression level 0-8 (default: the codec's)", parseLevel)
    .option("--no-progress", "no progress line on stderr (shown only on a terminal)")
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
