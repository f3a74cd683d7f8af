/**
 * Decoded WriteRequests as NDJSON bytes, in request order, and an ordered, bounded output
 * queue that tells the receiver when to hold off new requests.
 *
 * The NDJSON path writes bytes directly (no intermediate strings per sample): a series' line
 * prefix is encoded once, timestamps and short decimal values are written two digits at a time
 * with int32 arithmetic, other values through JS's shortest round-trip `String(v)` — the same
 * text `formatJsonValue` gives.
 *
 * @module
 */
import { formatJsonValue, formatMetadata, sampleLineHeadOfPairs } from "../../ndjson/contract.ts";
import type { DecodedWriteRequest, WireSeries } from "../codec/write_request.ts";
import type { MetricMetadata } from "../../model/sample.ts";
import type { BatchedWriteRequest } from "./write_handler.ts";
import { WireWriter } from "../codec/wire.ts";
import { putAscii, putDecimal, putInteger, putValueKey } from "../../ndjson/number_bytes.ts";
import { InputError } from "../../errors.ts";
import { hexOfWords } from "../../model/value.ts";
import { formatExemplarLine, formatHistogramLine } from "../../ndjson/histogram_line.ts";

/** The largest |timestamp| a JS Date (and so an ISO-8601 string) holds, ms. */
const MAX_DATE_MS = 8.64e15;

/** Output record schemas: wattwave's NDJSON contract, or the Arroyo remote-write connector's. */
export type OutputFormat = "ndjson" | "arroyo";

const utf8 = new TextEncoder();
const bitsView = new DataView(new ArrayBuffer(8));

/** The NDJSON value text of `values[i]`, NaN bits included. */
function valueText(values: Float64Array, i: number): string {
  const v = values[i];
  if (v === v) return formatJsonValue(v);
  const bytes = new Uint8Array(values.buffer, values.byteOffset + i * 8, 8);
  for (let b = 0; b < 8; b++) bitsView.setUint8(b, bytes[b]);
  return formatJsonValue(v, hexOfWords(bitsView.getUint32(4, true), bitsView.getUint32(0, true)));
}

/** The longest a line's tail can be after its head: timestamp, `,"value":`, value, `}\n`. */
const MAX_TAIL_BYTES = 64;

/**
 * Writes one line per sample: `head` (the series' `{"name":…,"labels":{…},"timestamp":`),
 * the timestamp, `,"value":`, the value, `}\n`. Space for the whole series is reserved first.
 */
function formatSeries(
  out: WireWriter,
  head: Uint8Array,
  ts: ArrayLike<number>,
  values: Float64Array,
): void {
  const n = ts.length;
  const headLen = head.length;
  out.ensure(n * (headLen + MAX_TAIL_BYTES));
  const buf = out.buf;
  let pos = out.pos;
  let lastValue = NaN;
  let lastText = "";
  for (let i = 0; i < n; i++) {
    buf.set(head, pos);
    pos += headLen;
    pos = putValueKey(buf, putInteger(buf, pos, ts[i]));
    const v = values[i];
    if (Number.isInteger(v) && v < 1e15 && v > -1e15 && !(v === 0 && 1 / v < 0)) {
      pos = putInteger(buf, pos, v);
    } else {
      const end = putDecimal(buf, pos, v);
      if (end >= 0) pos = end;
      else {
        if (!(v === lastValue && v !== 0)) {
          lastValue = v;
          lastText = valueText(values, i);
        }
        pos = putAscii(buf, pos, lastText);
      }
    }
    buf[pos] = 125; // }
    buf[pos + 1] = 10; // \n
    pos += 2;
  }
  out.pos = pos;
}

/** The NDJSON bytes (lines ending in `\n`) for one decoded request. */
export function formatWriteRequestBytes(
  req: DecodedWriteRequest,
  format: OutputFormat = "ndjson",
): Uint8Array {
  if (format === "arroyo") return utf8.encode(formatArroyo(req.series, req.metadata));
  const heads = seriesHeads(req.series);
  const out = new WireWriter(heads.reserveBytes); // one allocation: formatSeries never grows it
  writeSeriesLines(out, req.series, heads.heads);
  writeMetadataLines(out, req.metadata);
  return out.buf.subarray(0, out.pos);
}

/**
 * {@linkcode formatWriteRequestBytes} of a request decoded batch by batch: one batch of series
 * objects at a time is held, not a million (the output grows as it is written).
 */
export function formatBatchedRequestBytes(
  req: BatchedWriteRequest,
  format: OutputFormat = "ndjson",
): Uint8Array {
  let out: WireWriter | undefined;
  for (const series of req.batches()) {
    if (format === "arroyo") {
      const text = utf8.encode(formatArroyo(series, []));
      (out ??= new WireWriter(text.length + 1024)).bytes(text);
      continue;
    }
    const heads = seriesHeads(series);
    // The first batch (most requests have one) sizes the output; later ones grow it.
    out ??= new WireWriter(heads.reserveBytes);
    out.ensure(heads.reserveBytes);
    writeSeriesLines(out, series, heads.heads);
  }
  out ??= new WireWriter(1024);
  writeMetadataLines(out, req.metadata);
  return out.buf.subarray(0, out.pos);
}

/** The line head of each series, and the most bytes their sample lines take (plus 1 KiB). */
function seriesHeads(series: readonly WireSeries[]): { heads: Uint8Array[]; reserveBytes: number } {
  const heads: Uint8Array[] = [];
  let reserveBytes = 1024;
  for (const s of series) {
    const head = utf8.encode(sampleLineHeadOfPairs(s.labels));
    heads.push(head);
    reserveBytes += s.timestampsMs.length * (head.length + MAX_TAIL_BYTES);
  }
  return { heads, reserveBytes };
}

/** The sample lines (and richer lines) of `series`, into `out`; `heads` from `seriesHeads`. */
function writeSeriesLines(
  out: WireWriter,
  series: readonly WireSeries[],
  heads: readonly Uint8Array[],
): void {
  for (let i = 0; i < series.length; i++) {
    const s = series[i];
    if (s.startTimestampsMs || s.histograms || s.exemplars) {
      out.bytes(utf8.encode(formatRichSeries(s)));
    } else formatSeries(out, heads[i], s.timestampsMs, s.values);
  }
}

/** One metadata line per record, into `out`. */
function writeMetadataLines(out: WireWriter, metadata: readonly MetricMetadata[]): void {
  if (!metadata.length) return;
  let text = "";
  for (const m of metadata) text += formatMetadata(m) + "\n";
  out.bytes(utf8.encode(text));
}

/**
 * The lines of a series that carries more than samples (start timestamps, native histograms,
 * exemplars: what remote write 2.0 or a native-histogram sender brings), as text: samples
 * first, then histograms, then exemplars.
 */
function formatRichSeries(s: WireSeries): string {
  const head = sampleLineHeadOfPairs(s.labels);
  let text = "";
  for (let i = 0; i < s.timestampsMs.length; i++) {
    const start = s.startTimestampsMs?.[i];
    text += `${head}${s.timestampsMs[i]},"value":${valueText(s.values, i)}${
      start ? `,"startTimestamp":${start}` : ""
    }}\n`;
  }
  for (const h of s.histograms ?? []) text += formatHistogramLine(head, h) + "\n";
  for (const e of s.exemplars ?? []) text += formatExemplarLine(head, e) + "\n";
  return text;
}

function formatArroyo(series: readonly WireSeries[], metadata: readonly MetricMetadata[]): string {
  let out = "";
  for (const s of series) {
    let name = "";
    let labels = "{";
    for (const [k, v] of s.labels) {
      if (k === "__name__") name = v;
      else labels += (labels.length > 1 ? "," : "") + JSON.stringify(k) + ":" + JSON.stringify(v);
    }
    labels += "}";
    const prefix = `{"metric_name":${JSON.stringify(name)},"timestamp":`;
    const suffix = `,"labels":${JSON.stringify(labels)}}\n`;
    for (let i = 0; i < s.timestampsMs.length; i++) {
      const ts = s.timestampsMs[i];
      if (!(Math.abs(ts) <= MAX_DATE_MS)) {
        throw new InputError(`timestamp ${ts} is outside the ISO-8601 range of --format arroyo`);
      }
      out += prefix + JSON.stringify(new Date(ts).toISOString()) + ',"value":' +
        valueText(s.values, i) + suffix;
    }
  }
  for (const m of metadata) out += formatMetadata(m) + "\n";
  return out;
}

/** The NDJSON text for one decoded request (the bytes of {@linkcode formatWriteRequestBytes} as a string). */
export function formatWriteRequest(
  req: DecodedWriteRequest,
  format: OutputFormat = "ndjson",
): string {
  return new TextDecoder().decode(formatWriteRequestBytes(req, format));
}

/** Options of {@linkcode OrderedByteOutput}. */
export interface OrderedByteOutputOptions {
  /** Bytes queued but not yet written beyond which `write` answers "busy". Default 64 MiB. */
  maxPendingBytes?: number;
}

/**
 * Writes chunks to a byte sink strictly in the order they were queued. `write` resolves when
 * the chunk has been handed to the sink, or returns "busy" at once when the queue is full.
 */
export class OrderedByteOutput {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #tail: Promise<void> = Promise.resolve();
  #pendingBytes = 0;
  #maxPendingBytes: number;
  #failed: unknown;

  /** Output to `sink` (for example `Deno.stdout.writable`). */
  constructor(sink: WritableStream<Uint8Array>, options: OrderedByteOutputOptions = {}) {
    this.#writer = sink.getWriter();
    this.#maxPendingBytes = options.maxPendingBytes ?? 64 * 1024 * 1024;
  }

  /** Bytes queued and not yet written. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** The error that broke the sink, if any (then every later write fails). */
  get failure(): unknown {
    return this.#failed;
  }

  /** Queues `chunk` (which must not be modified afterwards); "busy" when the queue is full. */
  write(chunk: Uint8Array): Promise<"ok"> | "busy" {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#pendingBytes > 0 && this.#pendingBytes + chunk.length > this.#maxPendingBytes) {
      return "busy";
    }
    this.#pendingBytes += chunk.length;
    const done = this.#tail.then(async () => {
      try {
        if (chunk.length) await this.#writer.write(chunk);
      } catch (err) {
        this.#failed ??= err;
        throw err;
      } finally {
        this.#pendingBytes -= chunk.length;
      }
      return "ok" as const;
    });
    this.#tail = done.then(() => {}, () => {});
    return done;
  }

  /** Waits until everything queued is written. */
  async drain(): Promise<void> {
    await this.#tail;
  }

  /** Drains and closes the sink. */
  async close(): Promise<void> {
    await this.#tail;
    await this.#writer.close().catch(() => {});
  }
}
