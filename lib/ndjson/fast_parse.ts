/**
 * A fast path for the canonical NDJSON sample line, the exact shape wattwave writes:
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

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * A JSON number in `line[from, end)` of the form `-?digits(.digits)?` with at most 15
 * significant digits, as the double nearest to it; undefined for anything else. The mantissa
 * and 10^k are exact doubles, so one IEEE division gives the correctly rounded result
 * (Clinger's fast path), the same double `Number(text)` gives.
 */
function decimalAt(line: string, from: number, end: number): number | undefined {
  let i = from;
  let neg = false;
  if (line.charCodeAt(i) === 45) {
    neg = true;
    i++;
  }
  const intStart = i;
  let m = 0;
  let c = line.charCodeAt(i);
  while (c >= 48 && c <= 57) {
    m = m * 10 + (c - 48);
    c = line.charCodeAt(++i);
  }
  const intDigits = i - intStart;
  if (intDigits === 0 || (intDigits > 1 && line.charCodeAt(intStart) === 48)) return undefined;
  let fracDigits = 0;
  if (c === 46) { // '.'
    c = line.charCodeAt(++i);
    while (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      fracDigits++;
      c = line.charCodeAt(++i);
    }
    if (fracDigits === 0) return undefined;
  }
  if (i !== end || intDigits + fracDigits > 15) return undefined;
  const v = fracDigits ? m / POW10[fracDigits] : m;
  return neg ? -v : v;
}

/** Label texts already parsed and validated (label sets repeat from line to line). */
const labelCache = new Map<string, Labels | null>();
const nameCache = new Map<string, boolean>();
const EMPTY_LABELS: Labels = Object.freeze({});

/** Index of the closing quote of a string starting after `from`, or -1 if it has escapes or controls. */
function stringEnd(line: string, from: number): number {
  for (let i = from; i < line.length; i++) {
    const c = line.charCodeAt(i);
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

function cachedLabels(text: string): Labels | null {
  let labels = labelCache.get(text);
  if (labels === undefined) {
    labels = parseLabels(text);
    if (labels) Object.freeze(labels); // shared between lines: read-only
    if (labelCache.size > 100_000) labelCache.clear();
    labelCache.set(text, labels);
  }
  return labels;
}

/**
 * Parses a canonical sample line, or returns undefined when the line is anything else.
 * The returned `labels` object is frozen and shared between lines with the same label text.
 */
export function parseCanonicalSample(line: string): Sample | undefined {
  if (!line.startsWith('{"name":"')) return undefined;
  const nameEnd = stringEnd(line, 9);
  if (nameEnd < 0) return undefined;
  const name = line.slice(9, nameEnd);
  let ok = nameCache.get(name);
  if (ok === undefined) {
    ok = METRIC_NAME_RE.test(name);
    if (nameCache.size > 100_000) nameCache.clear();
    nameCache.set(name, ok);
  }
  if (!ok) return undefined;
  let i = nameEnd + 1;
  let labels: Labels | null = EMPTY_LABELS;
  if (line.startsWith(',"labels":{', i)) {
    const close = line.indexOf("}", i + 11);
    if (close < 0) return undefined;
    labels = cachedLabels(line.slice(i + 11, close));
    if (labels === null) return undefined;
    i = close + 1;
  }
  if (!line.startsWith(',"timestamp":', i)) return undefined;
  i += 13;
  // timestamp: an integer, no leading zeros, safe
  let neg = false;
  if (line.charCodeAt(i) === 45) {
    neg = true;
    i++;
  }
  const tsStart = i;
  let timestampMs = 0;
  for (let c = line.charCodeAt(i); c >= 48 && c <= 57; c = line.charCodeAt(++i)) {
    timestampMs = timestampMs * 10 + (c - 48);
  }
  const tsDigits = i - tsStart;
  if (tsDigits === 0 || tsDigits > 16 || (tsDigits > 1 && line.charCodeAt(tsStart) === 48)) {
    return undefined;
  }
  if (!Number.isSafeInteger(timestampMs)) return undefined;
  if (neg) timestampMs = -timestampMs;
  if (!line.startsWith(',"value":', i)) return undefined;
  i += 9;
  // the value runs to the final "}" (trailing spaces are left to the slow path)
  const end = line.length - 1;
  if (line.charCodeAt(end) !== 125) return undefined;
  let value = decimalAt(line, i, end);
  let nanBits: string | undefined;
  if (value === undefined) {
    const valueText = line.slice(i, end);
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
  const sample: Sample = { kind: "sample", name, labels, timestampMs, value };
  if (nanBits !== undefined) sample.nanBits = nanBits;
  return sample;
}
