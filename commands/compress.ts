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
import { parseByteSize, parsePositiveInt } from "../lib/cli/parse.ts";
import { IncompleteRunError } from "../lib/errors.ts";
import { seriesKey, sortedLabelPairs } from "../lib/model/sample.ts";
import { openSources, readNdjson, type ReadStats } from "../lib/ndjson/reader.ts";
import { type CompactResult, type LabelPairs, Store } from "../lib/store/mod.ts";

interface CompressOptions {
  store: string;
  report: "text" | "json";
  verify?: boolean;
  strict?: boolean;
  segmentSamples: number;
  memoryBudget: number;
  commitSamples: number;
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
  /** Segment files written by this run. */
  segments: number;
  /** Bytes this run added on disk: its segment files plus the growth of the index. */
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
  /** Samples decoded back and compared (`--verify`), else 0. */
  verifiedSamples: number;
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
  const indexBytesBefore = store.stats().indexBytes;
  // `--compact` alone compacts without reading input; with files (or -) it stores them first.
  const sources = o.compact && files.length === 0 ? [] : await openSources(files);
  const compaction: CompactResult = {
    series: 0,
    rangesIn: 0,
    rangesOut: 0,
    samples: 0,
    filesWritten: 0,
    filesDeleted: 0,
  };
  const addCompaction = (c: CompactResult | undefined) => {
    if (!c) return;
    for (const k of Object.keys(compaction) as (keyof CompactResult)[]) compaction[k] += c[k];
  };
  const stats: ReadStats = { lines: 0, badLines: 0, chars: 0 };
  const series = new Map<string, LabelPairs>();
  let samples = 0;
  let metadataRecords = 0;
  let segments = 0;
  let segmentBytes = 0;
  let sinceCommit = 0;
  const progress = o.progress && Deno.stderr.isTerminal();
  let lastProgress = performance.now();
  const enc = new TextEncoder();

  const commit = async () => {
    const r = await store.commit();
    addCompaction(r.compaction);
    segments += r.segments;
    segmentBytes += r.bytes;
    sinceCommit = 0;
    if (r.segments > 0 && !progress) {
      console.error(
        `wattwave compress: committed ${r.samples} samples in ${r.segments} segments (generation ${r.generation}, ${samples} samples read so far)`,
      );
    }
  };

  for await (const batch of readNdjson(sources, stats, { strict: o.strict })) {
    for (const r of batch) {
      if (r.kind !== "sample") {
        store.setMetadata(r);
        metadataRecords++;
        continue;
      }
      const key = seriesKey(r.name, r.labels);
      let pairs = series.get(key);
      if (!pairs) {
        pairs = sortedLabelPairs(r.name, r.labels);
        series.set(key, pairs);
      }
      store.appendSample(pairs, r.timestampMs, r.value, r.nanBits, key);
      samples++;
      sinceCommit++;
    }
    await store.flushDue();
    if (sinceCommit >= o.commitSamples) await commit();
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
  await commit();
  if (o.compact) addCompaction(await store.compact());
  if (progress) await Deno.stderr.write(enc.encode("\r\x1b[K"));
  const total = store.stats();
  const bytesOnDisk = segmentBytes + Math.max(0, total.indexBytes - indexBytesBefore);
  const report: CompressReport = {
    samples,
    series: series.size,
    segments,
    bytesOnDisk,
    bytesPerSample: samples ? bytesOnDisk / samples : 0,
    inputBytes: stats.chars,
    ratio: bytesOnDisk ? stats.chars / bytesOnDisk : 0,
    badLines: stats.badLines,
    metadataRecords,
    compaction,
    verifiedSamples: store.verifiedSamples,
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
        (o.verify ? `, ${report.verifiedSamples} samples verified` : "") +
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
        "Commits also compact automatically once enough small ranges piled up (bounded work).\n" +
        "Example:\n  wattwave sample --period 1s | wattwave compress --store ./power-store --verify",
    )
    .action(async (files, options) => {
      await compress(files, options as CompressOptions);
    });
}
