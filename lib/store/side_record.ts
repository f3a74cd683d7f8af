/**
 * What a store keeps beside the float samples of a series: native histograms, exemplars and
 * start timestamps, as one JSON line per series in a side file (see `side_file.ts`):
 *
 * ```jsonc
 * {"labels":[["__name__","rpc_seconds"],["job","api"]],
 *  "chunks":["AAUA/z9QYk3S8an8…","3:…"], // Prometheus' HISTOGRAM chunks, base64 ("3:": FLOAT_HISTOGRAM)
 *  "hints":"0222",                      // reset hint of each chunked histogram (0 unknown, 1 yes, 2 no, 3 gauge)
 *  "json":[{"timestamp":T,"histogram":{…}}],  // stale markers with more than a sum
 *  "hstarts":[[fromMs,toMs,startMs]],   // start timestamps of the histograms in [from, to]
 *  "exemplars":[{"labels":{…},"value":V,"timestamp":T}],
 *  "starts":[[fromMs,toMs,startMs]]}    // start timestamps of the float samples in [from, to]
 * ```
 *
 * Histograms are chunked like Prometheus' TSDB does (a few bytes per histogram when the bucket
 * layout holds; a chunk starts at every layout change); what the chunk format does not carry is
 * kept next to it (`hints`, the `json` list), so every field comes back bit for bit. Keys with nothing to say are left out.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { InputError } from "../errors.ts";
import type { Exemplar, NativeHistogram } from "../model/histogram.ts";
import type { LabelPairs } from "../model/labels.ts";
import { isStaleNaN } from "../model/value.ts";
import {
  exemplarFromObject,
  exemplarObjectSchema,
  formatExemplarObject,
  formatHistogramObject,
  histogramFromObject,
  histogramObjectSchema,
} from "../ndjson/histogram_line.ts";
import {
  CHUNK_ENCODING_FLOAT_HISTOGRAM,
  CHUNK_ENCODING_HISTOGRAM,
  decodeHistogramChunk,
  HistogramChunkEncoder,
} from "../remote/codec/histogram_chunk.ts";

/** Samples in `[fromMs, toMs]` (inclusive) have start timestamp `startMs`. */
export type StartRun = [fromMs: number, toMs: number, startMs: number];

/** The side data of one series. */
export interface SideData {
  /** Native histograms in timestamp order (ties in the order they came). */
  histograms: NativeHistogram[];
  /** Exemplars in the order they came. */
  exemplars: Exemplar[];
  /** Start timestamps of the series' float samples (samples outside every run have none). */
  starts: StartRun[];
}

/** Side data with nothing in it. */
export function emptySideData(): SideData {
  return { histograms: [], exemplars: [], starts: [] };
}

/** Runs of equal, non-zero start timestamps over samples in the order given. */
export function startRuns(
  timestampsMs: ArrayLike<number>,
  startsMs: ArrayLike<number>,
): StartRun[] {
  const runs: StartRun[] = [];
  let cur: StartRun | undefined;
  for (let i = 0; i < timestampsMs.length; i++) {
    const st = startsMs[i] ?? 0;
    const t = timestampsMs[i];
    if (!st) {
      cur = undefined;
      continue;
    }
    if (cur && cur[2] === st) {
      if (t < cur[0]) cur[0] = t;
      if (t > cur[1]) cur[1] = t;
    } else {
      cur = [t, t, st];
      runs.push(cur);
    }
  }
  return runs;
}

/** The start timestamp `runs` give to a sample at `timestampMs` (the last run covering it), or 0. */
export function startAt(runs: readonly StartRun[], timestampMs: number): number {
  for (let i = runs.length - 1; i >= 0; i--) {
    if (runs[i][0] <= timestampMs && timestampMs <= runs[i][1]) return runs[i][2];
  }
  return 0;
}

/** A stale marker that is only its sum (what the chunk format keeps of a stale histogram). */
function plainStale(h: NativeHistogram): boolean {
  return isStaleNaN(h.sum) && Object.is(h.count.value, 0) && Object.is(h.zeroCount.value, 0) &&
    h.schema === 0 && Object.is(h.zeroThreshold.value, 0) && h.negativeSpans.length === 0 &&
    h.positiveSpans.length === 0 && h.customValues.length === 0;
}

/** A chunk as a side record holds it: base64, after `3:` for a float histogram chunk. */
function chunkText(enc: HistogramChunkEncoder): string {
  const b64 = Buffer.from(enc.bytes()).toString("base64");
  return enc.encoding === CHUNK_ENCODING_FLOAT_HISTOGRAM ? `3:${b64}` : b64;
}

/** One series' side data as its side-file line (without newline). */
export function encodeSideRecord(labels: LabelPairs, data: SideData): string {
  let out = `{"labels":${JSON.stringify(labels)}`;
  const hs = [...data.histograms].sort((a, b) => a.timestampMs - b.timestampMs);
  const chunks: string[] = [];
  let hints = "";
  const json: string[] = [];
  const enc = new HistogramChunkEncoder();
  for (const h of hs) {
    if (isStaleNaN(h.sum) && !plainStale(h)) {
      json.push(`{"timestamp":${h.timestampMs},"histogram":${formatHistogramObject(h)}}`);
      continue;
    }
    if (!enc.canAppend(h)) {
      chunks.push(chunkText(enc));
      enc.reset();
    }
    enc.append(h);
    hints += String(h.resetHint);
  }
  if (enc.count) chunks.push(chunkText(enc));
  if (chunks.length) out += `,"chunks":${JSON.stringify(chunks)},"hints":"${hints}"`;
  if (json.length) out += `,"json":[${json.join(",")}]`;
  const hstarts = startRuns(hs.map((h) => h.timestampMs), hs.map((h) => h.startTimestampMs));
  if (hstarts.length) out += `,"hstarts":${JSON.stringify(hstarts)}`;
  if (data.exemplars.length) {
    out += `,"exemplars":[${data.exemplars.map(formatExemplarObject).join(",")}]`;
  }
  if (data.starts.length) out += `,"starts":${JSON.stringify(data.starts)}`;
  return out + "}";
}

interface RawRecord {
  labels: [string, string][];
  chunks?: string[];
  hints?: string;
  json?: { timestamp: number; histogram: unknown }[];
  hstarts?: StartRun[];
  exemplars?: unknown[];
  starts?: StartRun[];
}

/** Parses a side-file line; throws {@linkcode InputError} naming `where` when it is not one. */
export function decodeSideRecord(
  line: string,
  where: string,
): { labels: LabelPairs; data: SideData } {
  try {
    const raw = JSON.parse(line) as RawRecord;
    if (!Array.isArray(raw.labels)) throw new Error("no labels");
    const chunked: NativeHistogram[] = [];
    for (const c of raw.chunks ?? []) {
      const float = c.startsWith("3:");
      chunked.push(...decodeHistogramChunk(
        Buffer.from(float ? c.slice(2) : c, "base64"),
        float ? CHUNK_ENCODING_FLOAT_HISTOGRAM : CHUNK_ENCODING_HISTOGRAM,
      ));
    }
    const hints = raw.hints ?? "";
    if (hints.length !== chunked.length) {
      throw new Error(`${chunked.length} chunked histograms but ${hints.length} reset hints`);
    }
    chunked.forEach((h, i) => h.resetHint = hints.charCodeAt(i) - 48);
    const loose = (raw.json ?? []).map((o) =>
      histogramFromObject(histogramObjectSchema.parse(o.histogram), o.timestamp)
    );
    // merge two timestamp-ordered lists
    const histograms: NativeHistogram[] = [];
    let a = 0;
    let b = 0;
    while (a < chunked.length || b < loose.length) {
      if (
        b >= loose.length || (a < chunked.length && chunked[a].timestampMs <= loose[b].timestampMs)
      ) {
        histograms.push(chunked[a++]);
      } else histograms.push(loose[b++]);
    }
    const hstarts = raw.hstarts ?? [];
    if (hstarts.length) {
      for (const h of histograms) h.startTimestampMs = startAt(hstarts, h.timestampMs);
    }
    const exemplars = (raw.exemplars ?? []).map((o) =>
      exemplarFromObject(exemplarObjectSchema.parse(o))
    );
    return { labels: raw.labels, data: { histograms, exemplars, starts: raw.starts ?? [] } };
  } catch (err) {
    throw new InputError(`damaged side record: ${(err as Error).message}`, { where });
  }
}

/** A histogram's identity for de-duplication: its timestamp and every field. */
export function histogramKey(h: NativeHistogram): string {
  return `${h.timestampMs}:${h.startTimestampMs}:${formatHistogramObject(h)}`;
}

/** An exemplar's identity for de-duplication. */
export function exemplarKey(e: Exemplar): string {
  return formatExemplarObject(e);
}
