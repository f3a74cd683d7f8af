/**
 * The replay engine behind `wattwave replay-csv`: CSV rows → samples → NDJSON lines, paced by
 * the file's own timestamps (`speed`), optionally shifted so the first sample is "now", looped,
 * with bad rows and out-of-order samples reported.
 *
 * Memory is constant in the input length: rows are streamed in batches of one input chunk; the
 * only state that grows is one entry per series (its NDJSON prefix and last timestamp).
 *
 * @module
 */
import { formatRecord, sampleLineHead } from "../ndjson/contract.ts";
import type { NdjsonWriter } from "../ndjson/writer.ts";
import { seriesKey } from "../model/sample.ts";
import { InputError } from "../errors.ts";
import { sleep as sleepOrAbort } from "../sleep.ts";
import { readCsvRows } from "./csv_rows.ts";
import {
  BadRow,
  type CsvFormat,
  type CsvFormatName,
  type CsvFormatOptions,
  newMappedRow,
} from "./csv_formats.ts";
import { createCsvFormat } from "./csv_detect.ts";
import { TimestampParser } from "./csv_time.ts";

const utf8 = new TextEncoder();

/** A CSV input that can be opened (again, for `loop`). */
export interface ReplaySource {
  /** Name used in messages (`stdin` or the path). */
  name: string;
  /** The `file` label of generic-CSV series read from it (the base name; none for stdin). */
  fileLabel?: string;
  /** Opens the bytes; `sizeBytes` when known (for the progress percentage). */
  open(): Promise<{ stream: ReadableStream<Uint8Array>; sizeBytes?: number }>;
}

/**
 * Opens a file path as a {@linkcode ReplaySource} (`-` is stdin, which can be read once). With
 * `fileLabel`, generic-CSV series from it get a `file` label, its base name.
 */
export function fileSource(path: string, options: { fileLabel?: boolean } = {}): ReplaySource {
  if (path === "-") {
    return { name: "stdin", open: () => Promise.resolve({ stream: Deno.stdin.readable }) };
  }
  return {
    name: path,
    fileLabel: options.fileLabel ? path.replace(/\/+$/, "").split("/").pop() : undefined,
    async open() {
      try {
        const file = await Deno.open(path, { read: true });
        const info = await file.stat();
        if (info.isDirectory) {
          file.close();
          throw new Error("it is a directory");
        }
        return { stream: file.readable, sizeBytes: info.isFile ? info.size : undefined };
      } catch (err) {
        if (err instanceof Deno.errors.NotCapable) throw err;
        throw new InputError(`cannot open input file: ${(err as Error).message}`, { where: path });
      }
    },
  };
}

/** Options of {@linkcode replayCsv}. */
export interface ReplayOptions {
  /** Force a format instead of detecting it from each header. Default: detect. */
  format?: CsvFormatName;
  /** Options for the formats (timestamp column, labels, metric prefix...), without the parser. */
  formatOptions?: Omit<CsvFormatOptions, "timestamps">;
  /** IANA zone for timestamps without one. Default: the local zone. */
  timeZone?: string;
  /** Replay speed: 1 = real time by the file's timestamps, 10 = ten times faster. Default Infinity (no pacing). */
  speed?: number;
  /** Move the first timestamp to now, keeping the spacing. Default false. */
  shiftToNow?: boolean;
  /** Start again at the end, shifted to follow the previous pass. Default false. */
  loop?: boolean;
  /** Stop at the first bad row (throw {@linkcode InputError}). Default false. */
  strict?: boolean;
  /** Comment prefix (`#`): lines starting with it are skipped. Default: none. */
  comment?: string;
  /** Field delimiter. Default `,`. */
  delimiter?: string;
  /** Show a progress line (rows/s, % of bytes), rewritten in place. Default false. */
  progress?: boolean;
  /** Where messages go (one line each). Default: stderr with a `wattwave: ` prefix. */
  onMessage?: (line: string) => void;
  /** Where the progress line goes (without newline). Default: stderr, rewritten with `\r`. */
  onProgress?: (line: string | undefined) => void;
  /** Bad rows and out-of-order samples shown one by one before only counting. Default 100. */
  maxReported?: number;
  /** The clock (ms since the epoch). Default `Date.now`. */
  now?: () => number;
  /** Waiting (ms). Default `setTimeout`, cut short by `signal`. */
  sleep?: (ms: number) => Promise<void>;
  /** Stops the replay (after flushing what was read) when aborted, e.g. on SIGINT. */
  signal?: AbortSignal;
}

/** Counters of a replay. */
export interface ReplayStats {
  /** Data rows read (header and comments excluded), bad ones included. */
  rows: number;
  /** Bad rows skipped. */
  badRows: number;
  /** Samples written. */
  samples: number;
  /** Samples whose timestamp is before an earlier sample of the same series (written anyway). */
  outOfOrder: number;
  /** Samples with the same timestamp as an earlier sample of the same series (written anyway). */
  duplicates: number;
  /** Passes over the inputs completed (more than 1 with `loop`). */
  passes: number;
  /** Input bytes read. */
  bytes: number;
  /** Inputs that were empty (no header row): nothing could be replayed from them. */
  emptySources: number;
}

interface SeriesState {
  /** The NDJSON line up to and including `"timestamp":`, UTF-8. */
  prefix: Uint8Array;
  /** Largest timestamp written so far. */
  lastTs: number;
  /** Metric name (for metadata and messages). */
  name: string;
  /** Whether the metric's metadata was looked at already. */
  metadataChecked: boolean;
}

const encoder = new TextEncoder();

function defaultProgress(line: string | undefined): void {
  Deno.stderr.writeSync(encoder.encode(line === undefined ? "\r\x1b[K" : `\r\x1b[K${line}`));
}

/**
 * Replays CSV sources to `writer` as NDJSON. Returns the counters; the caller decides what a
 * nonzero `badRows` means (replay-csv exits 1). Throws {@linkcode InputError} for a missing or
 * unreadable header and, with `strict`, for the first bad row.
 */
export async function replayCsv(
  sources: ReplaySource[],
  writer: NdjsonWriter,
  options: ReplayOptions = {},
): Promise<ReplayStats> {
  const now = options.now ?? Date.now;
  const signal = options.signal;
  const sleep = options.sleep ?? ((ms: number) => sleepOrAbort(ms, signal));
  const speed = options.speed ?? Infinity;
  const paced = Number.isFinite(speed);
  const maxReported = options.maxReported ?? 100;
  const timestamps = new TimestampParser({ timeZone: options.timeZone });
  const formatOptions: CsvFormatOptions = { ...options.formatOptions, timestamps };
  const progressOut = options.progress ? (options.onProgress ?? defaultProgress) : undefined;
  let progressShown = false;
  const say = (line: string) => {
    if (progressShown) {
      progressOut?.(undefined);
      progressShown = false;
    }
    if (options.onMessage) options.onMessage(line);
    else console.error(`wattwave: ${line}`);
  };

  const stats: ReplayStats = {
    rows: 0,
    badRows: 0,
    samples: 0,
    outOfOrder: 0,
    duplicates: 0,
    passes: 0,
    bytes: 0,
    emptySources: 0,
  };
  const series = new Map<string, SeriesState>(); // canonical series key → state
  const metadataDone = new Set<string>();
  const row = newMappedRow();
  const states: SeriesState[] = []; // per sample of the current row

  let firstTs: number | undefined; // first timestamp read (input time)
  let shiftMs = 0; // --shift-to-now
  let loopOffsetMs = 0; // added on each pass after the first
  let passMinTs = Infinity;
  let passMaxTs = -Infinity;
  let minStepMs = Infinity; // smallest positive gap between consecutive row times (1st pass)
  let prevRowTs = NaN;
  let paceWall0 = 0;
  let paceTs0 = NaN;
  let reported = 0;
  const startedMs = now();
  let lastProgressMs = startedMs;

  /** Shows a problem (the message is only built while under the limit), or just counts it. */
  const report = (message: () => string) => {
    if (reported < maxReported) say(message());
    else if (reported === maxReported) {
      say(`more than ${maxReported} problems: further ones are counted, not shown`);
    }
    reported++;
  };

  passes: for (let pass = 0;; pass++) {
    const rowsBefore = stats.rows;
    for (let s = 0; s < sources.length; s++) {
      const source = sources[s];
      const { stream, sizeBytes } = await source.open();
      let format: CsvFormat | undefined;
      const local = new Map<string, SeriesState>(); // this file's series keys → state
      const lastKeys: string[] = []; // per sample slot: the previous row's key and state
      const lastStates: SeriesState[] = [];
      let fileBytes = 0;
      const bytesBefore = stats.bytes;
      const rows = readCsvRows(stream, {
        comment: options.comment,
        delimiter: options.delimiter,
        onBytes: (n) => {
          fileBytes = n;
          stats.bytes = bytesBefore + n;
        },
      });
      for await (const batch of rows) {
        if (signal?.aborted) break passes;
        for (let r = 0; r < batch.length; r++) {
          const fields = batch.fields[r];
          const line = batch.lines[r];
          if (format === undefined) {
            if (fields === undefined) {
              throw new InputError(`cannot read the header row: ${batch.errors[r]}`, {
                where: `${source.name}:${line}`,
              });
            }
            format = createCsvFormat(
              fields,
              source.fileLabel === undefined ? formatOptions : {
                ...formatOptions,
                fileLabel: source.fileLabel,
              },
              options.format,
              (note) => say(`${source.name}: ${note}`),
            );
            if (pass === 0) {
              say(`${source.name}: ${format.format} format`);
              for (const note of format.notes) say(`${source.name}: ${note}`);
            }
            continue;
          }
          stats.rows++;
          try {
            if (fields === undefined) throw new BadRow(batch.errors[r] ?? "unreadable row");
            format.mapRow(fields, row);
          } catch (err) {
            if (!(err instanceof BadRow)) throw err;
            const where = `${source.name}:${line}`;
            if (options.strict) throw new InputError(`bad row: ${err.message}`, { where });
            stats.badRows++;
            report(() => `bad row ${where}: ${err.message}`);
            continue;
          }
          if (row.count === 0) continue;

          // Time: the row's own (or now), shifted.
          let ts = row.timestampMs;
          const stampedNow = ts !== ts;
          if (stampedNow) ts = now();
          else {
            if (firstTs === undefined) {
              firstTs = ts;
              if (options.shiftToNow) shiftMs = now() - ts;
            }
            if (pass === 0) {
              if (ts < passMinTs) passMinTs = ts;
              if (ts > passMaxTs) passMaxTs = ts;
              const gap = ts - prevRowTs;
              if (gap > 0 && gap < minStepMs) minStepMs = gap;
              prevRowTs = ts;
            }
            ts += shiftMs + loopOffsetMs;
            if (paced) {
              if (paceTs0 !== paceTs0) {
                paceTs0 = ts;
                paceWall0 = now();
              }
              const waitMs = paceWall0 + (ts - paceTs0) / speed - now();
              if (waitMs >= 1) {
                await writer.flush();
                await sleep(waitMs);
                if (signal?.aborted) break passes;
              }
            }
          }

          // Resolve the series of every sample (first time only), check order, write.
          let bad: BadRow | undefined;
          for (let i = 0; i < row.count; i++) {
            const key = row.keys[i];
            if (key === lastKeys[i]) { // rows of one series often follow each other
              states[i] = lastStates[i];
              continue;
            }
            let state = local.get(key);
            if (state === undefined) {
              try {
                state = resolveSeries(format, fields!, row, i, series);
              } catch (err) {
                if (!(err instanceof BadRow)) throw err;
                bad = err;
                break;
              }
              local.set(key, state);
            }
            states[i] = lastStates[i] = state;
            lastKeys[i] = key;
          }
          if (bad !== undefined) {
            const where = `${source.name}:${line}`;
            if (options.strict) throw new InputError(`bad row: ${bad.message}`, { where });
            stats.badRows++;
            const why = bad.message;
            report(() => `bad row ${where}: ${why}`);
            continue;
          }
          for (let i = 0; i < row.count; i++) {
            const state = states[i];
            if (!state.metadataChecked) {
              state.metadataChecked = true;
              if (!metadataDone.has(state.name)) {
                metadataDone.add(state.name);
                const meta = format.metadata(state.name);
                if (meta !== undefined) {
                  const p = writer.writeLine(formatRecord(meta));
                  if (p !== undefined) await p;
                }
              }
            }
            if (ts <= state.lastTs) {
              if (ts < state.lastTs) {
                stats.outOfOrder++;
                report(() =>
                  `out of order ${source.name}:${line}: ${state.name} at ${
                    isoTime(ts)
                  } is before ` +
                  `${
                    isoTime(state.lastTs)
                  }, already written for this series (written anyway, not reordered)`
                );
              } else {
                stats.duplicates++;
                report(() =>
                  `duplicate ${source.name}:${line}: ${state.name} has a second sample at ${
                    isoTime(ts)
                  } in this series (written anyway)`
                );
              }
            } else state.lastTs = ts;
            const value = row.values[i];
            const p = writer.writeSample(state.prefix, ts, value);
            stats.samples++;
            if (p !== undefined) await p;
          }
        }
        if (progressOut !== undefined) {
          const t = now();
          if (t - lastProgressMs >= 1000) {
            lastProgressMs = t;
            const rate = Math.round(stats.rows / Math.max(0.001, (t - startedMs) / 1000));
            const pct = sizeBytes ? ` ${(100 * fileBytes / sizeBytes).toFixed(1)}% of bytes,` : "";
            progressOut(
              `replay-csv: ${source.name} (${
                s + 1
              }/${sources.length}):${pct} ${stats.rows} rows, ${rate} rows/s`,
            );
            progressShown = true;
          }
        }
      }
      if (format === undefined && pass === 0) {
        stats.emptySources++;
        say(`${source.name}: empty (no header row)`);
      }
    }
    stats.passes++;
    if (!options.loop || stats.rows === rowsBefore || passMinTs > passMaxTs) break;
    // The next pass follows this one: shifted by the span of the data plus one step.
    const stepMs = Number.isFinite(minStepMs) ? minStepMs : 1000;
    loopOffsetMs += passMaxTs - passMinTs + stepMs;
  }
  await writer.flush();
  if (progressShown) progressOut?.(undefined);
  return stats;
}

function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

function resolveSeries(
  format: CsvFormat,
  fields: string[],
  row: ReturnType<typeof newMappedRow>,
  i: number,
  series: Map<string, SeriesState>,
): SeriesState {
  const id = format.series(fields, row, i);
  const key = seriesKey(id.name, id.labels);
  let state = series.get(key);
  if (state === undefined) {
    state = {
      prefix: utf8.encode(sampleLineHead(id.name, id.labels)),
      lastTs: -Infinity,
      name: id.name,
      metadataChecked: false,
    };
    series.set(key, state);
  }
  return state;
}
