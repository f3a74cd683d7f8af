/**
 * NDJSON into a store, the way `wattwave compress` does it: records appended as they are read,
 * metadata kept, commits by sample count and by time (for live pipes), a final commit on a
 * signal or a read error, and the end-of-run report.
 *
 * @module
 */
import { IncompleteRunError } from "../errors.ts";
import type { LabelPairs } from "../model/labels.ts";
import { type Labels, type NdjsonRecord, seriesKey, sortedLabelPairs } from "../model/sample.ts";
import { type NdjsonSource, readNdjson, type ReadStats } from "../ndjson/reader.ts";
import type { Store } from "./mod.ts";
import { addCompactResult, type CompactResult, emptyCompactResult } from "./types.ts";

/** Options of {@linkcode ingestNdjson}. */
export interface IngestOptions {
  /** Commit after this many samples. */
  commitSamples: number;
  /** Commit this long (ms) after the last commit while samples are pending. */
  commitInterval: number;
  /** Stop at the first bad line (after committing what came before). Default false. */
  strict?: boolean;
  /** Compact the whole store after the input. Default false. */
  compact?: boolean;
  /** Show a progress line on stderr (a terminal). Default false. */
  progress?: boolean;
  /** Stops reading; what was read is committed. */
  signal?: AbortSignal;
  /** When the run started (`performance.now()`), for the report's seconds. Default now. */
  startedMs?: number;
  /** Log lines (commits, signal). Default: stderr, prefixed `wattwave compress: `. */
  log?: (line: string) => void;
  /** Told the report before a run with bad lines throws. */
  onReport?: (report: IngestReport) => void;
}

/** The end-of-run summary (`--report json` prints exactly this object). */
export interface IngestReport {
  /** Samples this run read (all stored but `duplicateSamples`). */
  samples: number;
  /** Samples not stored again: the store already held them (same series, timestamp, value bits). */
  duplicateSamples: number;
  /** Samples stored although their timestamp was already stored with other value bits. */
  conflictingSamples: number;
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
  /** `bytesOnDisk / (samples + histograms)`. */
  bytesPerSample: number;
  /** Bytes of NDJSON read (UTF-16 characters of the text, equal to bytes for ASCII). */
  inputBytes: number;
  /** `inputBytes / bytesOnDisk`: how many times smaller the store is than the NDJSON. */
  ratio: number;
  /** NDJSON lines skipped as bad. */
  badLines: number;
  /** Metadata records read (stored in the index; the last one per metric name wins). */
  metadataRecords: number;
  /** Native histogram samples read (kept in side files; all stored but duplicates). */
  histograms: number;
  /** Exemplars read (kept in side files). */
  exemplars: number;
  /** Histograms and exemplars not stored again: the store already held them. */
  duplicateSideRecords: number;
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

/**
 * Reads NDJSON `sources` into `store`, committing every `commitSamples` samples, `commitInterval`
 * after the last commit while samples are pending (live pipes), before a read error is thrown,
 * and at the end; then, with `compact`, compacts the store fully. `signal` stops the reading at
 * once (even while a read is pending); what was read is committed. Returns the run's report;
 * throws `IncompleteRunError` after storing the rest when bad lines were skipped.
 */
export async function ingestNdjson(
  store: Store,
  sources: NdjsonSource[],
  options: IngestOptions,
): Promise<IngestReport> {
  const o = options;
  const started = options.startedMs ?? performance.now();
  const log = options.log ?? ((line: string) => console.error(`wattwave compress: ${line}`));
  const before = store.stats();
  const duplicatesBefore = store.duplicateSamples;
  const conflictsBefore = store.conflictingSamples;
  const compaction = emptyCompactResult();
  const addCompaction = (c: CompactResult | undefined) => {
    if (c) addCompactResult(compaction, c);
  };
  const stats: ReadStats = { lines: 0, badLines: 0, bytes: 0 };
  const series = new Map<string, LabelPairs>();
  let samples = 0;
  let metadataRecords = 0;
  let histograms = 0;
  let exemplars = 0;
  const sideDupsBefore = store.duplicateSideRecords;
  let segments = 0;
  let sinceCommit = 0;
  let lastCommit = performance.now();
  const progress = o.progress ?? false;
  let lastProgress = performance.now();
  const enc = new TextEncoder();

  const commit = async () => {
    const r = await store.commit();
    addCompaction(r.compaction);
    segments += r.segments;
    sinceCommit = 0;
    lastCommit = performance.now();
    if (r.segments > 0 && !progress) {
      log(
        `committed ${r.samples} samples in ${r.segments} segments (generation ${r.generation}, ${samples} samples read so far)`,
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
      if (r.kind === "metadata") {
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
      if (r.kind === "histogram") {
        store.appendHistograms(pairs, [r.histogram]);
        histograms++;
      } else if (r.kind === "exemplar") {
        store.appendExemplars(pairs, [r.exemplar]);
        exemplars++;
      } else {
        store.appendSample(pairs, r.timestampMs, r.value, r.nanBits, key);
        if (r.startTimestampMs) {
          store.appendStarts(pairs, [r.timestampMs], [r.startTimestampMs]);
        }
        samples++;
      }
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
  const stop = () => {
    stopped = true;
    wake?.("stop");
  };
  if (o.signal?.aborted) stop();
  o.signal?.addEventListener("abort", stop, { once: true });
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
      log(`final commit failed: ${(commitErr as Error).message}`);
    }
    throw err;
  } finally {
    clearInterval(ticker);
    o.signal?.removeEventListener("abort", stop);
  }
  if (stopped) {
    log("stopping on signal; committing what was read");
    // Release the pending read (stdin stays open until the process exits).
    void input.return?.(undefined).catch(() => {});
  }
  await commit();
  if (o.compact && !stopped) addCompaction(await store.compact());
  if (progress) await Deno.stderr.write(enc.encode("\r\x1b[K"));
  await store.checkpoint(); // the index as one file, as closing would leave it: sizes are final
  const total = store.stats();
  const bytesOnDisk = total.segmentBytes + total.sideBytes + total.indexBytes -
    (before.segmentBytes + before.sideBytes + before.indexBytes);
  const report: IngestReport = {
    samples,
    duplicateSamples: store.duplicateSamples - duplicatesBefore,
    conflictingSamples: store.conflictingSamples - conflictsBefore,
    series: series.size,
    segments: segments + compaction.filesWritten,
    bytesOnDisk,
    bytesPerSample: samples + histograms ? bytesOnDisk / (samples + histograms) : 0,
    inputBytes: stats.bytes,
    ratio: bytesOnDisk > 0 ? stats.bytes / bytesOnDisk : 0,
    badLines: stats.badLines,
    metadataRecords,
    histograms,
    exemplars,
    duplicateSideRecords: store.duplicateSideRecords.duplicateHistograms +
      store.duplicateSideRecords.duplicateExemplars - sideDupsBefore.duplicateHistograms -
      sideDupsBefore.duplicateExemplars,
    compaction,
    verifiedSamples: store.verifiedSamples,
    verifiedCompactedSamples: store.verifiedCompactedSamples,
    store: {
      series: total.series,
      segments: total.segments,
      samples: total.samples,
      bytes: total.segmentBytes + total.sideBytes + total.indexBytes,
    },
    seconds: (performance.now() - started) / 1000,
  };
  options.onReport?.(report);
  if (stats.badLines > 0) {
    throw new IncompleteRunError(`${stats.badLines} bad lines skipped (the rest is stored)`);
  }
  return report;
}

/** The one-line text summary of a run (`--report text`); `verified` when it ran with `--verify`. */
export function formatIngestReport(report: IngestReport, verified: boolean): string {
  const compaction = report.compaction;
  return (`${report.samples} samples, ` +
    (report.histograms || report.exemplars
      ? `${report.histograms} histograms, ${report.exemplars} exemplars, `
      : "") +
    `${report.series} series, ${report.segments} segments, ` +
    `${report.bytesOnDisk} bytes on disk (${report.bytesPerSample.toFixed(3)} bytes/sample), ` +
    `${report.ratio.toFixed(1)}x smaller than the ${report.inputBytes} bytes of NDJSON` +
    (verified
      ? `, ${report.verifiedSamples} samples verified` +
        (report.verifiedCompactedSamples
          ? ` (and ${report.verifiedCompactedSamples} rewritten by compaction)`
          : "")
      : "") +
    (compaction.rangesIn
      ? `, compacted ${compaction.rangesIn} ranges of ${compaction.series} series into ${compaction.rangesOut} (${compaction.filesDeleted} files deleted)`
      : "") +
    (report.duplicateSamples
      ? `, ${report.duplicateSamples} samples already stored (skipped)`
      : "") +
    (report.duplicateSideRecords
      ? `, ${report.duplicateSideRecords} histograms/exemplars already stored (skipped)`
      : "") +
    (report.conflictingSamples
      ? `, ${report.conflictingSamples} samples at a stored timestamp with another value (kept)`
      : "") +
    ` in ${report.seconds.toFixed(2)} s`);
}
