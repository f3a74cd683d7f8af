/**
 * A fast path for the canonical NDJSON sample line, the exact shape wattwave writes, read
 * straight from its UTF-8 bytes:
 * `{"name":"…","labels":{"k":"v",…},"timestamp":N,"value":V}` (`labels` optional), with
 * strings free of escapes. It accepts only lines the zod schema in `contract.ts` accepts and
 * gives the same record; any other line (other key order, escapes, extra keys, errors) returns
 * undefined and goes through JSON.parse + zod, which also produce the error messages.
 * `fast_parse_test.ts` checks the two paths against each other.
 *
 * @module
 */
import { LABEL_NAME_RE, type Labels, METRIC_NAME_RE, type Sample } from "../model/sample.ts";
import { parseJsonValue } from "./value_text.ts";

const JSON_NUMBER_RE = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const SPECIAL = new Set(["NaN", "+Inf", "-Inf", "StaleNaN"]);
const HEX_BITS_RE = /^0x[0-9a-fA-F]{16}$/;

/** 10^0 … 10^22: every one an exact double. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const TWO_53 = 9007199254740992;

// Not fatal: bad UTF-8 becomes U+FFFD, as in the text path; a U+FEFF in a value is kept.
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/**
 * A JSON number in `bytes[from, end)` of the form `-?digits(.digits)?` whose digits, read as an
 * integer, are below 2^53 and with at most 22 fraction digits, as the double nearest to it;
 * undefined for anything else. The mantissa and 10^k are then exact doubles, so one IEEE division
 * gives the correctly rounded result (Clinger's fast path), the same double `Number(text)` gives.
 */
function decimalAt(bytes: Uint8Array, from: number, end: number): number | undefined {
  let i = from;
  let neg = false;
  if (bytes[i] === 45) { // '-'
    neg = true;
    i++;
  }
  const intStart = i;
  let m = 0;
  let c = i < end ? bytes[i] : -1;
  while (c >= 48 && c <= 57) {
    m = m * 10 + (c - 48);
    c = ++i < end ? bytes[i] : -1;
  }
  const intDigits = i - intStart;
  if (intDigits === 0 || (intDigits > 1 && bytes[intStart] === 48)) return undefined;
  let fracDigits = 0;
  if (c === 46) { // '.'
    c = ++i < end ? bytes[i] : -1;
    while (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      fracDigits++;
      c = ++i < end ? bytes[i] : -1;
    }
    if (fracDigits === 0) return undefined;
  }
  // m grows with every digit, so m < 2^53 at the end means every step was exact.
  if (i !== end || !(m < TWO_53) || fracDigits > 22) return undefined;
  const v = fracDigits ? m / POW10[fracDigits] : m;
  return neg ? -v : v;
}

/** Index of the closing quote of a string starting at `from`, or -1 if it has escapes or controls. */
function stringEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) return i; // "
    if (c === 92 || c < 0x20) return -1; // backslash or control: leave it to JSON.parse
  }
  return -1;
}

function parseLabels(text: string): Labels | null {
  // text is the inside of {...}: "k":"v","k2":"v2"
  const labels: Labels = {};
  if (text.length === 0) return labels;
  let i = 0;
  while (true) {
    if (text.charCodeAt(i) !== 34) return null;
    const kEnd = stringEnd(text, i + 1);
    if (kEnd < 0) return null;
    const k = text.slice(i + 1, kEnd);
    if (text.charCodeAt(kEnd + 1) !== 58 || text.charCodeAt(kEnd + 2) !== 34) return null; // :"
    const vEnd = stringEnd(text, kEnd + 3);
    if (vEnd < 0) return null;
    if (k === "__name__" || !LABEL_NAME_RE.test(k) || k in labels) return null;
    labels[k] = text.slice(kEnd + 3, vEnd);
    i = vEnd + 1;
    if (i === text.length) return labels;
    if (text.charCodeAt(i) !== 44) return null; // ,
    i++;
  }
}

/**
 * The series part of a line, `name"` or `name","labels":{…}` as bytes, once parsed: lines of
 * one series repeat these bytes, so they are validated and decoded once.
 */
interface SeriesEntry {
  /** The bytes of the series part. */
  key: Uint8Array;
  /** A view on `key`. */
  keyView: DataView;
  /** Metric name, or undefined when the series part is not canonical (the line takes JSON.parse). */
  name: string | undefined;
  /** Labels (frozen, shared by every line of the series). */
  labels: Labels;
  /** Another entry with the same hash. */
  next: SeriesEntry | undefined;
}

/** Series parts seen, by FNV-1a hash of their bytes; cleared beyond {@linkcode MAX_CACHED_SERIES}. */
const seriesCache = new Map<number, SeriesEntry>();
const MAX_CACHED_SERIES = 100_000;
const EMPTY_LABELS: Labels = Object.freeze({});
let lastEntry: SeriesEntry | undefined;
let lastBytes: Uint8Array | undefined;
let lastView: DataView | undefined;

/** A DataView on `bytes` (the one made for the previous call when it is the same array). */
function viewOf(bytes: Uint8Array): DataView {
  if (bytes !== lastBytes) {
    lastBytes = bytes;
    lastView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return lastView!;
}

/** Whether `entry.key` equals `view[from, to)` (4 bytes at a time, then the rest). */
function keyEquals(entry: SeriesEntry, view: DataView, from: number, to: number): boolean {
  const len = to - from;
  if (entry.key.length !== len) return false;
  const key = entry.keyView;
  let i = 0;
  for (; i + 4 <= len; i += 4) if (key.getInt32(i) !== view.getInt32(from + i)) return false;
  for (; i < len; i++) if (key.getUint8(i) !== view.getUint8(from + i)) return false;
  return true;
}

/**
 * The entry for the series part `bytes[from, to)`, whose name ends (with its quote) at
 * `nameEnd`; `labelsFrom` is where the labels' inside starts (-1 when the line has none).
 */
function seriesEntry(
  bytes: Uint8Array,
  from: number,
  to: number,
  nameEnd: number,
  labelsFrom: number,
): SeriesEntry {
  const view = viewOf(bytes);
  if (lastEntry !== undefined && keyEquals(lastEntry, view, from, to)) return lastEntry;
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  const first = seriesCache.get(h);
  for (let e = first; e !== undefined; e = e.next) {
    if (keyEquals(e, view, from, to)) return lastEntry = e;
  }
  // First sight: decode and validate as the text path would.
  let name: string | undefined = utf8Decoder.decode(bytes.subarray(from, nameEnd));
  let labels: Labels | null = EMPTY_LABELS;
  if (stringEnd(name + '"', 0) !== name.length || !METRIC_NAME_RE.test(name)) name = undefined;
  else if (labelsFrom >= 0) {
    labels = parseLabels(utf8Decoder.decode(bytes.subarray(labelsFrom, to - 1)));
    if (labels === null) name = undefined;
    else Object.freeze(labels); // shared between lines: read-only
  }
  if (seriesCache.size >= MAX_CACHED_SERIES) seriesCache.clear();
  const key = bytes.slice(from, to);
  const entry: SeriesEntry = {
    key,
    keyView: new DataView(key.buffer),
    name,
    labels: labels ?? EMPTY_LABELS,
    next: seriesCache.has(h) ? first : undefined,
  };
  seriesCache.set(h, entry);
  return lastEntry = entry;
}

/** Whether `bytes[at, …)` starts with the ASCII text `prefix`. */
function startsWithAscii(bytes: Uint8Array, at: number, end: number, prefix: string): boolean {
  if (end - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/**
 * Parses the canonical sample line in `bytes[start, end)` (UTF-8, without its newline), or
 * returns undefined when the line is anything else. The returned `labels` object is frozen and
 * shared between lines with the same series.
 */
export function parseCanonicalSampleBytes(
  bytes: Uint8Array,
  start: number,
  end: number,
): Sample | undefined {
  if (!startsWithAscii(bytes, start, end, '{"name":"')) return undefined;
  const from = start + 9;
  let quote = from; // the name's closing quote (escapes are checked once per series)
  while (quote < end && bytes[quote] !== 34) quote++;
  if (quote === end) return undefined;
  let i = quote + 1;
  let labelsFrom = -1;
  if (startsWithAscii(bytes, i, end, ',"labels":{')) {
    labelsFrom = i + 11;
    let close = labelsFrom; // the first "}"
    while (close < end && bytes[close] !== 125) close++;
    if (close === end) return undefined;
    i = close + 1;
  }
  const series = seriesEntry(bytes, from, i, quote, labelsFrom);
  const name = series.name;
  if (name === undefined) return undefined;
  if (!startsWithAscii(bytes, i, end, ',"timestamp":')) return undefined;
  i += 13;
  // timestamp: an integer, no leading zeros, safe
  let neg = false;
  if (bytes[i] === 45) {
    neg = true;
    i++;
  }
  const tsStart = i;
  let timestampMs = 0;
  for (let c = i < end ? bytes[i] : -1; c >= 48 && c <= 57; c = ++i < end ? bytes[i] : -1) {
    timestampMs = timestampMs * 10 + (c - 48);
  }
  const tsDigits = i - tsStart;
  if (tsDigits === 0 || tsDigits > 16 || (tsDigits > 1 && bytes[tsStart] === 48)) {
    return undefined;
  }
  if (!Number.isSafeInteger(timestampMs)) return undefined;
  if (neg) timestampMs = -timestampMs;
  if (!startsWithAscii(bytes, i, end, ',"value":')) return undefined;
  i += 9;
  // the value runs to the final "}" (trailing spaces are left to the slow path)
  const last = end - 1;
  if (last < i || bytes[last] !== 125) return undefined;
  let value = decimalAt(bytes, i, last);
  let nanBits: string | undefined;
  if (value === undefined) {
    if (last - i > 64) return undefined; // no special is this long; long numbers go to JSON.parse
    // Non-ASCII bytes become Latin-1 letters here, which neither form below accepts.
    const valueText = String.fromCharCode.apply(
      null,
      bytes.subarray(i, last) as unknown as number[], // (apply takes array-likes; a spread is far slower)
    );
    if (valueText.charCodeAt(0) === 34) {
      if (valueText.length < 2 || valueText.charCodeAt(valueText.length - 1) !== 34) {
        return undefined;
      }
      const s = valueText.slice(1, -1);
      if (!SPECIAL.has(s) && !HEX_BITS_RE.test(s)) return undefined;
      const ev = parseJsonValue(s);
      value = ev.value;
      nanBits = ev.nanBits;
    } else {
      if (!JSON_NUMBER_RE.test(valueText)) return undefined;
      value = Number(valueText);
      if (!Number.isFinite(value)) return undefined; // 1e400: out of float64 range, zod says so
    }
  }
  const sample: Sample = { kind: "sample", name, labels: series.labels, timestampMs, value };
  if (nanBits !== undefined) sample.nanBits = nanBits;
  return sample;
}

/**
 * Parses a canonical sample line given as text (see {@linkcode parseCanonicalSampleBytes}), or
 * returns undefined when the line is anything else.
 */
export function parseCanonicalSample(line: string): Sample | undefined {
  if (!line.isWellFormed()) return undefined; // lone surrogates: UTF-8 cannot carry them
  const bytes = utf8Encoder.encode(line);
  return parseCanonicalSampleBytes(bytes, 0, bytes.length);
}
