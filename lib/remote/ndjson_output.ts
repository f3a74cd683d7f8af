/**
 * Decoded WriteRequests as NDJSON bytes, in request order, and an ordered, bounded output
 * queue that tells the receiver when to hold off new requests.
 *
 * The NDJSON path writes bytes directly (no intermediate strings per sample): a series' line
 * prefix is encoded once, timestamps and integer values are written digit by digit, other
 * values through JS's shortest round-trip `String(v)` — the same text `formatJsonValue` gives.
 *
 * @module
 */
import { formatJsonValue, formatMetadata } from "../ndjson/contract.ts";
import type { DecodedWriteRequest } from "./write_request.ts";
import { WireWriter } from "./wire.ts";
import { HttpRefusal } from "./write_handler.ts";

/** The largest |timestamp| a JS Date (and so an ISO-8601 string) holds, ms. */
const MAX_DATE_MS = 8.64e15;

/** Output record schemas: wattwave's NDJSON contract, or the Arroyo remote-write connector's. */
export type OutputFormat = "ndjson" | "arroyo";

const utf8 = new TextEncoder();
const bitsView = new DataView(new ArrayBuffer(8));

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

/** The NDJSON value text of `values[i]`, NaN bits included. */
function valueText(values: Float64Array, i: number): string {
  const v = values[i];
  if (v === v) return formatJsonValue(v);
  const bytes = new Uint8Array(values.buffer, values.byteOffset + i * 8, 8);
  for (let b = 0; b < 8; b++) bitsView.setUint8(b, bytes[b]);
  return formatJsonValue(v, hex8(bitsView.getUint32(4, true)) + hex8(bitsView.getUint32(0, true)));
}

/** A growable byte buffer (a {@linkcode WireWriter}) with the few writes NDJSON needs. */
class ByteOut extends WireWriter {
  /** ASCII-only text (callers guarantee it). */
  ascii(s: string): void {
    this.ensure(s.length);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }
  /** A safe integer in decimal (|n| < 2^53). */
  int(n: number): void {
    this.ensure(17);
    const buf = this.buf;
    if (n < 0) {
      buf[this.pos++] = 45; // '-'
      n = -n;
    }
    if (n >= 1e8) {
      const hi = Math.floor(n / 1e8);
      this.int(hi);
      let lo = n - hi * 1e8;
      for (let p = this.pos + 7; p >= this.pos; p--) {
        buf[p] = 48 + (lo % 10);
        lo = (lo / 10) | 0;
      }
      this.pos += 8;
      return;
    }
    let digits = 1;
    for (let t = n; t >= 10; t = (t / 10) | 0) digits++;
    for (let p = this.pos + digits - 1; p >= this.pos; p--) {
      buf[p] = 48 + (n % 10);
      n = (n / 10) | 0;
    }
    this.pos += digits;
  }
  /**
   * Writes `v` when it is exactly a decimal with at most 6 fraction digits and 15 significant
   * digits (then that decimal is also JS's shortest round-trip form); returns false otherwise.
   */
  decimal(v: number): boolean {
    const a = v < 0 ? -v : v;
    if (!(a >= 1e-6 && a < 1e15)) return false;
    let p = 10;
    for (let k = 1; k <= 6; k++, p *= 10) {
      const m = Math.round(a * p);
      if (m >= 1e15) return false;
      if (m / p !== a) continue;
      if (v < 0) {
        this.ensure(1);
        this.buf[this.pos++] = 45; // '-'
      }
      const whole = Math.floor(m / p);
      this.int(whole);
      this.ensure(k + 1);
      const buf = this.buf;
      buf[this.pos] = 46; // '.'
      let frac = m - whole * p;
      for (let q = this.pos + k; q > this.pos; q--) {
        buf[q] = 48 + (frac % 10);
        frac = Math.floor(frac / 10);
      }
      this.pos += k + 1;
      return true;
    }
    return false;
  }
}

/**
 * Writes one line per sample: `head` (the series' `{"name":…,"labels":{…},"timestamp":`),
 * the timestamp, `,"value":`, the value, `}\n`. Locals, not properties, in the loop.
 */
function formatSeries(
  out: ByteOut,
  head: Uint8Array,
  ts: ArrayLike<number>,
  values: Float64Array,
): void {
  let lastValue = NaN;
  let lastText = "";
  const headLen = head.length;
  for (let i = 0; i < ts.length; i++) {
    out.ensure(headLen + 64);
    const buf = out.buf;
    let pos = out.pos;
    buf.set(head, pos);
    pos += headLen;
    const t = ts[i];
    if (t >= 1e12 && t < 1e13) { // 13-digit ms timestamps (2001–2286): 5 + 8 digits, integer ops only
      const hi = Math.floor(t / 1e8);
      let lo = t - hi * 1e8;
      let h = hi;
      for (let p = pos + 4; p >= pos; p--) {
        buf[p] = 48 + (h % 10);
        h = (h / 10) | 0;
      }
      for (let p = pos + 12; p >= pos + 5; p--) {
        buf[p] = 48 + (lo % 10);
        lo = (lo / 10) | 0;
      }
      pos += 13;
      out.pos = pos;
    } else {
      out.pos = pos;
      out.int(t);
      pos = out.pos;
    }
    // ,"value":
    buf[pos] = 44;
    buf[pos + 1] = 34;
    buf[pos + 2] = 118;
    buf[pos + 3] = 97;
    buf[pos + 4] = 108;
    buf[pos + 5] = 117;
    buf[pos + 6] = 101;
    buf[pos + 7] = 34;
    buf[pos + 8] = 58;
    out.pos = pos + 9;
    const v = values[i];
    if (v === lastValue && v !== 0) out.ascii(lastText);
    else if (Number.isInteger(v) && Math.abs(v) < 1e15 && !(v === 0 && 1 / v < 0)) out.int(v);
    else if (!out.decimal(v)) {
      lastValue = v;
      lastText = valueText(values, i);
      out.ascii(lastText);
    }
    out.ensure(2);
    out.buf[out.pos++] = 125; // }
    out.buf[out.pos++] = 10; // \n
  }
}

/** The NDJSON bytes (lines ending in `\n`) for one decoded request. */
export function formatWriteRequestBytes(
  req: DecodedWriteRequest,
  format: OutputFormat = "ndjson",
): Uint8Array {
  if (format === "arroyo") return utf8.encode(formatArroyo(req));
  let estimate = 0;
  for (const s of req.series) estimate += s.timestampsMs.length * 120;
  const out = new ByteOut(Math.max(estimate + 1024, 256));
  for (const s of req.series) {
    let name = "";
    let labels = "{";
    for (const [k, v] of s.labels) {
      if (k === "__name__") {
        name = v;
        continue;
      }
      labels += (labels.length > 1 ? "," : "") + JSON.stringify(k) + ":" + JSON.stringify(v);
    }
    const head = utf8.encode(`{"name":${JSON.stringify(name)},"labels":${labels}},"timestamp":`);
    formatSeries(out, head, s.timestampsMs, s.values);
  }
  if (req.metadata.length) {
    let text = "";
    for (const m of req.metadata) text += formatMetadata(m) + "\n";
    out.bytes(utf8.encode(text));
  }
  return out.buf.subarray(0, out.pos);
}

function formatArroyo(req: DecodedWriteRequest): string {
  let out = "";
  for (const s of req.series) {
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
        throw new HttpRefusal(
          400,
          `timestamp ${ts} is outside the ISO-8601 range of --format arroyo`,
        );
      }
      out += prefix + JSON.stringify(new Date(ts).toISOString()) + ',"value":' +
        valueText(s.values, i) + suffix;
    }
  }
  for (const m of req.metadata) out += formatMetadata(m) + "\n";
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
