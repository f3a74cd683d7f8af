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

/** "00".."99" as ASCII pairs: digit pair `n` is at `[2n, 2n+1]`. */
const DIGIT_PAIRS = new Uint8Array(200);
for (let n = 0; n < 100; n++) {
  DIGIT_PAIRS[2 * n] = 48 + Math.floor(n / 10);
  DIGIT_PAIRS[2 * n + 1] = 48 + (n % 10);
}

/** Decimal digits of `n`, an int32 from 0 to 999,999,999. */
function digitCount32(n: number): number {
  if (n < 10000) return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : 4;
  if (n < 100000000) return n < 100000 ? 5 : n < 1000000 ? 6 : n < 10000000 ? 7 : 8;
  return 9;
}

/**
 * Writes the last `count` decimal digits of `n` (an int32 ≥ 0, zero-padded) so that they end
 * just before `end`. Integer arithmetic only, two digits per step.
 */
function putDigits(buf: Uint8Array, end: number, n: number, count: number): void {
  let p = end;
  n |= 0;
  while (count >= 2) {
    const q = (n / 100) | 0;
    const r = (n - q * 100) << 1;
    buf[--p] = DIGIT_PAIRS[r + 1];
    buf[--p] = DIGIT_PAIRS[r];
    n = q;
    count -= 2;
  }
  if (count) buf[--p] = 48 + (n - ((n / 10) | 0) * 10);
}

/** Writes `n`, an integer from 0 to 10^16 - 1, at `pos`; returns the position after it. */
function putUint(buf: Uint8Array, pos: number, n: number): number {
  if (n < 100000000) {
    const c = digitCount32(n | 0);
    putDigits(buf, pos + c, n, c);
    return pos + c;
  }
  const hi = Math.floor(n / 100000000); // < 10^8
  const c = digitCount32(hi | 0);
  putDigits(buf, pos + c, hi, c);
  putDigits(buf, pos + c + 8, n - hi * 100000000, 8);
  return pos + c + 8;
}

/** Powers of ten used as decimal scales by {@linkcode putDecimal}. */
const SCALES = [1, 10, 100, 1000, 10000, 100000, 1000000];

/**
 * Writes `v` when it is exactly a decimal with at most 6 fraction digits and 15 significant
 * digits (then that decimal is also JS's shortest round-trip form, `String(v)`) and returns the
 * position after it; returns -1 (writing nothing) otherwise.
 */
function putDecimal(buf: Uint8Array, pos: number, v: number): number {
  const a = v < 0 ? -v : v;
  if (!(a >= 1e-6 && a < 1e15)) return -1;
  for (let k = 1; k <= 6; k++) {
    const p = SCALES[k];
    const m = Math.round(a * p);
    if (m >= 1e15) return -1;
    if (m / p !== a) continue;
    if (v < 0) buf[pos++] = 45; // '-'
    const whole = Math.floor(a);
    pos = putUint(buf, pos, whole);
    buf[pos] = 46; // '.'
    putDigits(buf, pos + 1 + k, m - whole * p, k);
    return pos + 1 + k;
  }
  return -1;
}

/** Writes the ASCII string `s` at `pos`; returns the position after it. */
function putAscii(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
  return pos;
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
    const t = ts[i];
    if (t >= 0 && t < 1e16) pos = putUint(buf, pos, t);
    else pos = putAscii(buf, pos, String(t)); // a safe integer: String gives its digits
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
    pos += 9;
    const v = values[i];
    if (Number.isInteger(v) && v < 1e15 && v > -1e15 && !(v === 0 && 1 / v < 0)) {
      if (v < 0) {
        buf[pos++] = 45; // '-'
        pos = putUint(buf, pos, -v);
      } else pos = putUint(buf, pos, v);
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
  if (format === "arroyo") return utf8.encode(formatArroyo(req));
  const heads: Uint8Array[] = [];
  let reserve = 1024;
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
    heads.push(head);
    reserve += s.timestampsMs.length * (head.length + MAX_TAIL_BYTES);
  }
  const out = new WireWriter(reserve); // one allocation: formatSeries never grows it
  for (let i = 0; i < heads.length; i++) {
    const s = req.series[i];
    formatSeries(out, heads[i], s.timestampsMs, s.values);
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
